package dev.berth.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@link FloodClient} running in a JVM of its own (on this JVM's class path): its report lines,
 * pausing and resuming it with SIGSTOP and SIGCONT, and stopping it. Used by the flood fault test
 * and the flood benchmark.
 *
 * <p>Thread-safe for one owner; the report lines are read on a thread of its own.
 */
public final class Flooder implements AutoCloseable {
  private final Process process;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  private Flooder(Process process) {
    this.process = process;
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  lines.add(line);
                }
              } catch (IOException e) {
                // the process ended
              }
            },
            "flooder-output");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts a flooder against {@code target} ({@code HOST:PORT}) as the principal of {@code token}:
   * it tries {@code sessionAttempts} sessions, then floods Acquire with {@code inFlight} calls in
   * flight until {@link #stop}. Its standard error goes to {@code stderr}, e.g. {@code
   * ProcessBuilder.Redirect.INHERIT}.
   */
  public static Flooder start(
      String target,
      String token,
      int sessionAttempts,
      int inFlight,
      ProcessBuilder.Redirect stderr)
      throws IOException {
    return new Flooder(
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                FloodClient.class.getName(),
                target,
                token,
                Integer.toString(sessionAttempts),
                Integer.toString(inFlight))
            .redirectError(stderr)
            .start());
  }

  /**
   * The next report line starting with {@code prefix}, skipping the others (progress lines).
   *
   * @throws IllegalStateException when none comes within {@code timeout}
   */
  public String next(String prefix, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      String line = lines.poll(100, TimeUnit.MILLISECONDS);
      if (line != null && line.startsWith(prefix)) {
        return line;
      }
    }
    throw new IllegalStateException("the flooder did not print " + prefix + " within " + timeout);
  }

  /**
   * Waits until the flooder's progress reports that the broker's refusals named every one of {@code
   * caps}, or {@code timeout} passes; on a loaded machine the flood may need longer than planned to
   * run into a rate cap.
   *
   * @return whether it did
   */
  public boolean awaitCaps(java.util.Collection<String> caps, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      String line = lines.poll(100, TimeUnit.MILLISECONDS);
      if (line != null && line.startsWith("PROGRESS") && caps.stream().allMatch(line::contains)) {
        return true;
      }
    }
    return false;
  }

  /** Stops the flooder where it is (SIGSTOP): its calls in flight are answered, no new ones go. */
  public void pause() throws Exception {
    Signals.send(process.toHandle(), "STOP");
  }

  /** Lets a paused flooder go on (SIGCONT). */
  public void resume() throws Exception {
    Signals.send(process.toHandle(), "CONT");
  }

  /**
   * Ends the flood (the flooder stops when its standard input closes) and waits for it to exit.
   *
   * @return its closing report: {@code ACQUIRES calls=N exhausted=N ok=N other=... caps=[...]}
   */
  public String stop() throws Exception {
    resume();
    process.getOutputStream().close();
    String report = next("ACQUIRES", Duration.ofSeconds(40));
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the flooder did not exit within 20 s of its report");
    }
    return report;
  }

  /** Kills the flooder if it still runs. */
  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
  }
}
