package dev.berth.client.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code berth worker} JVMs for the end-to-end tests (the daemon is {@link
 * dev.berth.testkit.DaemonProcess}).
 */
final class Processes {
  private Processes() {}

  static String tail(Path log, int lines) {
    return dev.berth.testkit.DaemonProcess.tail(log, lines);
  }

  /** A {@code berth worker} JVM on this test's classpath, logging to a file. */
  static final class Worker implements AutoCloseable {
    final String id;
    final Process process;
    final Path log;
    final Path out;

    private Worker(String id, Process process, Path log, Path out) {
      this.id = id;
      this.process = process;
      this.log = log;
      this.out = out;
    }

    static Worker start(Path dir, String id, String broker, List<String> urls, String... options)
        throws IOException {
      Path work = Files.createDirectories(dir.resolve(id));
      Path urlFile = Files.write(work.resolve("urls.txt"), urls);
      Path out = work.resolve("out");
      Path tmp = Files.createDirectories(work.resolve("tmp"));
      Path log = work.resolve("worker.log");
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-Xmx256m");
      command.add("-Djava.io.tmpdir=" + tmp);
      command.add("-Dplaywright.driver.tmpdir=" + tmp);
      command.add("-cp");
      command.add(System.getProperty("java.class.path"));
      command.add(WorkerMain.class.getName());
      command.addAll(
          List.of(
              "--broker",
              broker,
              "--urls",
              urlFile.toString(),
              "--out",
              out.toString(),
              "--worker-id",
              id));
      command.addAll(List.of(options));
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
      // Chromium's profiles and the driver go under the test's directory, also when killed.
      Map<String, String> env = builder.environment();
      env.put("TMPDIR", tmp.toString());
      env.put("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
      long started = System.nanoTime();
      Process process = builder.start();
      Thread copier = new Thread(() -> copyTimed(process, log, started), id + "-log");
      copier.setDaemon(true);
      copier.start();
      return new Worker(id, process, log, out);
    }

    /** Copies the worker's output to its log, each line prefixed with seconds since start. */
    private static void copyTimed(Process process, Path log, long started) {
      try (var in =
              new java.io.BufferedReader(
                  new java.io.InputStreamReader(
                      process.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
          var writer = Files.newBufferedWriter(log)) {
        for (String line; (line = in.readLine()) != null; ) {
          writer.write(String.format("+%6.2fs %s%n", (System.nanoTime() - started) / 1e9, line));
          writer.flush();
        }
      } catch (IOException e) {
        // the process is gone
      }
    }

    /** Result files written so far. */
    long results() throws IOException {
      if (!Files.isDirectory(out)) {
        return 0;
      }
      try (var files = Files.list(out)) {
        return files.filter(f -> f.toString().endsWith(".json")).count();
      }
    }

    int await(Duration timeout) throws InterruptedException {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(id + " still running after " + timeout + ":\n" + tail(log, 40));
      }
      return process.exitValue();
    }

    /** Kills the worker JVM at once, as a crash would, then whatever it had started. */
    void kill() throws InterruptedException {
      List<ProcessHandle> children = process.descendants().toList();
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      for (ProcessHandle child : children) {
        child.destroyForcibly();
      }
    }

    @Override
    public void close() {
      if (process.isAlive()) {
        try {
          kill();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
