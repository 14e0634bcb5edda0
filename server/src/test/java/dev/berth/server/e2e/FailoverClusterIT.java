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
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.DaemonCluster;
import dev.berth.testkit.DaemonCluster.Member;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.StatusProto;
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
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real daemons on loopback form a cluster: one leads and serves, the others send workers to
 * it (NOT_LEADER with its address); SIGKILL of the leader makes another member lead, and the 50
 * leases held (across five sessions, over the raw stubs) are kept with the same ids and tokens when
 * their workers resume their sessions on the new leader. Run by {@code bin/test} in the cluster
 * group of integration tests ({@code -Pcluster-its}), not by a plain {@code mvn verify}.
 */
class FailoverClusterIT {
  private static final int SESSIONS = 5;
  private static final int LEASES_PER_SESSION = 10;

  @TempDir Path dir;

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
            "5s");
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

    // 50 leases across five sessions (the first wait out the new leader's recovery window).
    Map<String, List<Lease>> held = new HashMap<>();
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
    }
    long oldTerm = status(leader).getTerm();

    long killedAt = System.nanoTime();
    leader.daemon().kill();
    Member next = DaemonCluster.awaitReadyLeader(followers, Duration.ofSeconds(20));
    long failoverMillis = (System.nanoTime() - killedAt) / 1_000_000;
    System.out.printf(
        "failover: a new leader (%s) served %d ms after SIGKILL%n", next.id(), failoverMillis);
    assertThat(failoverMillis).as("failover time").isLessThan(5_000);
    assertThat(status(next).getTerm()).isGreaterThan(oldTerm);
    sessions.forEach(LiveSession::close);

    // Each worker resumes its session on the new leader, declaring what it holds.
    List<LiveSession> resumed = new ArrayList<>();
    for (Map.Entry<String, List<Lease>> e : held.entrySet()) {
      Hello.Builder hello = Hello.newBuilder().setWorkerId("w").setResumeSessionId(e.getKey());
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
    Map<String, Long> before = new HashMap<>();
    held.values().forEach(ls -> ls.forEach(l -> before.put(l.getLeaseId(), l.getFencingToken())));
    Map<String, Long> after = new HashMap<>();
    for (LeaseInfo info :
        BrokerAdminGrpc.newBlockingStub(next.channel())
            .listLeases(ListLeasesRequest.newBuilder().setPageSize(1000).build())
            .getLeasesList()) {
      after.put(info.getLease().getLeaseId(), info.getLease().getFencingToken());
    }
    assertThat(after).hasSize(SESSIONS * LEASES_PER_SESSION).isEqualTo(before);

    // New grants come after the recovery window, above every token of the old leader.
    AcquireResponse fresh = resumed.get(0).acquireRender("https://fresh.example/", 15_000);
    long highest = before.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    assertThat(Long.compareUnsigned(fresh.getGranted().getFencingToken(), highest)).isPositive();
    resumed.forEach(LiveSession::close);
  }

  private static ClusterNode status(Member n) {
    return DaemonCluster.status(n);
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
