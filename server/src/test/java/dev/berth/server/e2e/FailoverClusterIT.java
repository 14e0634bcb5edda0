package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.ClusterNode;
import dev.berth.proto.v1.ClusterRole;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.DaemonProcess;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.StatusProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real daemons on loopback form a cluster: one leads and serves, the others send workers to
 * it (NOT_LEADER with its address); SIGKILL of the leader makes another member lead, which takes
 * the 50 leases held (across five sessions, over the raw stubs) over from its replica with the same
 * ids and tokens, grants anew within 5 s of the kill (session TTL 10 s: only K slots per pool are
 * held back, not a TTL), and keeps every lease when the workers resume their sessions and declare
 * them. Run by {@code bin/test} in the cluster group of integration tests ({@code -Pcluster-its}),
 * not by a plain {@code mvn verify}.
 */
class FailoverClusterIT {
  private static final int SESSIONS = 5;
  private static final int LEASES_PER_SESSION = 10;

  @TempDir Path dir;

  private final List<Node> nodes = new ArrayList<>();

  private record Node(String id, DaemonProcess daemon, ManagedChannel channel) {
    String api() {
      return "127.0.0.1:" + daemon.port();
    }
  }

  @AfterEach
  void stop() {
    for (Node n : nodes) {
      n.channel().shutdownNow();
      n.daemon().close();
    }
  }

