package dev.berth.client.faults;

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
 * The real broker ({@code berth serve} from the shaded jar in {@code berth.server.jar}) as a child
 * process on a fixed loopback port and state directory, so a test can SIGKILL it and start it again
 * where workers expect it.
 */
final class BrokerProcess implements AutoCloseable {
  private final Process process;
  private final Path log;

  private BrokerProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  /** Starts the broker and returns once its port accepts connections. */
  static BrokerProcess start(Path stateDir, Path log, int port, String... options)
      throws Exception {
    String jar = System.getProperty("berth.server.jar", "../server/target/berth-server.jar");
    if (!Files.exists(Path.of(jar))) {
      throw new IllegalStateException("daemon jar " + jar + " is missing; build the server first");
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-jar");
    command.add(jar);
    command.add("serve");
    command.add("--listen");
    command.add("127.0.0.1:" + port);
    command.add("--state-dir");
    command.add(stateDir.toString());
    command.add("--metrics.listen");
    command.add("off");
    command.addAll(List.of(options));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    BrokerProcess broker = new BrokerProcess(process, log);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException("daemon exited early:\n" + broker.logText());
      }
      try {
        new Socket("127.0.0.1", port).close();
        return broker;
      } catch (IOException notYet) {
        // still starting
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("daemon not listening:\n" + broker.logText());
      }
      Thread.sleep(100);
    }
  }

  /** SIGKILL, as a crash: nothing is flushed, no goodbye is sent. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
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
}
