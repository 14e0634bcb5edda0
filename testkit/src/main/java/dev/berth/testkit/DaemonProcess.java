package dev.berth.testkit;

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
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The real broker as a child process: the shaded jar that {@code bin/berth serve} runs, on a
 * loopback port, with its own state directory and its output appended to a log file for failure
 * reports. Tests drive it with the signals an operator or a crash would send: SIGTERM ({@link
 * #stop}), SIGKILL ({@link #kill}), SIGSTOP/SIGCONT ({@link #pause}/{@link #resume}) and SIGHUP
 * ({@link #reload}), and look inside it with {@link ProcessProbe}.
 *
 * <p>The jar comes from the {@code berth.server.jar} system property (set by failsafe in the server
 * and client modules), else from {@code target/} or {@code ../server/target/}.
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
public final class DaemonProcess implements AutoCloseable {
  /** Every port {@link #freePort} returned in this JVM. */
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private final Process process;
  private final int port;
  private final Path log;
  private volatile boolean paused;

  private DaemonProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** A daemon keeping its state in {@code stateDir} and appending its output to {@code log}. */
  public static Builder newBuilder(Path stateDir, Path log) {
    return new Builder(stateDir, log);
  }

  /** Starts a daemon with default settings and {@code flags}; see {@link Builder#start}. */
  public static DaemonProcess start(Path stateDir, Path log, String... flags) throws Exception {
    return newBuilder(stateDir, log).flags(flags).start();
  }

  /**
   * A loopback port nothing listens on (it was free a moment ago), and never one this JVM handed
   * out before: the system may give a port it just gave again once its socket is closed, and a test
   * that takes several before any daemon binds them (a cluster's API and Raft ports) would then
   * hand two members the same one.
   */
  public static int freePort() throws IOException {
    for (int attempt = 0; attempt < 1000; attempt++) {
      try (ServerSocket socket = new ServerSocket(0)) {
        socket.setReuseAddress(true);
        int port = socket.getLocalPort();
        if (HANDED_OUT.add(port)) {
          return port;
        }
      }
    }
    throw new IOException("no free port that this JVM has not handed out already");
  }

  /** Options for one daemon process; {@link #start} copies them. */
  public static final class Builder {
    private final Path stateDir;
    private final Path log;
    private int port;
    private Path jar;
    private List<String> jvmOptions = List.of("-Xmx256m");
    private final List<String> flags = new ArrayList<>();
    private String metricsListen = "off";
    private Duration readyTimeout = Duration.ofSeconds(60);
    private boolean healthReady = true;

    private Builder(Path stateDir, Path log) {
      this.stateDir = Objects.requireNonNull(stateDir, "stateDir");
      this.log = Objects.requireNonNull(log, "log");
    }

    /** The port to listen on, e.g. the one a killed daemon had; default: a free one. */
    public Builder port(int value) {
      if (value <= 0 || value > 65535) {
        throw new IllegalArgumentException("port must be 1..65535, got " + value);
      }
      this.port = value;
      return this;
    }

    /** The daemon jar; default: {@code berth.server.jar} or the server module's target. */
    public Builder jar(Path value) {
      this.jar = Objects.requireNonNull(value, "jar");
      return this;
    }

    /** Options for the JVM, replacing the default {@code -Xmx256m} (e.g. a smaller heap). */
    public Builder jvmOptions(String... values) {
      this.jvmOptions = List.of(values);
      return this;
    }

    /** More {@code berth serve} flags, after the listen address and state directory. */
    public Builder flags(String... values) {
      this.flags.addAll(List.of(values));
      return this;
    }

    /** The Prometheus listener; default {@code off}, so daemons side by side never collide. */
    public Builder metricsListen(String value) {
      this.metricsListen = Objects.requireNonNull(value, "metricsListen");
      return this;
    }

    /** How long {@link #start} waits for health SERVING; default 60 s (a loaded CI machine). */
    /**
     * Ready once the port accepts connections, without asking {@code grpc.health.v1} (which this
     * helper asks in plaintext): for a daemon serving TLS.
     */
    public Builder readyWhenListening() {
      this.healthReady = false;
      return this;
    }

    public Builder readyTimeout(Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException("readyTimeout must be positive, got " + value);
      }
      this.readyTimeout = value;
      return this;
    }

    /**
     * Starts {@code java <jvmOptions> -jar <jar> serve --listen 127.0.0.1:<port> --state-dir
     * <stateDir> --metrics.listen <metricsListen> <flags>} and returns once {@code grpc.health.v1}
     * answers SERVING.
     *
     * @throws IllegalStateException when the jar is missing, or the daemon exits or is not serving
     *     in time (the message carries its log)
     */
    public DaemonProcess start() throws Exception {
      Path daemonJar = jar != null ? jar : defaultJar();
      int listenPort = port != 0 ? port : freePort();
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(jvmOptions);
      command.add("-jar");
      command.add(daemonJar.toString());
      command.add("serve");
      command.add("--listen");
      command.add("127.0.0.1:" + listenPort);
      command.add("--state-dir");
      command.add(stateDir.toString());
      command.add("--metrics.listen");
      command.add(metricsListen);
      command.addAll(flags);
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      DaemonProcess daemon = new DaemonProcess(process, listenPort, log);
      try {
        if (healthReady) {
          daemon.awaitServing(readyTimeout);
        } else {
          daemon.awaitListening(readyTimeout);
        }
      } catch (Exception | Error e) {
        daemon.kill();
        throw e;
      }
      return daemon;
    }

    private static Path defaultJar() {
      String configured = System.getProperty("berth.server.jar");
      List<Path> candidates =
          configured != null
              ? List.of(Path.of(configured))
              : List.of(
                  Path.of("target", "berth-server.jar"),
                  Path.of("..", "server", "target", "berth-server.jar"));
      for (Path candidate : candidates) {
        if (Files.exists(candidate)) {
          return candidate;
        }
      }
      throw new IllegalStateException(
          "daemon jar missing (looked at " + candidates + "); build the server module first");
    }
  }

  /** The loopback port the daemon listens on. */
  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:<port>}, for channels and the SDK. */
  public String target() {
    return "127.0.0.1:" + port;
  }

  /** The daemon's process id, e.g. for {@link ProcessProbe}. */
  public long pid() {
    return process.pid();
  }

  /** A new plaintext channel to the daemon; the caller shuts it down. */
  public ManagedChannel channel() {
    return ManagedChannelBuilder.forTarget(target()).usePlaintext().build();
  }

  private void awaitListening(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException("daemon exited early:\n" + logTail(60));
      }
      try (java.net.Socket socket = new java.net.Socket()) {
        socket.connect(
            new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1000);
        return;
      } catch (java.io.IOException notYet) {
        // still starting
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "daemon not listening after " + timeout + ":\n" + logTail(60));
      }
      Thread.sleep(100);
    }
  }

  private void awaitServing(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    ManagedChannel channel = channel();
    try {
      while (true) {
        if (!process.isAlive()) {
          throw new IllegalStateException("daemon exited early:\n" + logTail(60));
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
              "daemon not serving after " + timeout + ":\n" + logTail(60));
        }
        Thread.sleep(100);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /** SIGTERM, as {@code systemctl stop}; waits for the exit and returns its code. */
  public int stop(Duration timeout) throws InterruptedException {
    resume();
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new IllegalStateException("daemon did not stop within " + timeout);
    }
    return process.exitValue();
  }

  /** SIGKILL, as a crash: nothing is flushed, no stream is closed. Waits for the exit. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("daemon " + pid() + " survived SIGKILL for 10 s");
    }
  }

  /**
   * SIGSTOP: the daemon freezes with its sockets open, as in a long GC pause or a VM stall. Returns
   * once the kernel reports the process stopped, so that whatever the caller does next (such as
   * reading the clock to mark the pause) happens while the daemon can no longer act.
   */
  public void pause() throws Exception {
    Signals.send(process.toHandle(), "STOP");
    paused = true;
    Path stat = Path.of("/proc", Long.toString(pid()), "stat");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Files.exists(stat) && !stoppedState(Files.readString(stat))) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("daemon " + pid() + " not stopped 10 s after SIGSTOP");
      }
      Thread.onSpinWait();
    }
  }

  /** Whether a {@code /proc/PID/stat} line shows a stopped process (state T). */
  static boolean stoppedState(String stat) {
    // The state follows the command name, which is in parentheses and may itself hold any byte.
    int end = stat.lastIndexOf(')');
    return end > 0 && stat.length() > end + 2 && stat.charAt(end + 2) == 'T';
  }

  /** SIGCONT after {@link #pause}; does nothing when not paused. */
  public void resume() {
    if (paused) {
      try {
        Signals.send(process.toHandle(), "CONT");
        paused = false;
      } catch (Exception e) {
        throw new IllegalStateException("cannot continue daemon " + pid(), e);
      }
    }
  }

  /** SIGHUP, as {@code systemctl reload}: the daemon reloads its config file. */
  public void reload() throws Exception {
    Signals.send(process.toHandle(), "HUP");
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Everything the daemon has logged so far. */
  public String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log " + log + ": " + e + ")";
    }
  }

  /** The last {@code lines} lines of the log, for assertion messages. */
  public String logTail(int lines) {
    return tail(log, lines);
  }

  /** The last {@code lines} lines of any log file. */
  public static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log " + file + ": " + e + ")";
    }
  }

  /** Stops the daemon if it still runs: SIGTERM, then SIGKILL after 20 s. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    try {
      resume();
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
