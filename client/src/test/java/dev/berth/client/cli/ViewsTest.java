package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.ExplainStep;
import dev.berth.proto.v1.Explanation;
import dev.berth.proto.v1.HostStatus;
import dev.berth.proto.v1.JobKindStatus;
import dev.berth.proto.v1.JobStatus;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseEnd;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.PressureLevel;
import dev.berth.proto.v1.PressureStatus;
import dev.berth.proto.v1.Refusal;
import dev.berth.proto.v1.RefusalCount;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionCounts;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.Totals;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The human output, pinned: tables align, and every field an operator needs is shown. */
class ViewsTest {
  private static final long T0 = 1_767_225_600L; // 2026-01-01T00:00:00Z
  static final Instant NOW = Instant.ofEpochSecond(T0 + 3_725);

  static Timestamp at(long secondsAfterT0) {
    return Timestamp.newBuilder().setSeconds(T0 + secondsAfterT0).build();
  }

  private static com.google.protobuf.Duration seconds(long s) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(s).build();
  }

  private static String printed(Consumer<PrintStream> view) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    view.accept(out);
    return bytes.toString(StandardCharsets.UTF_8);
  }

  static final BrokerStatus STATUS =
      BrokerStatus.newBuilder()
          .setVersion("0.1.0")
          .setBrokerEpoch(3)
          .setStartedAt(at(0))
          .setUptime(seconds(3_725))
          .addPools(
              PoolStatus.newBuilder()
                  .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                  .setLimit(8)
                  .setEffectiveLimit(4)
                  .setInUse(4)
                  .setQueued(12)
                  .setEffectiveReason("degraded: score 0.62 >= 0.5"))
          .addPools(
              PoolStatus.newBuilder()
                  .setKind(ResourceKind.RESOURCE_KIND_PDF)
                  .setLimit(2)
                  .setEffectiveLimit(2)
                  .setInUse(1))
          .addPools(
              PoolStatus.newBuilder()
                  .setKind(ResourceKind.RESOURCE_KIND_WASM)
                  .setLimit(64)
                  .setEffectiveLimit(64)
                  .setInUse(10))
          .setSessions(SessionCounts.newBuilder().setLive(10).setDisconnected(1))
          .setPressure(
              PressureStatus.newBuilder()
                  .setLevel(PressureLevel.PRESSURE_LEVEL_ELEVATED)
                  .setFleetUsedMb(3_500)
                  .setFleetLimitMb(4_000)
                  .setTrigger("fleet 0.88 >= pressure_on 0.85"))
          .setDegradationScore(0.62)
          .addHotHosts(
              HostStatus.newBuilder()
                  .setHost("example.com")
                  .setRatePerSecond(1)
                  .setTokens(0.25)
                  .setRefusals(17)
                  .setReason("429 from site: halved"))
          .setTotals(
              Totals.newBuilder()
                  .setGrants(1234)
                  .addRefusals(
                      RefusalCount.newBuilder()
                          .setReason(RefusalReason.REFUSAL_REASON_RATE_LIMITED)
                          .setCount(17))
                  .addRefusals(
                      RefusalCount.newBuilder()
                          .setReason(RefusalReason.REFUSAL_REASON_EXHAUSTED)
                          .setCount(5)))
          .build();

  @Test
  void status_headerPoolsSessionsPressureHostsAndTotals() {
    String text = printed(out -> Views.status(STATUS, "127.0.0.1:7433", out));

    assertThat(text)
        .isEqualTo(
            """
            broker       127.0.0.1:7433
            version      0.1.0   epoch 3
            uptime       1h02m (since 2026-01-01T00:00:00Z)
            draining     no

            KIND    LIMIT  EFFECTIVE  IN_USE  QUEUED  REASON
            RENDER      8          4       4      12  degraded: score 0.62 >= 0.5
            PDF         2          2       1       0
            WASM       64         64      10       0

            sessions     10 live, 1 disconnected
            pressure     ELEVATED   fleet 3500 / 4000 MB   (fleet 0.88 >= pressure_on 0.85)
            degradation  0.62 (0 healthy .. 1 broken)

            HOST         RATE/S  TOKENS  REFUSALS  REASON
            example.com       1    0.25        17  429 from site: halved

            totals       1234 grants; refusals 22 (RATE_LIMITED 17, EXHAUSTED 5)
            """);
  }

  @Test
  void status_drainingAndNoHotHosts_saySo() {
    BrokerStatus status = STATUS.toBuilder().setDraining(true).clearHotHosts().build();

    String text = printed(out -> Views.status(status, "b:1", out));

    assertThat(text)
        .contains("draining     YES (new grants refused; lift with: berth drain --resume)");
    assertThat(text).contains("hot hosts    none");
  }

  /** {@link #STATUS} as b, a follower of a at 10.0.0.1:7433 two entries behind, answers it. */
  private static final BrokerStatus FOLLOWER =
      STATUS.toBuilder()
          .setFromReplica(true)
          .setCluster(
              dev.berth.proto.v1.ClusterNode.newBuilder()
                  .setNodeId("b")
                  .setRole(dev.berth.proto.v1.ClusterRole.CLUSTER_ROLE_FOLLOWER)
                  .setLeaderId("a")
                  .setLeaderApi("10.0.0.1:7433")
                  .setApplyLag(2))
          .build();

  @Test
  void status_ofAFollower_saysItIsAReplicaAndWhatOnlyTheLeaderKnows() {
    BrokerStatus follower = FOLLOWER;
    BrokerStatus leader =
        follower.toBuilder()
            .setFromReplica(false)
            .setCluster(
                follower.getCluster().toBuilder()
                    .setRole(dev.berth.proto.v1.ClusterRole.CLUSTER_ROLE_LEADER))
            .build();

    assertThat(printed(out -> Views.status(follower, "b:1", out)))
        .contains(
            "view         replica of the leader's state (leader a at 10.0.0.1:7433, 2 entries"
                + " behind); waits, pressure, degradation and hot hosts: ask the leader");
    assertThat(printed(out -> Views.status(leader, "a:1", out))).doesNotContain("view ");
    assertThat(printed(out -> Views.status(STATUS, "lone:1", out))).doesNotContain("view ");
  }

  @Test
  void status_ofALeaderAnsweringFromItsReplica_saysSo_keyedOnFromReplicaNotTheRole() {
    // a itself, leading but not yet serving.
    BrokerStatus unsettled =
        FOLLOWER.toBuilder()
            .setCluster(
                FOLLOWER.getCluster().toBuilder()
                    .setNodeId("a")
                    .setRole(dev.berth.proto.v1.ClusterRole.CLUSTER_ROLE_LEADER)
                    .setApplyLag(1))
            .build();

    String text = printed(out -> Views.status(unsettled, "a:1", out));

    // Its ? values come with the line that explains them, as on a follower.
    assertThat(text)
        .contains(
            "view         replica of the leader's state (this member leads, but its epoch is not"
                + " committed yet, 1 entry behind); waits, pressure, degradation and hot hosts:"
                + " ask again once it serves")
        .contains("RENDER      8          4       4       ?  degraded");
  }

  @Test
  void sessions_tableWithStateMemoryAndLabels() {
    List<SessionInfo> sessions =
        List.of(
            SessionInfo.newBuilder()
                .setSessionId("s1")
                .setWorkerId("crawler-17")
                .setJob("recrawl")
                .setConnected(true)
                .setLeases(3)
                .setMemoryUsedMb(900)
                .setMemoryLimitMb(4096)
                .setOpenedAt(at(0))
                .setLastHeartbeatAt(at(3_723))
                .putLabels("zone", "a")
                .putLabels("pool", "x")
                .build(),
            SessionInfo.newBuilder()
                .setSessionId("s2")
                .setWorkerId("w2")
                .setDraining(true)
                .setOpenedAt(at(60))
                .setLastHeartbeatAt(at(3_700))
                .build());

    String text = printed(out -> Views.sessions(sessions, NOW, out));

    assertThat(text)
        .isEqualTo(
            """
            SESSION  WORKER      JOB      STATE                  LEASES  MEMORY_MB  HEARTBEAT  OPENED                LABELS
            s1       crawler-17  recrawl  connected                   3   900/4096  2s ago     2026-01-01T00:00:00Z  pool=x,zone=a
            s2       w2          -        disconnected,draining       0          -  25s ago    2026-01-01T00:01:00Z  -
            2 sessions
            """);
  }

  @Test
  void sessions_fromAFollowersReplica_stateReplicated_noHeartbeat() {
    List<SessionInfo> sessions =
        List.of(
            SessionInfo.newBuilder()
                .setSessionId("s1")
                .setWorkerId("w1")
                .setLeases(2)
                .setOpenedAt(at(0))
                .build());

    String text = printed(out -> Views.sessions(sessions, NOW, out));

    assertThat(text)
        .isEqualTo(
            """
            SESSION  WORKER  JOB  STATE       LEASES  MEMORY_MB  HEARTBEAT  OPENED                LABELS
            s1       w1      -    replicated       2          -  -          2026-01-01T00:00:00Z  -
            1 session
            """);
  }

  @Test
  void leases_tableWithTargetTokenAndTimes() {
    List<LeaseInfo> leases =
        List.of(
            LeaseInfo.newBuilder()
                .setWorkerId("crawler-17")
                .setLease(
                    Lease.newBuilder()
                        .setLeaseId("l1")
                        .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                        .setSessionId("s1")
                        .setHost("example.com")
                        .setFencingToken(4_294_967_297L)
                        .setMemoryMb(512)
                        .setGrantedAt(at(3_700))
                        .setExpiresAt(at(4_000)))
                .build(),
            LeaseInfo.newBuilder()
                .setWorkerId("w2")
                .setLease(
                    Lease.newBuilder()
                        .setLeaseId("l2")
                        .setKind(ResourceKind.RESOURCE_KIND_WASM)
                        .setSessionId("s2")
                        .setModule("extract")
                        .setFencingToken(-1L)
                        .setGrantedAt(at(0))
                        .setExpiresAt(at(3_600)))
                .build());

    String text = printed(out -> Views.leases(leases, NOW, out));

    assertThat(text)
        .isEqualTo(
            """
            LEASE  KIND    TARGET       WORKER      SESSION                 TOKEN  MEMORY_MB  GRANTED    EXPIRES
            l1     RENDER  example.com  crawler-17  s1                 4294967297        512  25s ago    in 4m35s
            l2     WASM    extract      w2          s2       18446744073709551615          0  1h02m ago  overdue
            2 leases
            """);
  }

  @Test
  void emptyListings_sayNone() {
    assertThat(printed(out -> Views.sessions(List.of(), NOW, out))).isEqualTo("no sessions\n");
    assertThat(printed(out -> Views.leases(List.of(), NOW, out))).isEqualTo("no leases\n");
  }

  @Test
  void explanation_refusedNamesReasonRetryRuleAndSteps() {
    Explanation e =
        Explanation.newBuilder()
            .setWouldGrant(false)
            .setRefusal(
                Refusal.newBuilder()
                    .setReason(RefusalReason.REFUSAL_REASON_EXHAUSTED)
                    .setRetryAfter(seconds(1)))
            .setDecidedBy("pool PDF 2/2 in use, 0 queued")
            .addSteps(
                ExplainStep.newBuilder()
                    .setRule("draining")
                    .setPassed(true)
                    .setDetail("not draining"))
            .addSteps(
                ExplainStep.newBuilder()
                    .setRule("pool PDF")
                    .setPassed(false)
                    .setDetail("PDF 2/2 in use, 0 queued"))
            .build();

    String text = printed(out -> Views.explanation(e, out));

    assertThat(text)
        .isEqualTo(
            """
            would grant  no: refused EXHAUSTED, retry after 1s
            decided by   pool PDF 2/2 in use, 0 queued

            STEP      VERDICT  DETAIL
            draining  pass     not draining
            pool PDF  FAIL     PDF 2/2 in use, 0 queued
            """);
  }

  @Test
  void event_oneLineWithWhatItConcerns() {
    BrokerEvent revoked =
        BrokerEvent.newBuilder()
            .setType(BrokerEventType.BROKER_EVENT_TYPE_REVOKED)
            .setAt(Timestamp.newBuilder().setSeconds(T0).setNanos(5_000_000))
            .setSessionId("s1")
            .setLease(
                Lease.newBuilder()
                    .setLeaseId("l1")
                    .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                    .setHost("example.com")
                    .setFencingToken(7))
            .setEndedBy(LeaseEnd.LEASE_END_REVOKED)
            .setRevokeReason(dev.berth.proto.v1.RevokeReason.REVOKE_REASON_ADMIN)
            .build();

    assertThat(Views.event(revoked))
        .isEqualTo(
            "2026-01-01T00:00:00.005Z  REVOKED         session=s1 lease=l1 kind=RENDER"
                + " host=example.com token=7 ended_by=REVOKED reason=ADMIN");
  }

  @Test
  void event_refusalShowsReasonRetryAndWhy() {
    BrokerEvent refused =
        BrokerEvent.newBuilder()
            .setType(BrokerEventType.BROKER_EVENT_TYPE_REFUSED)
            .setAt(at(0))
            .setSessionId("s1")
            .setRefusal(
                Refusal.newBuilder()
                    .setReason(RefusalReason.REFUSAL_REASON_RATE_LIMITED)
                    .setRetryAfter(com.google.protobuf.Duration.newBuilder().setNanos(500_000_000))
                    .setDetail("host example.com: 2/s"))
            .setDetail("RENDER example.com")
            .build();

    assertThat(Views.event(refused))
        .isEqualTo(
            "2026-01-01T00:00:00.000Z  REFUSED         session=s1 refusal=RATE_LIMITED"
                + " retry_after=500ms detail=\"RENDER example.com\" why=\"host example.com: 2/s\"");
  }

  @Test
  void workerSetText_controlCharactersEscaped_eventStaysOneLine() {
    BrokerEvent ended =
        BrokerEvent.newBuilder()
            .setType(BrokerEventType.BROKER_EVENT_TYPE_RELEASED)
            .setAt(at(0))
            .setWorkerId("w\u001b]0;owned\u0007")
            .setDetail("error: a\nb\u202e")
            .build();
    List<SessionInfo> sessions =
        List.of(
            SessionInfo.newBuilder()
                .setSessionId("s1")
                .setWorkerId("w1")
                .setOpenedAt(at(0))
                .putLabels("zone", "\u001b[2J")
                .build());

    String line = Views.event(ended);
    String table = printed(out -> Views.sessions(sessions, NOW, out));

    assertThat(line)
        .doesNotContain("\u001b", "\n", "\u0007", "\u202e")
        .contains("worker=w\\x1b]0;owned\\x07", "detail=\"error: a\\x0ab\\u202e\"");
    assertThat(table).doesNotContain("\u001b").contains("zone=\\x1b[2J");
  }

  @Test
  void jobs_configured_rowPerJobAndKindInUseOrBounded() {
    List<JobStatus> jobs =
        List.of(
            JobStatus.newBuilder()
                .setName("default")
                .setWeight(1)
                .addKinds(JobKindStatus.newBuilder().setKind(ResourceKind.RESOURCE_KIND_RENDER))
                .build(),
            JobStatus.newBuilder()
                .setName("urgent")
                .setWeight(4)
                .setWaiting(3)
                .setRefusals(2)
                .addKinds(
                    JobKindStatus.newBuilder()
                        .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                        .setHeld(6)
                        .setWaiting(3)
                        .setMin(2)
                        .setGuaranteedMin(2)
                        .setShare(0.75)
                        .setFairShare(0.8))
                .addKinds(
                    JobKindStatus.newBuilder()
                        .setKind(ResourceKind.RESOURCE_KIND_PDF)
                        .setHeld(1)
                        .setMin(4)
                        .setGuaranteedMin(2)
                        .setShare(0.5)
                        .setFairShare(0.5))
                .build());

    String text = printed(out -> Views.jobs(jobs, false, out));

    assertThat(text)
        .isEqualTo(
            """
            JOB      WEIGHT  WAITING  REFUSALS  KIND    HELD        MIN  MAX  SHARE  FAIR
            default       1        0         0  -          0          -    -      -     -
            urgent        4        3         2  RENDER     6          2    -   0.75  0.80
            urgent        4        3         2  PDF        1  4 (2 now)    -   0.50  0.50
            """);
  }

  @Test
  void jobs_onlyAPlainDefault_printsNothing() {
    List<JobStatus> jobs =
        List.of(
            JobStatus.newBuilder()
                .setName("default")
                .setWeight(1)
                .addKinds(
                    JobKindStatus.newBuilder().setKind(ResourceKind.RESOURCE_KIND_PDF).setHeld(1))
                .build());

    assertThat(printed(out -> assertThat(Views.jobs(jobs, false, out)).isFalse())).isEmpty();
  }

  @Test
  void status_fromAFollowersReplica_jobsHeldAndShareShown_whatOnlyTheLeaderKnowsIsUnknown() {
    BrokerStatus follower =
        FOLLOWER.toBuilder()
            .addJobs(JobStatus.newBuilder().setName("default").setWeight(1))
            .addJobs(
                JobStatus.newBuilder()
                    .setName("urgent")
                    .setWeight(4)
                    .addKinds(
                        JobKindStatus.newBuilder()
                            .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                            .setHeld(3)
                            .setMin(2)
                            .setMax(6)
                            .setShare(0.75))
                    .addKinds(
                        JobKindStatus.newBuilder()
                            .setKind(ResourceKind.RESOURCE_KIND_PDF)
                            .setHeld(1)
                            .setShare(1)))
            .build();

    String text = printed(out -> Views.status(follower, "b:1", out));

    assertThat(text)
        .contains(
            """
            KIND    LIMIT  EFFECTIVE  IN_USE  QUEUED  REASON
            RENDER      8          4       4       ?  degraded: score 0.62 >= 0.5
            PDF         2          2       1       ?
            WASM       64         64      10       ?

            JOB      WEIGHT  WAITING  REFUSALS  KIND    HELD        MIN  MAX  SHARE  FAIR
            default       1        ?         ?  -          0          -    -      -     -
            urgent        4        ?         ?  RENDER     3  2 (? now)    6   0.75     ?
            urgent        4        ?         ?  PDF        1          -    -   1.00     ?
            ? the leader's only: waits, refusals, fair shares and the min that applies now; \
            HELD and SHARE are the replica's
            """);
    assertThat(
            printed(
                out ->
                    Views.status(follower.toBuilder().setFromReplica(false).build(), "b:1", out)))
        .as("the serving broker's own figures")
        .doesNotContain("?");
  }
}
