package dev.berth.client.cli;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real broker as a child process: the shaded jar {@code bin/berth serve} runs (its path in the
 * {@code berth.server.jar} system property), on a free loopback port, with a throw-away state
 * directory and its log in a file for failure reports.
 */
final class LiveDaemon implements AutoCloseable {
  private final Process process;
  private final int port;
  private final Path log;

  private LiveDaemon(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts {@code berth serve} with {@code options}; returns once the port accepts. */
  static LiveDaemon start(Path dir, String... options) throws Exception {
    String jar = System.getProperty("berth.server.jar", "../server/target/berth-server.jar");
    if (!Files.exists(Path.of(jar))) {
      throw new IllegalStateException("daemon jar " + jar + " is missing; build the server first");
    }
    int port = freePort();
    Path log = dir.resolve("daemon.log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-jar");
    command.add(jar);
    command.add("serve");
    command.add("--metrics.listen"); // several daemons may run at once; none takes :9464
    command.add("off");
    command.add("--listen");
    command.add("127.0.0.1:" + port);
    command.add("--state-dir");
    command.add(dir.resolve("state").toString());
    command.addAll(List.of(options));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    LiveDaemon daemon = new LiveDaemon(process, port, log);
    daemon.awaitListening(Duration.ofSeconds(30));
    return daemon;
  }

  /** A loopback port nothing listens on (it was free a moment ago). */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  String target() {
    return "127.0.0.1:" + port;
  }

  private void awaitListening(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException("daemon exited early:\n" + logText());
      }
      try {
        new Socket("127.0.0.1", port).close();
        return;
      } catch (IOException notYet) {
        // still starting
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "daemon not listening after " + timeout + ":\n" + logText());
      }
      Thread.sleep(100);
    }
  }

  String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** SIGTERM, then waits; kills it if it does not stop in time. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