  @Test
  @Timeout(240)
  void sigkillOfTheLeader_anotherLeads_leasesKeptWithTheirIdsAndTokens() throws Exception {
    startCluster();
    Node leader = awaitReadyLeader(nodes, 30_000);
    List<Node> followers = nodes.stream().filter(n -> !n.equals(leader)).toList();

    // Followers send workers to the leader; only the leader's LeaseBroker is SERVING.
    for (Node f : followers) {
      // A follower learns who leads from the leader's first append after the election; until then
      // its hint is empty (documented). Wait for that, then check the hint it gives workers.
      awaitLeaderKnown(f, leader, 10_000);
      StatusRuntimeException refused =
          catchThrowableOfType(
              StatusRuntimeException.class,
              () ->
                  LeaseBrokerGrpc.newBlockingStub(f.channel())
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .acquire(
                          AcquireRequest.newBuilder()
                              .setSessionId("s")
                              .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                              .setUrl("https://example.com/")
                              .build()));
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(errorInfo(refused).getReason()).isEqualTo("NOT_LEADER");
      assertThat(errorInfo(refused).getMetadataMap()).containsEntry("leader", leader.api());
      assertThat(health(f, "berth.v1.LeaseBroker")).isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(status(f).getRole()).isEqualTo(ClusterRole.CLUSTER_ROLE_FOLLOWER);
      assertThat(status(f).getLeaderApi()).isEqualTo(leader.api());
    }
    assertThat(health(leader, "berth.v1.LeaseBroker")).isEqualTo(ServingStatus.SERVING);

    // 50 leases across five sessions (a first leader holds back only K slots per pool).
    Map<String, List<Lease>> held = new HashMap<>();
    Map<String, String> workerOf = new HashMap<>();
    List<LiveSession> sessions = new ArrayList<>();
    for (int s = 0; s < SESSIONS; s++) {
      LiveSession session = new LiveSession(leader.channel(), "worker-" + s);
      sessions.add(session);
      List<Lease> leases = new ArrayList<>();
      for (int i = 0; i < LEASES_PER_SESSION; i++) {
        AcquireResponse r = session.acquireRender("https://h" + s + "-" + i + ".example/", 15_000);
        assertThat(r.hasGranted()).as("acquire %s/%s: %s", s, i, r).isTrue();
        leases.add(r.getGranted());
      }
      held.put(session.id(), leases);
      workerOf.put(session.id(), "worker-" + s);
    }
    long oldTerm = status(leader).getTerm();

    long killedAt = System.nanoTime();
    leader.daemon().kill();
    Node next = awaitReadyLeader(followers, 20_000);
    long failoverMillis = (System.nanoTime() - killedAt) / 1_000_000;
    System.out.printf(
        "failover: a new leader (%s) served %d ms after SIGKILL%n", next.id(), failoverMillis);
    assertThat(failoverMillis).as("failover time").isLessThan(5_000);
    assertThat(status(next).getTerm()).isGreaterThan(oldTerm);
    sessions.forEach(LiveSession::close);
    Map<String, Long> before = new HashMap<>();
    held.values().forEach(ls -> ls.forEach(l -> before.put(l.getLeaseId(), l.getFencingToken())));
    long highest = before.values().stream().mapToLong(Long::longValue).max().orElseThrow();

    // The new leader took the leases over from its replica: listed before any worker is back.
    assertThat(leaseTokens(next)).as("leases on the new leader").isEqualTo(before);

    // A new grant within 5 s of the kill: only K slots per pool are held back, not a whole TTL.
    LiveSession newcomer = new LiveSession(next.channel(), "worker-new");
    AcquireResponse fresh = newcomer.acquireRender("https://fresh.example/", 5_000);
    long firstGrantMillis = (System.nanoTime() - killedAt) / 1_000_000;
    System.out.printf("failover: the first new grant came %d ms after SIGKILL%n", firstGrantMillis);
    assertThat(fresh.hasGranted()).as("fresh acquire: %s", fresh).isTrue();
    assertThat(firstGrantMillis).as("SIGKILL to the first new grant").isLessThan(5_000);
    assertThat(Long.compareUnsigned(fresh.getGranted().getFencingToken(), highest)).isPositive();
    assertThat(before).doesNotContainKey(fresh.getGranted().getLeaseId());

    // Each worker resumes its session on the new leader, declaring what it holds: all kept.
    List<LiveSession> resumed = new ArrayList<>();
    for (Map.Entry<String, List<Lease>> e : held.entrySet()) {
      Hello.Builder hello =
          Hello.newBuilder().setWorkerId(workerOf.get(e.getKey())).setResumeSessionId(e.getKey());
      for (Lease l : e.getValue()) {
        hello.addHeldLeases(
            HeldLease.newBuilder()
                .setLeaseId(l.getLeaseId())
                .setFencingToken(l.getFencingToken())
                .setKind(l.getKind())
                .setHost(l.getHost()));
      }
      LiveSession session = new LiveSession(next.channel(), hello);
      resumed.add(session);
      assertThat(session.opened.join().getResumed()).isTrue();
      assertThat(session.opened.join().getLostLeasesList()).isEmpty();
    }
    Map<String, Long> expected = new HashMap<>(before);
    expected.put(fresh.getGranted().getLeaseId(), fresh.getGranted().getFencingToken());
    Map<String, Long> after = leaseTokens(next);
    assertThat(after).hasSize(SESSIONS * LEASES_PER_SESSION + 1).isEqualTo(expected);
    assertThat(after.values()).as("no token issued twice").doesNotHaveDuplicates();

    // More grants follow at once, each above every token of the old leader.
    AcquireResponse more = resumed.get(0).acquireRender("https://more.example/", 5_000);
    assertThat(Long.compareUnsigned(more.getGranted().getFencingToken(), highest)).isPositive();
    newcomer.close();
    resumed.forEach(LiveSession::close);
  }

  @Test
  @Timeout(240)
  void sigtermOfTheLeader_handsOff_successorServesAtOnceWithTheLeases() throws Exception {
    startCluster();
    Node leader = awaitReadyLeader(nodes, 30_000);
    List<Node> followers = nodes.stream().filter(n -> !n.equals(leader)).toList();
    LiveSession session = new LiveSession(leader.channel(), "worker-h");
    Map<String, Long> before = new HashMap<>();
    for (int i = 0; i < LEASES_PER_SESSION; i++) {
      AcquireResponse r = session.acquireRender("https://h-" + i + ".example/", 15_000);
      assertThat(r.hasGranted()).as("acquire %s: %s", i, r).isTrue();
      before.put(r.getGranted().getLeaseId(), r.getGranted().getFencingToken());
    }

    long stoppedAt = System.nanoTime();
    leader.daemon().stop(java.time.Duration.ofSeconds(30));
    Node next = awaitReadyLeader(followers, 20_000);
    System.out.printf(
        "handoff: %s served %d ms after SIGTERM of the leader%n",
        next.id(), (System.nanoTime() - stoppedAt) / 1_000_000);
    session.close();

    assertThat(leader.daemon().logText()).contains("handed off to");
    assertThat(next.daemon().logText()).contains("nothing held back (handed off)");
    assertThat(leaseTokens(next)).isEqualTo(before);
    LiveSession newcomer = new LiveSession(next.channel(), "worker-after");
    AcquireResponse fresh = newcomer.acquireRender("https://after.example/", 5_000);
    assertThat(fresh.hasGranted()).as("fresh: %s", fresh).isTrue();
    long highest = before.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    assertThat(Long.compareUnsigned(fresh.getGranted().getFencingToken(), highest)).isPositive();
    newcomer.close();
  }

