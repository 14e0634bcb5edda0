package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.ClusterRole;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.JobKindStatus;
import dev.berth.proto.v1.JobStatus;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ListLeasesResponse;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.ListSessionsResponse;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.RevokeLeaseRequest;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.ReplicaFleets;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.config.Policy;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.replication.ServingRole;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.StatusProto;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A cluster member serves workers and admin changes only while it is the ready leader: elsewhere
 * they are answered UNAVAILABLE with the NOT_LEADER ErrorInfo naming the leader, health says so,
 * and admin reads answer everywhere, saying which node answered and in what role.
 */
class LeaderGateServiceTest {
  private static final String LEADER_API = "127.0.0.1:7434";

  private final SettableRole role = new SettableRole();

  /**
   * Its replicated policy configures the crawl job {@code nightly}, with a RENDER min of 1 and max
   * of 2.
   */
  private final InProcessBroker b =
      new InProcessBroker(
          Policy.of(InProcessBroker.config().build())
              .withJobs(
                  JobsConfig.newBuilder()
                      .job("nightly")
                      .min("nightly", dev.berth.server.lease.ResourceKind.RENDER, 1)
                      .max("nightly", dev.berth.server.lease.ResourceKind.RENDER, 2)
                      .build()),
          BrokerServer.Options.DEFAULT.withRole(role));

  @AfterEach
  void close() {
    b.close();
  }

