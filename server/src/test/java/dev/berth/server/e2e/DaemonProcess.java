package dev.berth.server.e2e;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real broker as a child process: the same shaded jar {@code bin/berth serve} runs, on a free
 * loopback port, with its log captured in a file for failure reports.
 */
final class DaemonProcess implements AutoCloseable {
  private final Process process;
  private final int port;
  private final Path log;

  private DaemonProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts {@code berth serve} with {@code options} and waits until health says SERVING. */
  static DaemonProcess start(Path stateDir, Path log, String... options) throws Exception {
    return start(stateDir, log, freePort(), options);
  }

  static DaemonProcess start(Path stateDir, Path log, int port, String... options)
      throws Exception {
    String jar = System.getProperty("berth.server.jar", "target/berth-server.jar");
    if (!Files.exists(Path.of(jar))) {
      throw new IllegalStateException("daemon jar " + jar + " is missing; run mvn package first");
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
    // A free port of its own, so daemons started side by side never fight over 9464.
    command.add("--metrics.listen");
    command.add("127.0.0.1:0");
    command.addAll(List.of(options));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    DaemonProcess daemon = new DaemonProcess(process, port, log);
    daemon.awaitServing(Duration.ofSeconds(30));
    return daemon;
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  int port() {
    return port;
  }

  String target() {
    return "127.0.0.1:" + port;
  }

  ManagedChannel channel() {
    return ManagedChannelBuilder.forTarget(target()).usePlaintext().build();
  }

  private void awaitServing(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    ManagedChannel channel = channel();
    try {
      while (true) {
        if (!process.isAlive()) {
          throw new IllegalStateException("daemon exited early:\n" + logText());
        }
        try {
          HealthCheckResponse response =
              HealthGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(1, TimeUnit.SECONDS)
                  .check(HealthCheckRequest.getDefaultInstance());
          if (response.getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
            return;
          }
        } catch (StatusRuntimeException notYet) {
          // still starting
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "daemon not serving after " + timeout + ":\n" + logText());
        }
        Thread.sleep(100);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /** Sends SIGTERM and waits for the process to exit; returns its exit code. */
  int stop(Duration timeout) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor();
      throw new IllegalStateException("daemon did not stop within " + timeout);
    }
    return process.exitValue();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Sends SIGHUP, as {@code systemctl reload} does. */
  void reload() throws Exception {
    Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -HUP " + process.pid() + " failed");
    }
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
      try {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