  /** The live leases {@code n} lists: id to fencing token. */
  private static Map<String, Long> leaseTokens(Node n) {
    Map<String, Long> tokens = new HashMap<>();
    for (LeaseInfo info :
        BrokerAdminGrpc.newBlockingStub(n.channel())
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .listLeases(ListLeasesRequest.newBuilder().setPageSize(1000).build())
            .getLeasesList()) {
      tokens.put(info.getLease().getLeaseId(), info.getLease().getFencingToken());
    }
    return tokens;
  }

  private void startCluster() throws Exception {
    String[] ids = {"n1", "n2", "n3"};
    int[] api = new int[3];
    int[] raft = new int[3];
    List<String> peers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      api[i] = DaemonProcess.freePort();
      raft[i] = DaemonProcess.freePort();
      peers.add("--cluster.peers." + ids[i] + ".raft");
      peers.add("127.0.0.1:" + raft[i]);
      peers.add("--cluster.peers." + ids[i] + ".api");
      peers.add("127.0.0.1:" + api[i]);
    }
    for (int i = 0; i < 3; i++) {
      Path state = Files.createDirectories(dir.resolve(ids[i]));
      List<String> flags = new ArrayList<>(peers);
      flags.addAll(
          List.of(
              "--cluster.id", "it",
              "--cluster.self", ids[i],
              "--render-limit", "64",
              "--session.heartbeat_interval", "1s",
              "--session.ttl", "10s"));
      DaemonProcess daemon =
          DaemonProcess.newBuilder(state, dir.resolve(ids[i] + ".log"))
              .port(api[i])
              .metricsListen("off")
              .flags(flags.toArray(String[]::new))
              .start();
      nodes.add(new Node(ids[i], daemon, daemon.channel()));
    }
  }

  /** Polls the admin status of {@code candidates} until one is the ready leader. */
  private static Node awaitReadyLeader(List<Node> candidates, long timeoutMillis)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (System.nanoTime() < deadline) {
      for (Node n : candidates) {
        try {
          ClusterNode c = status(n);
          if (c.getRole() == ClusterRole.CLUSTER_ROLE_LEADER
              && c.getReady()
              && health(n, "berth.v1.LeaseBroker") == ServingStatus.SERVING) {
            return n;
          }
        } catch (StatusRuntimeException notYet) {
          // starting, or just killed
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError(
        "no ready leader among "
            + candidates.stream().map(Node::id).toList()
            + ":\n"
            + candidates.stream().map(n -> n.daemon().logTail(30)).toList());
  }

  private static ClusterNode status(Node n) {
    return BrokerAdminGrpc.newBlockingStub(n.channel())
        .withDeadlineAfter(2, TimeUnit.SECONDS)
        .getStatus(GetStatusRequest.getDefaultInstance())
        .getCluster();
  }

  private static ServingStatus health(Node n, String service) {
    return HealthGrpc.newBlockingStub(n.channel())
        .withDeadlineAfter(2, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build())
        .getStatus();
  }

  private static ErrorInfo errorInfo(Throwable t) {
    com.google.rpc.Status status = StatusProto.fromThrowable(t);
    assertThat(status).as("rich status of %s", t).isNotNull();
    for (Any detail : status.getDetailsList()) {
      if (detail.is(ErrorInfo.class)) {
        try {
          return detail.unpack(ErrorInfo.class);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new AssertionError(e);
        }
      }
    }
    throw new AssertionError("no ErrorInfo in " + status);
  }

  /** Waits until {@code follower} names {@code leader}'s API address as the leader it knows. */
  private static void awaitLeaderKnown(Node follower, Node leader, long timeoutMillis)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (!status(follower).getLeaderApi().equals(leader.api())) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            follower.id() + " did not learn the leader within " + timeoutMillis + " ms");
      }
      Thread.sleep(50);
    }
  }
}
