package dev.berth.client.worker;

import dev.berth.proto.v1.BrokerAdminGrpc;
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
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Real processes for the end-to-end tests: the daemon jar and {@code berth worker} JVMs. */
final class Processes {
  private Processes() {}

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log " + log + ": " + e + ")";
    }
  }

  /** The broker as a child process, on a free loopback port, logging to a file. */
  static final class Daemon implements AutoCloseable {
    final Process process;
    final int port;
    final Path log;
    final ManagedChannel channel;
    final BrokerAdminGrpc.BrokerAdminBlockingStub admin;

    private Daemon(Process process, int port, Path log) {
      this.process = process;
      this.port = port;
      this.log = log;
      this.channel = ManagedChannelBuilder.forTarget(target()).usePlaintext().build();
      this.admin = BrokerAdminGrpc.newBlockingStub(channel);
    }

    static Daemon start(Path dir, String... options) throws Exception {
      Path jar =
          Path.of(System.getProperty("berth.server.jar", "../server/target/berth-server.jar"));
      if (!Files.exists(jar)) {
        throw new IllegalStateException("daemon jar " + jar + " is missing; run mvn package");
      }
      int port = freePort();
      Path log = dir.resolve("daemon.log");
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-Xmx256m");
      command.add("-jar");
      command.add(jar.toString());
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
              .redirectOutput(log.toFile())
              .start();
      Daemon daemon = new Daemon(process, port, log);
      daemon.awaitServing(Duration.ofSeconds(60));
      return daemon;
    }

    String target() {
      return "127.0.0.1:" + port;
    }

    private void awaitServing(Duration timeout) throws Exception {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        if (!process.isAlive()) {
          throw new IllegalStateException("daemon exited early:\n" + tail(log, 40));
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
          throw new IllegalStateException("daemon not serving after " + timeout);
        }
        Thread.sleep(100);
      }
    }

    @Override
    public void close() {
      channel.shutdownNow();
      process.destroy();
      try {
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** A {@code berth worker} JVM on this test's classpath, logging to a file. */
  static final class Worker implements AutoCloseable {
    final String id;
    final Process process;
    final Path log;
    final Path out;
    private final Thread copier;

    private Worker(String id, Process process, Path log, Path out, Thread copier) {
      this.id = id;
      this.process = process;
      this.log = log;
      this.out = out;
      this.copier = copier;
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
      return new Worker(id, process, log, out, copier);
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
