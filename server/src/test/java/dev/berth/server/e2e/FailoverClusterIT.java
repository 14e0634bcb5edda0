package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerStatus;
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
import dev.berth.server.metrics.PrometheusText;
import dev.berth.testkit.DaemonCluster;
import dev.berth.testkit.DaemonCluster.Member;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.StatusProto;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real daemons on loopback form a cluster: one leads and serves, the others send workers to
 * it (NOT_LEADER with its address) and count the leases each job holds from their replicas; SIGKILL
 * of the leader makes another member lead, which takes the 50 leases held (across five sessions,
 * over the raw stubs) over from its replica with the same ids and tokens, grants anew within 5 s of
 * the kill (session TTL 10 s: only K slots per pool are held back, not a TTL), and keeps every
 * lease when the workers resume their sessions and declare them. SIGTERM of the leader hands its
 * state off, and the successor grants at once. A release the leader answered but died before
 * committing ends when its worker resumes declaring what it holds. Run by {@code bin/test} in the
 * cluster group of integration tests ({@code -Pcluster-its}), not by a plain {@code mvn verify}.
 */
class FailoverClusterIT {
  private static final int SESSIONS = 5;
  private static final int LEASES_PER_SESSION = 10;

  // Kept when a test fails: the members' event logs are what explains the failure.
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private DaemonCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @Timeout(240)
  void sigkillOfTheLeader_anotherLeads_leasesKeptWithTheirIdsAndTokens() throws Exception {
    cluster =
        DaemonCluster.start(
            dir,
            "it",
            "--render-limit",
            "64",
            "--session.heartbeat_interval",
            "1s",
            "--session.ttl",
            "10s");
    Member leader = DaemonCluster.awaitReadyLeader(cluster.members(), Duration.ofSeconds(30));
    List<Member> followers = cluster.members().stream().filter(n -> !n.equals(leader)).toList();

    // Followers send workers to the leader; only the leader's LeaseBroker is SERVING.
    for (Member f : followers) {
      // A follower learns who leads from the leader's first append after the election; until then
      // its hint is empty (documented). Wait for that, then check the hint it gives workers.
      DaemonCluster.awaitLeaderKnown(f, leader, Duration.ofSeconds(10));
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
    // The scenario is a crash while workers hold their leases, not within the commit of the last
    // grant (up to K of those may be lost and are re-declared by their workers): wait until the
    // leader's log has committed everything it journaled (uncommitted_entries 0).
    DaemonCluster.awaitCommitted(leader, Duration.ofSeconds(10));
    // A follower's admin lists come from its replica (its own broker serves nothing): the same
    // leases as the leader's once it has applied what the leader committed.
    Map<String, Long> onLeader = leaseTokens(leader);
    assertThat(onLeader).hasSize(SESSIONS * LEASES_PER_SESSION);
    for (Member f : followers) {
      assertThat(awaitLeaseTokens(f, onLeader, Duration.ofSeconds(5)))
          .as("leases listed by follower %s", f.id())
          .isEqualTo(onLeader);
      // Its status counts them for the job their sessions run as (default: no jobs configured),
      // and says the figures are a replica's.
      BrokerStatus replica = brokerStatus(f);
      assertThat(replica.getFromReplica()).isTrue();
      assertThat(renderHeldByDefault(replica))
          .as("RENDER held by default on follower %s", f.id())
          .isEqualTo(SESSIONS * LEASES_PER_SESSION);
    }
    assertThat(brokerStatus(leader).getFromReplica()).isFalse();
    assertThat(renderHeldByDefault(brokerStatus(leader))).isEqualTo(SESSIONS * LEASES_PER_SESSION);

    long killedAt = System.nanoTime();
    leader.daemon().kill();
    Member next = DaemonCluster.awaitReadyLeader(followers, Duration.ofSeconds(20));
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

  /**
   * SIGKILL of the leader after it answered a release and before the release's journal entry was
   * committed (the journal collects for one second here, so the kill lands inside that window): the
   * new leader still counts the lease, as its replica has it. The worker, told its release
   * succeeded, resumes declaring everything it holds (the one lease it kept, "complete"), and the
   * new leader ends the released lease, so its slot serves the next acquire.
   */
  @Test
  @Timeout(240)
  void sigkillAfterAnsweringARelease_beforeItsCommit_completeResumeFreesTheSlot() throws Exception {
    cluster =
        DaemonCluster.startWithMetrics(
            dir,
            "it",
            // K = 4 slots held back by the first leader, for one TTL from its start; its
            // successor, elected within that TTL, keeps those free as well as its own 4: 2 usable.
            "--render-limit",
            "10",
            "--session.heartbeat_interval",
            "1s",
            "--session.ttl",
            "60s",
            "--cluster.journal.flush_interval",
            "1s");
    Member leader = DaemonCluster.awaitReadyLeader(cluster.members(), Duration.ofSeconds(30));
    List<Member> followers = cluster.members().stream().filter(n -> !n.equals(leader)).toList();
    LiveSession worker = new LiveSession(leader.channel(), "worker-r");
    Lease kept = worker.acquireRender("https://kept.example/", 15_000).getGranted();
    Lease released = worker.acquireRender("https://released.example/", 15_000).getGranted();
    DaemonCluster.awaitCommitted(leader, Duration.ofSeconds(10));
    Map<String, Long> both = leaseTokens(leader);
    assertThat(both).containsOnlyKeys(kept.getLeaseId(), released.getLeaseId());
    for (Member f : followers) {
      assertThat(awaitLeaseTokens(f, both, Duration.ofSeconds(5))).isEqualTo(both);
    }

    // berth_raft_leader: 1 on the member that serves, 0 on the others.
    assertThat(raftLeaderGauge(leader)).isEqualTo(1.0);
    for (Member f : followers) {
      assertThat(raftLeaderGauge(f)).as("berth_raft_leader of %s", f.id()).isEqualTo(0.0);
    }

    worker.release(released.getLeaseId()); // answered: the worker holds it no more
    leader.daemon().kill();
    worker.close();
    Member next = DaemonCluster.awaitReadyLeader(followers, Duration.ofSeconds(20));
    assertThat(raftLeaderGauge(next)).as("berth_raft_leader of the new leader").isEqualTo(1.0);

    assertThat(leaseTokens(next))
        .as("the release was answered but never committed: the new leader still counts it")
        .isEqualTo(both);
    LiveSession newcomer = new LiveSession(next.channel(), "worker-new");
    AcquireResponse first = newcomer.acquireRender("https://first.example/", 0);
    assertThat(first.hasGranted()).as("no usable slot: 2 in use, 8 held back: %s", first).isFalse();

    Hello.Builder hello =
        Hello.newBuilder()
            .setWorkerId("worker-r")
            .setResumeSessionId(worker.id())
            .setHeldLeasesComplete(true)
            .addHeldLeases(
                HeldLease.newBuilder()
                    .setLeaseId(kept.getLeaseId())
                    .setFencingToken(kept.getFencingToken())
                    .setKind(kept.getKind())
                    .setHost(kept.getHost()));
    LiveSession resumed = new LiveSession(next.channel(), hello);
    assertThat(resumed.opened.join().getResumed()).isTrue();
    assertThat(resumed.opened.join().getLostLeasesList()).isEmpty();

    assertThat(leaseTokens(next))
        .as("the released lease ended by the complete declaration")
        .containsOnlyKeys(kept.getLeaseId());
    // It may wait a moment: the new leader grants once its hold-back entry is committed (the
    // journal here collects for 1 s unless a held-back grant urges it).
    AcquireResponse second = newcomer.acquireRender("https://second.example/", 5_000);
    assertThat(second.hasGranted()).as("its slot serves the next acquire: %s", second).isTrue();
    newcomer.close();
    resumed.close();
  }

  @Test
  @Timeout(240)
  void sigtermOfTheLeader_handsOff_successorServesAtOnceWithTheLeases() throws Exception {
    cluster =
        DaemonCluster.start(
            dir,
            "it",
            "--render-limit",
            "64",
            "--session.heartbeat_interval",
            "1s",
            "--session.ttl",
            "60s"); // the first leader's hold (one TTL) still runs at the handoff
    Member leader = DaemonCluster.awaitReadyLeader(cluster.members(), Duration.ofSeconds(30));
    List<Member> followers = cluster.members().stream().filter(n -> !n.equals(leader)).toList();
    for (Member f : followers) {
      DaemonCluster.awaitLeaderKnown(f, leader, Duration.ofSeconds(10));
    }
    LiveSession session = new LiveSession(leader.channel(), "worker-h");
    Map<String, Long> before = new HashMap<>();
    for (int i = 0; i < LEASES_PER_SESSION; i++) {
      AcquireResponse r = session.acquireRender("https://h-" + i + ".example/", 15_000);
      assertThat(r.hasGranted()).as("acquire %s: %s", i, r).isTrue();
      before.put(r.getGranted().getLeaseId(), r.getGranted().getFencingToken());
    }

    long stoppedAt = System.nanoTime();
    leader.daemon().stop(Duration.ofSeconds(30));
    Member next = DaemonCluster.awaitReadyLeader(followers, Duration.ofSeconds(20));
    System.out.printf(
        "handoff: %s served %d ms after SIGTERM of the leader%n",
        next.id(), (System.nanoTime() - stoppedAt) / 1_000_000);
    session.close();

    assertThat(leader.daemon().logText()).contains("handed off to");
    // Nothing of the leader's own journal is uncertain; what the first leader's hold (one TTL
    // from the cluster's start, for a predecessor it cannot rule out) keeps free is kept still.
    assertThat(next.daemon().logText())
        .doesNotContain("nothing held back (handed off)")
        .contains("keeping free the slots an earlier leader's hold keeps until");
    assertThat(leaseTokens(next)).isEqualTo(before);
    LiveSession newcomer = new LiveSession(next.channel(), "worker-after");
    AcquireResponse fresh = newcomer.acquireRender("https://after.example/", 5_000);
    assertThat(fresh.hasGranted()).as("fresh: %s", fresh).isTrue();
    long highest = before.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    assertThat(Long.compareUnsigned(fresh.getGranted().getFencingToken(), highest)).isPositive();
    newcomer.close();
  }

  /** {@code n}'s {@code berth_raft_leader}, scraped from its metrics listener. */
  private static double raftLeaderGauge(Member n) throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + n.metricsPort() + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return PrometheusText.parse(response.body()).value("berth_raft_leader");
  }

  /** The live leases {@code n} lists: id to fencing token. */
  private static Map<String, Long> leaseTokens(Member n) {
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

  /** {@code n}'s lease list once it equals {@code expected}, or the last one after {@code wait}. */
  private static Map<String, Long> awaitLeaseTokens(
      Member n, Map<String, Long> expected, Duration wait) throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    Map<String, Long> seen = leaseTokens(n);
    while (!seen.equals(expected) && System.nanoTime() < deadline) {
      Thread.sleep(50);
      seen = leaseTokens(n);
    }
    return seen;
  }

  private static ClusterNode status(Member n) {
    return DaemonCluster.status(n);
  }

  private static BrokerStatus brokerStatus(Member n) {
    return BrokerAdminGrpc.newBlockingStub(n.channel())
        .withDeadlineAfter(2, TimeUnit.SECONDS)
        .getStatus(GetStatusRequest.getDefaultInstance());
  }

  /** The RENDER leases the {@code default} job holds in {@code s}. */
  private static int renderHeldByDefault(BrokerStatus s) {
    return s.getJobsList().stream()
        .filter(j -> j.getName().equals("default"))
        .flatMap(j -> j.getKindsList().stream())
        .filter(k -> k.getKind() == ResourceKind.RESOURCE_KIND_RENDER)
        .findFirst()
        .orElseThrow()
        .getHeld();
  }

  private static ServingStatus health(Member n, String service) {
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
}