  @Test
  void acquire_onAFollower_unavailableNotLeaderWithTheLeadersAddress() {
    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> b.blocking.acquire(request("s-1", RESOURCE_KIND_RENDER).build()));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(notLeader(e).getMetadataMap()).containsEntry("leader", LEADER_API);
    assertThat(e.getStatus().getDescription()).contains("the leader is at " + LEADER_API);
  }

  @Test
  void openSession_whileNoLeaderIsKnown_notLeaderWithAnEmptyHint() {
    role.set(false, "");

    SessionRecorder s = b.openStream();
    s.send(dev.berth.proto.v1.SessionRequest.newBuilder().setHello(hello()).build());

    assertThat(s.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(notLeader(s.failure()).getMetadataMap()).containsEntry("leader", "");
  }

  @Test
  void adminChanges_onAFollower_notLeader_readsAnswerWithTheNodeThatAnswered() {
    StatusRuntimeException revoke =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> b.admin.revokeLease(RevokeLeaseRequest.newBuilder().setLeaseId("x").build()));
    StatusRuntimeException update =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> b.admin.updateLimits(UpdateLimitsRequest.getDefaultInstance()));
    StatusRuntimeException explain =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () ->
                b.admin.explain(
                    dev.berth.proto.v1.AcquireRequest.newBuilder()
                        .setSessionId("s")
                        .setKind(dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF)
                        .build()));
    StatusRuntimeException waiting =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> b.admin.listWaiting(dev.berth.proto.v1.ListWaitingRequest.getDefaultInstance()));
    BrokerStatus status = b.admin.getStatus(GetStatusRequest.getDefaultInstance());

    assertThat(notLeader(explain).getReason()).isEqualTo("NOT_LEADER");
    assertThat(notLeader(waiting).getReason()).isEqualTo("NOT_LEADER");
    assertThat(notLeader(revoke).getReason()).isEqualTo("NOT_LEADER");
    assertThat(notLeader(update).getReason()).isEqualTo("NOT_LEADER");
    assertThat(status.getCluster().getNodeId()).isEqualTo("n2");
    assertThat(status.getCluster().getRole()).isEqualTo(ClusterRole.CLUSTER_ROLE_FOLLOWER);
    assertThat(status.getCluster().getTerm()).isEqualTo(3);
    assertThat(status.getCluster().getLeaderId()).isEqualTo("n1");
    assertThat(status.getCluster().getLeaderApi()).isEqualTo(LEADER_API);
    assertThat(status.getCluster().getApplyLag()).isEqualTo(1);
    assertThat(status.getCluster().getMembersList()).hasSize(3);
    assertThat(
            b.admin
                .listSessions(ListSessionsRequest.getDefaultInstance())
                .getAnsweredBy()
                .getNodeId())
        .isEqualTo("n2");
    assertThat(b.admin.listLeases(ListLeasesRequest.getDefaultInstance()).getAnsweredBy().getRole())
        .isEqualTo(ClusterRole.CLUSTER_ROLE_FOLLOWER);
  }

  @Test
  void listSessionsAndLeases_onAFollower_answeredFromItsReplica() {
    role.replica = replicaWithOneLease(dev.berth.server.lease.ResourceKind.RENDER);

    ListSessionsResponse sessions = b.admin.listSessions(ListSessionsRequest.getDefaultInstance());
    ListLeasesResponse leases = b.admin.listLeases(ListLeasesRequest.getDefaultInstance());

    assertThat(sessions.getSessionsList()).hasSize(1);
    assertThat(sessions.getSessions(0).getSessionId()).isEqualTo("s-1");
    assertThat(sessions.getSessions(0).getLeases()).isEqualTo(1);
    assertThat(sessions.getSessions(0).hasLastHeartbeatAt()).as("only the leader knows").isFalse();
    assertThat(leases.getLeasesList()).hasSize(1);
    assertThat(leases.getLeases(0).getLease().getLeaseId()).isEqualTo("l-1");
    assertThat(leases.getLeases(0).getLease().getFencingToken()).isEqualTo(42);
    assertThat(leases.getLeases(0).getWorkerId()).isEqualTo("w-1");
    assertThat(leases.getAnsweredBy().getRole()).isEqualTo(ClusterRole.CLUSTER_ROLE_FOLLOWER);
  }

  @Test
  void listSessions_onAFollower_showsTheJobEachRunsAs_asTheLeaderDoes() {
    role.replica = ReplicaFleets.askingForJobs(System.currentTimeMillis());

    ListSessionsResponse sessions = b.admin.listSessions(ListSessionsRequest.getDefaultInstance());

    assertThat(sessions.getSessionsList())
        .extracting(SessionInfo::getJob)
        .containsExactly("nightly", "default", "default");
  }

  /** A replica with session s-1 of worker w-1, which holds lease l-1 of {@code kind}, token 42. */
  private static Fleet replicaWithOneLease(dev.berth.server.lease.ResourceKind kind) {
    long now = System.currentTimeMillis();
    return new Fleet(
        List.of(new Fleet.SessionEntry("s-1", "w-1", "p", Map.of(), 0, "p", now - 1_000)),
        List.of(lease("l-1", "s-1", kind, 42, now - 500)),
        List.of());
  }

  /** A replicated lease on example.com, granted at {@code grantedAtMs}, held for at most 60 s. */
  private static Fleet.LeaseEntry lease(
      String id,
      String sessionId,
      dev.berth.server.lease.ResourceKind kind,
      long token,
      long grantedAtMs) {
    return new Fleet.LeaseEntry(
        id,
        sessionId,
        kind,
        token,
        "example.com",
        "",
        "",
        0,
        Fleet.Asked.NONE,
        grantedAtMs,
        60_000);
  }

  @Test
  void getStatus_onAFollower_eachJobHoldsTheReplicasLeasesOfItsSessions_leaderOnlyFiguresUnset() {
    long now = System.currentTimeMillis();
    // s-1 runs as nightly; s-2 (asked for adhoc, not configured) and s-3 as default.
    Fleet sessions = ReplicaFleets.askingForJobs(now);
    role.replica =
        new Fleet(
            sessions.sessions(),
            List.of(
                lease("l-1", "s-1", dev.berth.server.lease.ResourceKind.RENDER, 42, now),
                lease("l-2", "s-2", dev.berth.server.lease.ResourceKind.RENDER, 43, now),
                lease("l-3", "s-3", dev.berth.server.lease.ResourceKind.PDF, 44, now)),
            List.of());

    BrokerStatus status = b.admin.getStatus(GetStatusRequest.getDefaultInstance());

    assertThat(status.getFromReplica()).isTrue();
    assertThat(status.getBrokerEpoch())
        .as("the cluster's epoch, which the replica's tokens carry, not the idle broker's")
        .isEqualTo(status.getCluster().getEpoch())
        .isEqualTo(7);
    assertThat(status.getJobsList())
        .extracting(JobStatus::getName)
        .containsExactly("nightly", "default");
    JobStatus nightly = status.getJobs(0);
    assertThat(kind(nightly, RESOURCE_KIND_RENDER))
        .isEqualTo(
            JobKindStatus.newBuilder()
                .setKind(RESOURCE_KIND_RENDER)
                .setHeld(1)
                .setMin(1)
                .setGuaranteedMin(1)
                .setMax(2)
                .setShare(0.5)
                .build());
    JobStatus plain = status.getJobs(1);
    assertThat(kind(plain, RESOURCE_KIND_RENDER).getHeld()).isEqualTo(1);
    assertThat(kind(plain, ResourceKind.RESOURCE_KIND_PDF).getHeld()).isEqualTo(1);
    assertThat(kind(plain, ResourceKind.RESOURCE_KIND_PDF).getShare()).isEqualTo(1.0);

    role.set(true, "");
    assertThat(b.admin.getStatus(GetStatusRequest.getDefaultInstance()).getFromReplica())
        .as("the leader's own figures")
        .isFalse();
  }

  private static JobKindStatus kind(JobStatus job, ResourceKind kind) {
    return job.getKindsList().stream().filter(k -> k.getKind() == kind).findFirst().orElseThrow();
  }

  @Test
  void getStatus_onAFollower_countsThePoolsAndSessionsOfItsReplica() {
    role.replica = replicaWithOneLease(dev.berth.server.lease.ResourceKind.PDF);

    BrokerStatus status = b.admin.getStatus(GetStatusRequest.getDefaultInstance());

    assertThat(status.getPoolsList())
        .filteredOn(p -> p.getKind() == ResourceKind.RESOURCE_KIND_PDF)
        .singleElement()
        .satisfies(p -> assertThat(p.getInUse()).isEqualTo(1));
    assertThat(status.getPoolsList())
        .filteredOn(p -> p.getKind() == ResourceKind.RESOURCE_KIND_RENDER)
        .singleElement()
        .satisfies(p -> assertThat(p.getInUse()).isZero());
    assertThat(status.getCluster().getRole()).isEqualTo(ClusterRole.CLUSTER_ROLE_FOLLOWER);
  }

  @Test
  void health_leaseBrokerServingOnlyOnTheReadyLeader_processServingAlways() {
    assertThat(health("berth.v1.LeaseBroker")).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health("")).isEqualTo(ServingStatus.SERVING);
    assertThat(health("berth.v1.BrokerAdmin")).isEqualTo(ServingStatus.SERVING);

    role.set(true, "127.0.0.1:7433");

    assertThat(health("berth.v1.LeaseBroker")).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void sessionStream_whenTheNodeStopsLeading_closedNotLeaderAndItsLeasesEnd() {
    role.set(true, "127.0.0.1:7433");
    SessionRecorder s = b.openSession("worker-1");
    AcquireResponse granted =
        b.blocking.acquire(request(s.sessionId(), RESOURCE_KIND_RENDER).build());
    assertThat(granted.hasGranted()).isTrue();

    role.set(false, LEADER_API);
    b.broker.stepDown();

    assertThat(s.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(notLeader(s.failure()).getMetadataMap()).containsEntry("leader", LEADER_API);
    assertThat(b.broker.status().pools().get(0).inUse()).isZero();
  }

  @Test
  void acquire_letThroughThenTheNodeStopsLeading_unavailableNotLeader_notTheEndedSession() {
    role.set(true, "127.0.0.1:7433");
    SessionRecorder s = b.openSession("worker-1");
    // The gate lets the acquire through while the node serves; the node stops leading (its
    // broker ends every session) before the broker sees the call.
    b.broker.stepDown();
    role.stopServingAfterTheNextCheck(LEADER_API);

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> b.blocking.acquire(request(s.sessionId(), RESOURCE_KIND_RENDER).build()));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(notLeader(e).getMetadataMap()).containsEntry("leader", LEADER_API);
  }

  @Test
  void getStatus_ofALoneBroker_hasNoClusterPart() {
    try (InProcessBroker alone = new InProcessBroker()) {
      assertThat(alone.admin.getStatus(GetStatusRequest.getDefaultInstance()).hasCluster())
          .isFalse();
    }
  }

  private ServingStatus health(String service) {
    return HealthGrpc.newBlockingStub(b.channel)
        .check(HealthCheckRequest.newBuilder().setService(service).build())
        .getStatus();
  }

  private static dev.berth.proto.v1.Hello.Builder hello() {
    return dev.berth.proto.v1.Hello.newBuilder().setWorkerId("worker-1");
  }

  static ErrorInfo notLeader(Throwable t) {
    com.google.rpc.Status status = StatusProto.fromThrowable(t);
    assertThat(status).as("rich status of %s", t).isNotNull();
    for (Any detail : status.getDetailsList()) {
      if (detail.is(ErrorInfo.class)) {
        try {
          ErrorInfo info = detail.unpack(ErrorInfo.class);
          assertThat(info.getReason()).isEqualTo("NOT_LEADER");
          assertThat(info.getDomain()).isEqualTo("berth.dev");
          return info;
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new AssertionError(e);
        }
      }
    }
    throw new AssertionError("no ErrorInfo in " + status);
  }

  /** A role a test sets: a follower of n1 until told otherwise. */
  private static final class SettableRole implements ServingRole {
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean serving;
    private volatile String leaderApi = LEADER_API;
    private volatile Fleet replica = Fleet.EMPTY;

    @Override
    public Optional<Fleet> replicaWhileNotServing() {
      return serving ? Optional.empty() : Optional.of(replica);
    }

    void set(boolean serving, String leaderApi) {
      this.serving = serving;
      this.leaderApi = leaderApi;
      listeners.forEach(Runnable::run);
    }

    private volatile String stopAfterNextCheck;

    /** The next {@link #serving()} still says yes; then the node follows {@code leaderApi}. */
    void stopServingAfterTheNextCheck(String leaderApi) {
      stopAfterNextCheck = leaderApi;
    }

    @Override
    public boolean serving() {
      boolean now = serving;
      String next = stopAfterNextCheck;
      if (next != null) {
        stopAfterNextCheck = null;
        set(false, next);
      }
      return now;
    }

    @Override
    public String leaderApi() {
      return leaderApi;
    }

    @Override
    public Optional<ClusterStatus> cluster() {
      return Optional.of(
          new ClusterStatus(
              "n2",
              serving
                  ? dev.berth.server.cluster.ClusterRole.LEADER
                  : dev.berth.server.cluster.ClusterRole.FOLLOWER,
              3,
              serving ? "n2" : "n1",
              leaderApi,
              7,
              serving,
              10,
              9,
              serving ? 2 : 0,
              List.of(
                  new ClusterStatus.Member("n1", LEADER_API, 10, -1),
                  new ClusterStatus.Member("n2", "127.0.0.1:7433", 10, 1),
                  new ClusterStatus.Member("n3", "127.0.0.1:7435", -1, -1))));
    }

    @Override
    public void onChange(Runnable listener) {
      listeners.add(listener);
    }
  }
}
