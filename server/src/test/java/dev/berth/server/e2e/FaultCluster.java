package dev.berth.server.e2e;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.ClusterNode;
import dev.berth.proto.v1.ClusterRole;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.TcpProxy;
import dev.berth.testkit.Timeline;
import dev.berth.testkit.TimelineChecker;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Three real daemons on loopback for the fault tests ({@code *FaultIT}), each with its event log
 * on, and every Raft connection to a member made through a {@link TcpProxy} in front of that
 * member's Raft port, so a test can cut a member off. Faults are SIGKILL, SIGSTOP/SIGCONT, SIGTERM
 * and restarts on the same ports and state; each is noted in the test's own event log ({@code
 * ev=kill|pause|resume|cut|heal|stop|restart target=ID}), so the checked timeline shows them.
 *
 * <p>Each member's own entry in {@code cluster.peers} is its real Raft port (it binds that), the
 * others' entries are their proxies. Ratis keeps the addresses of the configuration that the first
 * leader wrote into the log, in which that leader's entry is its real port: its inbound traffic is
 * not proxied. {@link #proxied} tells which members can be cut off.
 *
 * <p>Not thread-safe for faults (one test thread injects them); the read methods may be called from
 * worker threads.
 */
final class FaultCluster implements AutoCloseable {
  static final String[] IDS = {"n1", "n2", "n3"};
  static final Duration TTL = Duration.ofSeconds(5);
  static final int RENDER_LIMIT = 4;
  static final double HOST_RATE = 4.0;
  static final int HOST_BURST = 3;

  /** One member: its fixed ports, its state and its current process. */
  static final class Node {
    final String id;
    final int api;
    final int raft;
    final Path state;
    final TcpProxy inbound;

    /**
     * A channel to its API, new for each process: one that saw the process gone would wait out
     * gRPC's reconnect backoff, failing calls at once meanwhile.
     */
    volatile ManagedChannel channel;

    volatile DaemonProcess daemon;

    Node(String id, int api, int raft, Path state, TcpProxy inbound) {
      this.id = id;
      this.api = api;
      this.raft = raft;
      this.state = state;
      this.inbound = inbound;
      this.channel = newChannel();
    }

    ManagedChannel newChannel() {
      return io.grpc.ManagedChannelBuilder.forTarget(apiAddress()).usePlaintext().build();
    }

    String apiAddress() {
      return "127.0.0.1:" + api;
    }

    @Override
    public String toString() {
      return id;
    }
  }

  private final Path dir;
  private final Path testLog;
  final List<Node> nodes = new ArrayList<>();

  FaultCluster(Path dir) throws IOException {
    this.dir = dir;
    this.testLog = dir.resolve("test-events.log");
    for (String id : IDS) {
      int raft = DaemonProcess.freePort();
      nodes.add(
          new Node(
              id,
              DaemonProcess.freePort(),
              raft,
              Files.createDirectories(dir.resolve(id)),
              new TcpProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), raft))));
    }
  }

  /** Starts the three daemons at once and waits until each answers. */
  FaultCluster start() throws Exception {
    List<CompletableFuture<Void>> starts = new ArrayList<>();
    for (Node n : nodes) {
      starts.add(
          CompletableFuture.runAsync(
              () -> {
                try {
                  launch(n);
                } catch (Exception e) {
                  throw new IllegalStateException("cannot start " + n.id, e);
                }
              }));
    }
    CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
    return this;
  }

  private void launch(Node n) throws Exception {
    List<String> flags = new ArrayList<>();
    for (Node p : nodes) {
      flags.add("--cluster.peers." + p.id + ".raft");
      flags.add(p == n ? "127.0.0.1:" + p.raft : p.inbound.target());
      flags.add("--cluster.peers." + p.id + ".api");
      flags.add(p.apiAddress());
    }
    flags.addAll(
        List.of(
            "--cluster.id",
            "faults",
            "--cluster.self",
            n.id,
            "--events.log",
            "true",
            "--render-limit",
            Integer.toString(RENDER_LIMIT),
            "--rate_limit.default_rate",
            Double.toString(HOST_RATE),
            "--rate_limit.default_burst",
            Integer.toString(HOST_BURST),
            "--session.heartbeat_interval",
            "1s",
            "--session.ttl",
            TTL.toSeconds() + "s"));
    n.daemon =
        DaemonProcess.newBuilder(n.state, dir.resolve(n.id + ".log"))
            .port(n.api)
            .jvmOptions("-Xmx160m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
            .metricsListen("off")
            .flags(flags.toArray(String[]::new))
            .start();
  }

  /** Appends a line for a fault to the test's own event log. */
  void note(String ev, Node target) {
    String line = "t=" + System.nanoTime() + " node=test ev=" + ev + " target=" + target.id + "\n";
    try {
      Files.writeString(
          testLog,
          line,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void kill(Node n) throws InterruptedException {
    note("kill", n);
    n.daemon.kill();
  }

  void pause(Node n) throws Exception {
    note("pause", n);
    n.daemon.pause();
  }

  void resume(Node n) {
    n.daemon.resume();
    note("resume", n);
  }

  /** SIGTERM, as a planned restart's first half. */
  void stop(Node n) throws InterruptedException {
    note("stop", n);
    n.daemon.stop(Duration.ofSeconds(30));
  }

  /** Starts a stopped or killed member again on its ports and state. */
  void restart(Node n) throws Exception {
    note("restart", n);
    launch(n);
    ManagedChannel old = n.channel;
    n.channel = n.newChannel();
    old.shutdownNow();
  }

  /** Blackholes every Raft connection to {@code n} (it can still send). */
  void cut(Node n) {
    note("cut", n);
    n.inbound.pause();
  }

  void heal(Node n) {
    n.inbound.resume();
    note("heal", n);
  }

  /** The members whose inbound Raft traffic passes their proxy: all but the first leader. */
  List<Node> proxied() {
    Optional<String> first =
        timeline().events().stream()
            .filter(e -> e.ev().equals("lead"))
            .map(Timeline.Event::node)
            .findFirst();
    return nodes.stream().filter(n -> first.map(f -> !f.equals(n.id)).orElse(true)).toList();
  }

  Node node(String id) {
    return nodes.stream().filter(n -> n.id.equals(id)).findFirst().orElseThrow();
  }

  static ClusterNode status(Node n) {
    return BrokerAdminGrpc.newBlockingStub(n.channel)
        .withDeadlineAfter(2, TimeUnit.SECONDS)
        .getStatus(GetStatusRequest.getDefaultInstance())
        .getCluster();
  }

  static ServingStatus health(Node n) {
    return HealthGrpc.newBlockingStub(n.channel)
        .withDeadlineAfter(1, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService("berth.v1.LeaseBroker").build())
        .getStatus();
  }

  /** The ready leader among the live, running members now, if one says so. */
  Optional<Node> servingLeader() {
    for (Node n : nodes) {
      if (n.daemon == null || !n.daemon.isAlive()) {
        continue;
      }
      try {
        if (health(n) == ServingStatus.SERVING) {
          ClusterNode c = status(n);
          if (c.getRole() == ClusterRole.CLUSTER_ROLE_LEADER && c.getReady()) {
            return Optional.of(n);
          }
        }
      } catch (StatusRuntimeException notNow) {
        // down, paused or starting
      }
    }
    return Optional.empty();
  }

  Node awaitLeader(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<Node> l = servingLeader();
      if (l.isPresent()) {
        return l.get();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no ready leader within " + timeout + ":\n" + logTails());
  }

  String logTails() {
    StringBuilder b = new StringBuilder();
    for (Node n : nodes) {
      b.append("--- ").append(n.id).append('\n');
      b.append(DaemonProcess.tail(dir.resolve(n.id + ".log"), 25)).append('\n');
    }
    return b.toString();
  }

  /** The error details of a refusal: its ErrorInfo, if it carries one. */
  static Optional<ErrorInfo> errorInfo(Throwable t) {
    com.google.rpc.Status status = StatusProto.fromThrowable(t);
    if (status == null) {
      return Optional.empty();
    }
    for (Any detail : status.getDetailsList()) {
      if (detail.is(ErrorInfo.class)) {
        try {
          return Optional.of(detail.unpack(ErrorInfo.class));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new AssertionError(e);
        }
      }
    }
    return Optional.empty();
  }

  /** The event logs of every member and of the test, merged. */
  Timeline timeline() {
    List<Path> files = new ArrayList<>();
    for (Node n : nodes) {
      files.add(n.state.resolve("events.log"));
    }
    files.add(testLog);
    return Timeline.read(files);
  }

  /**
   * Of {@code leaseIds} (leases a member said were lost when a worker resumed and declared them),
   * those no member ever recorded as released. A lease whose release took effect on a member that
   * then stopped before it could answer is declared again by its worker, which never heard the
   * answer, and is rightly unknown to the next leader: that is not a lost lease. Any other is.
   */
  List<String> unreleased(java.util.Collection<String> leaseIds) {
    java.util.Set<String> released = new java.util.HashSet<>();
    for (Timeline.Event e : timeline().events()) {
      if (e.ev().equals("end") && "RELEASED".equals(e.fields().get("how"))) {
        released.add(e.field("lease"));
      }
    }
    return leaseIds.stream().filter(id -> !released.contains(id)).sorted().toList();
  }

  /** The checker for this cluster's settings. */
  static TimelineChecker checker() {
    return TimelineChecker.newBuilder()
        .poolLimit("RENDER", RENDER_LIMIT)
        .hostRate(HOST_RATE, HOST_BURST)
        .windows(Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(3))
        .sessionTtl(TTL)
        .build();
  }

  /**
   * Checks the merged timeline after the daemons flushed their event logs (it waits a moment: they
   * flush when their queue runs empty), returning the summary.
   */
  String checkTimeline() throws InterruptedException {
    Thread.sleep(300);
    return checker().check(timeline());
  }

  @Override
  public void close() {
    for (Node n : nodes) {
      n.channel.shutdownNow();
      if (n.daemon != null) {
        n.daemon.close();
      }
      n.inbound.close();
    }
  }
}
