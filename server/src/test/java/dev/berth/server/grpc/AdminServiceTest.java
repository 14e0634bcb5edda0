package dev.berth.server.grpc;

import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_EXPIRED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_GRANTED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_LIMITS_UPDATED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_REFUSED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_RELEASED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_REVOKED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_SESSION_CLOSED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_SESSION_EXPIRED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_SESSION_OPENED;
import static dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_SESSION_RESUMED;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_WASM;
import static dev.berth.server.grpc.InProcessBroker.answered;
import static dev.berth.server.grpc.InProcessBroker.between;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.java;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.DrainBrokerRequest;
import dev.berth.proto.v1.DrainBrokerResponse;
import dev.berth.proto.v1.DrainSessionRequest;
import dev.berth.proto.v1.DrainSessionResponse;
import dev.berth.proto.v1.ExplainStep;
import dev.berth.proto.v1.Explanation;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.HostRate;
import dev.berth.proto.v1.HostStatus;
import dev.berth.proto.v1.JobKindLimit;
import dev.berth.proto.v1.JobLimits;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseEnd;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ListLeasesResponse;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.ListSessionsResponse;
import dev.berth.proto.v1.ListWaitingRequest;
import dev.berth.proto.v1.ListWaitingResponse;
import dev.berth.proto.v1.PoolLimit;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.PressureThresholds;
import dev.berth.proto.v1.RefusalCount;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.Revoke;
import dev.berth.proto.v1.RevokeLeaseRequest;
import dev.berth.proto.v1.RevokeLeaseResponse;
import dev.berth.proto.v1.RevokeReason;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.proto.v1.UpdateLimitsResponse;
import dev.berth.proto.v1.WaitingItem;
import dev.berth.proto.v1.WaitingRequest;
import dev.berth.proto.v1.WatchEventsRequest;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code BrokerAdmin} over the in-process transport: every RPC's answers and errors, paging,
 * filters, live limit changes, and the event stream with its flow control.
 */
class AdminServiceTest {
  private InProcessBroker b;
  private BrokerAdminGrpc.BrokerAdminBlockingStub admin;
  private BrokerAdminGrpc.BrokerAdminStub adminAsync;
  private SessionRecorder worker;
  private String session;

  @BeforeEach
  void setUp() {
    start(InProcessBroker.config().build());
  }

  private void start(BrokerConfig config) {
    if (b != null) {
      b.close();
    }
    b = new InProcessBroker(config);
    admin = BrokerAdminGrpc.newBlockingStub(b.channel);
    adminAsync = BrokerAdminGrpc.newStub(b.channel);
    worker = b.openSession("worker-1");
    session = worker.sessionId();
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  // ------------------------------------------------------------ helpers

  private BrokerStatus status() {
    return admin.getStatus(GetStatusRequest.getDefaultInstance());
  }

  private static PoolStatus pool(BrokerStatus status, ResourceKind kind) {
    return status.getPoolsList().stream()
        .filter(p -> p.getKind() == kind)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no pool " + kind + " in " + status));
  }

  private static long refusals(BrokerStatus status, RefusalReason reason) {
    return status.getTotals().getRefusalsList().stream()
        .filter(r -> r.getReason() == reason)
        .mapToLong(RefusalCount::getCount)
        .sum();
  }

  private Lease render(String sessionId, String url) {
    AcquireResponse response = b.acquire(request(sessionId, RESOURCE_KIND_RENDER).setUrl(url));
    assertThat(response.hasGranted()).as("granted: %s", response).isTrue();
    return response.getGranted();
  }

  private void fillPdfPool() {
    for (int i = 0; i < b.broker.config().limit(dev.berth.server.lease.ResourceKind.PDF); i++) {
      b.grant(session, RESOURCE_KIND_PDF);
    }
  }

  private ListenableFuture<AcquireResponse> acquireWaiting(String sessionId, ResourceKind kind) {
    return b.future.acquire(
        request(sessionId, kind).setWait(proto(Duration.ofSeconds(10))).build());
  }

  private RevokeLeaseResponse revoke(String leaseId) {
    return admin.revokeLease(
        RevokeLeaseRequest.newBuilder()
            .setLeaseId(leaseId)
            .setReason(RevokeReason.REVOKE_REASON_ADMIN)
            .build());
  }

  private static String token(String key) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }

  private Explanation explain(AcquireRequest.Builder request) {
    return admin.explain(request.build());
  }

  private UpdateLimitsResponse updateJob(JobLimits.Builder job) {
    return admin.updateLimits(UpdateLimitsRequest.newBuilder().addJobs(job).build());
  }

  private UpdateLimitsResponse updatePool(ResourceKind kind, int limit) {
    return admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addPools(PoolLimit.newBuilder().setKind(kind).setLimit(limit))
            .build());
  }

  // ------------------------------------------------------------ invalid requests

  /**
   * A request the admin service must refuse INVALID_ARGUMENT.
   *
   * @param name the case, as the test report shows it
   * @param call prepares the broker (e.g. grants a lease into {@link #held}) and returns the call
   * @param field the field the description must start with, e.g. {@code page_size:}
   * @param mentions what else the description must contain, e.g. the value sent
   * @param unchanged checks, after the refusal, that nothing was applied
   */
  record Invalid(
      String name,
      Function<AdminServiceTest, ThrowingCallable> call,
      String field,
      List<String> mentions,
      Consumer<AdminServiceTest> unchanged) {
    static Invalid of(
        String name, String field, Function<AdminServiceTest, ThrowingCallable> call) {
      return new Invalid(name, call, field, List.of(), t -> {});
    }

    Invalid mentioning(String... texts) {
      return new Invalid(name, call, field, List.of(texts), unchanged);
    }

    Invalid andThen(Consumer<AdminServiceTest> check) {
      return new Invalid(name, call, field, mentions, check);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** A lease a case granted before its call, for its {@code unchanged} check. */
  private Lease held;

  private Lease holdPdf() {
    held = b.grant(session, RESOURCE_KIND_PDF);
    return held;
  }

  private static com.google.protobuf.Duration seconds(long seconds) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(seconds).build();
  }

  static Stream<Invalid> invalidRequests() {
    return Stream.of(
        Invalid.of(
                "listSessions: page size too large",
                "page_size:",
                t ->
                    () ->
                        t.admin.listSessions(
                            ListSessionsRequest.newBuilder().setPageSize(1001).build()))
            .mentioning("1001"),
        Invalid.of(
                "listSessions: huge unsigned page size, the error shows the value sent",
                "page_size:",
                t ->
                    () ->
                        t.admin.listSessions(
                            ListSessionsRequest.newBuilder().setPageSize(-1).build()))
            .mentioning("4294967295"),
        Invalid.of(
            "listSessions: malformed page token",
            "page_token:",
            t ->
                () ->
                    t.admin.listSessions(
                        ListSessionsRequest.newBuilder().setPageToken("not a token!").build())),
        Invalid.of(
            "listSessions: malformed worker id",
            "worker_id:",
            t ->
                () ->
                    t.admin.listSessions(
                        ListSessionsRequest.newBuilder().setWorkerId("has space").build())),
        Invalid.of(
            "listLeases: a token that is no number",
            "page_token:",
            t ->
                () ->
                    t.admin.listLeases(
                        ListLeasesRequest.newBuilder().setPageToken(token("abc")).build())),
        Invalid.of(
            "listLeases: a token that is not base64",
            "page_token:",
            t ->
                () ->
                    t.admin.listLeases(ListLeasesRequest.newBuilder().setPageToken("%%%").build())),
        Invalid.of(
            "listLeases: page size too large",
            "page_size:",
            t ->
                () -> t.admin.listLeases(ListLeasesRequest.newBuilder().setPageSize(5000).build())),
        Invalid.of(
            "listLeases: unknown kind",
            "kind:",
            t -> () -> t.admin.listLeases(ListLeasesRequest.newBuilder().setKindValue(99).build())),
        Invalid.of(
            "listWaiting: limit too large",
            "limit:",
            t -> () -> t.admin.listWaiting(ListWaitingRequest.newBuilder().setLimit(5000).build())),
        Invalid.of(
            "listWaiting: unknown kind",
            "kind:",
            t ->
                () ->
                    t.admin.listWaiting(ListWaitingRequest.newBuilder().setKindValue(99).build())),
        Invalid.of(
            "listWaiting: a host that is no host name",
            "host:",
            t -> () -> t.admin.listWaiting(ListWaitingRequest.newBuilder().setHost("a b").build())),
        Invalid.of("revokeLease: missing lease id", "lease_id:", t -> () -> t.revoke("")),
        Invalid.of(
                "revokeLease: unspecified reason; the lease is kept",
                "reason:",
                t -> {
                  Lease lease = t.holdPdf();
                  return () ->
                      t.admin.revokeLease(
                          RevokeLeaseRequest.newBuilder().setLeaseId(lease.getLeaseId()).build());
                })
            .andThen(
                t -> {
                  assertThat(t.leaseIds(ListLeasesRequest.newBuilder()))
                      .containsExactly(t.held.getLeaseId());
                  assertThat(t.worker.pendingEvents()).isZero();
                }),
        Invalid.of(
                "revokeLease: negative grace; the lease is kept",
                "grace:",
                t -> {
                  Lease lease = t.holdPdf();
                  return () ->
                      t.admin.revokeLease(
                          RevokeLeaseRequest.newBuilder()
                              .setLeaseId(lease.getLeaseId())
                              .setReason(RevokeReason.REVOKE_REASON_ADMIN)
                              .setGrace(seconds(-1))
                              .build());
                })
            .andThen(
                t ->
                    assertThat(t.leaseIds(ListLeasesRequest.newBuilder()))
                        .containsExactly(t.held.getLeaseId())),
        Invalid.of(
            "drainSession: missing session id",
            "session_id:",
            t -> () -> t.admin.drainSession(DrainSessionRequest.getDefaultInstance())),
        Invalid.of(
                "drainSession: negative deadline; nothing drained",
                "deadline:",
                t ->
                    () ->
                        t.admin.drainSession(
                            DrainSessionRequest.newBuilder()
                                .setSessionId(t.session)
                                .setDeadline(seconds(-5))
                                .build()))
            .andThen(
                t ->
                    assertThat(t.b.acquire(request(t.session, RESOURCE_KIND_PDF)).hasGranted())
                        .isTrue()),
        Invalid.of(
                "drainBroker: negative deadline; not draining",
                "deadline:",
                t ->
                    () ->
                        t.admin.drainBroker(
                            DrainBrokerRequest.newBuilder()
                                .setDeadline(com.google.protobuf.Duration.newBuilder().setNanos(-1))
                                .build()))
            .andThen(t -> assertThat(t.status().getDraining()).isFalse()),
        Invalid.of(
                "drainSession: deadline beyond a day; nothing drained",
                "deadline: must be at most 24h, got 1d1s",
                t ->
                    () ->
                        t.admin.drainSession(
                            DrainSessionRequest.newBuilder()
                                .setSessionId(t.session)
                                .setDeadline(seconds(86_401))
                                .build()))
            .andThen(
                t ->
                    assertThat(t.b.acquire(request(t.session, RESOURCE_KIND_PDF)).hasGranted())
                        .isTrue()),
        Invalid.of(
                "drainBroker: deadline beyond a day; not draining",
                "deadline: must be at most 24h",
                t ->
                    () ->
                        t.admin.drainBroker(
                            DrainBrokerRequest.newBuilder()
                                .setDeadline(seconds(3_000_000L * 86_400))
                                .build()))
            .andThen(t -> assertThat(t.status().getDraining()).isFalse()),
        Invalid.of(
            "explain: RENDER without a URL",
            "url:",
            t -> () -> t.explain(request(t.session, RESOURCE_KIND_RENDER).clearUrl())),
        Invalid.of(
            "explain: unspecified kind",
            "kind:",
            t -> () -> t.explain(AcquireRequest.newBuilder().setSessionId(t.session))),
        Invalid.of(
                "updateLimits: a pool limit out of range; nothing applied",
                "pools.pdf.limit:",
                t ->
                    () ->
                        t.admin.updateLimits(
                            UpdateLimitsRequest.newBuilder()
                                .addPools(
                                    PoolLimit.newBuilder()
                                        .setKind(RESOURCE_KIND_RENDER)
                                        .setLimit(16))
                                .addPools(
                                    PoolLimit.newBuilder()
                                        .setKind(RESOURCE_KIND_PDF)
                                        .setLimit(2_000_000))
                                .build()))
            .mentioning("2000000")
            .andThen(
                t -> {
                  assertThat(pool(t.status(), RESOURCE_KIND_RENDER).getLimit()).isEqualTo(8);
                  assertThat(pool(t.status(), RESOURCE_KIND_PDF).getLimit()).isEqualTo(2);
                }),
        Invalid.of(
                "updateLimits: huge unsigned pool limit, the error shows the value sent",
                "pools.pdf.limit:",
                t -> () -> t.updatePool(RESOURCE_KIND_PDF, -1))
            .mentioning("4294967295"),
        Invalid.of(
            "updateLimits: unspecified kind",
            "pools.kind:",
            t -> () -> t.updatePool(ResourceKind.RESOURCE_KIND_UNSPECIFIED, 4)),
        Invalid.of(
                "updateLimits: a zero host rate names the host's key; nothing applied",
                "rate_limit.hosts['example.com']",
                t ->
                    () ->
                        t.admin.updateLimits(
                            UpdateLimitsRequest.newBuilder()
                                .addHostRates(HostRate.newBuilder().setPattern("example.com"))
                                .build()))
            .andThen(t -> assertThat(t.b.broker.policy().rateLimit().hosts()).isEmpty()),
        Invalid.of(
                "updateLimits: a burst beyond an int (a uint32 on the wire) is refused, not the"
                    + " default; nothing applied",
                "rate_limit.hosts['example.com'].burst: must be 1..1000000, got 3000000000",
                t ->
                    () ->
                        t.admin.updateLimits(
                            UpdateLimitsRequest.newBuilder()
                                .addHostRates(
                                    HostRate.newBuilder()
                                        .setPattern("example.com")
                                        .setRatePerSecond(5)
                                        .setBurst((int) 3_000_000_000L))
                                .build()))
            .andThen(t -> assertThat(t.b.broker.policy().rateLimit().hosts()).isEmpty()),
        Invalid.of(
                "updateLimits: a job's weight beyond an int shows the value sent",
                "jobs.urgent.weight: must be 1..",
                t ->
                    () ->
                        t.updateJob(
                            JobLimits.newBuilder()
                                .setName("urgent")
                                .setWeight((int) 4_000_000_000L)))
            .mentioning("got 4000000000")
            .andThen(
                t -> assertThat(t.b.broker.policy().jobs().jobs()).doesNotContainKey("urgent")),
        Invalid.of(
                "updateLimits: a job's max beyond an int shows the value sent",
                "jobs.urgent.max.pdf: must be 0 (none)..1000000, got 4294967295",
                t ->
                    () ->
                        t.updateJob(
                            JobLimits.newBuilder()
                                .setName("urgent")
                                .addKinds(
                                    JobKindLimit.newBuilder()
                                        .setKind(RESOURCE_KIND_PDF)
                                        .setMax(-1))))
            .andThen(
                t -> assertThat(t.b.broker.policy().jobs().jobs()).doesNotContainKey("urgent")),
        Invalid.of(
                "revokeLease: grace over a day; the lease is kept",
                "grace: must be at most 1d, got 115740d17h46m40s",
                t -> {
                  Lease lease = t.holdPdf();
                  return () ->
                      t.admin.revokeLease(
                          RevokeLeaseRequest.newBuilder()
                              .setLeaseId(lease.getLeaseId())
                              .setReason(RevokeReason.REVOKE_REASON_ADMIN)
                              .setGrace(seconds(10_000_000_000L))
                              .build());
                })
            .andThen(
                t ->
                    assertThat(t.leaseIds(ListLeasesRequest.newBuilder()))
                        .containsExactly(t.held.getLeaseId())),
        Invalid.of(
            "updateLimits: a bad host pattern",
            "rate_limit.hosts['exa mple.com']",
            t ->
                () ->
                    t.admin.updateLimits(
                        UpdateLimitsRequest.newBuilder()
                            .addHostRates(
                                HostRate.newBuilder()
                                    .setPattern("exa mple.com")
                                    .setRatePerSecond(1))
                            .build())),
        Invalid.of(
                "updateLimits: pressure off not below on; nothing applied",
                "memory.pressure_off:",
                t ->
                    () ->
                        t.admin.updateLimits(
                            UpdateLimitsRequest.newBuilder()
                                .setPressure(PressureThresholds.newBuilder().setOn(0.7).setOff(0.8))
                                .build()))
            .andThen(t -> assertThat(t.b.broker.policy().memory().pressureOn()).isEqualTo(0.85)),
        Invalid.of(
            "updateLimits: pressure on above one",
            "memory.pressure_on:",
            t ->
                () ->
                    t.admin.updateLimits(
                        UpdateLimitsRequest.newBuilder()
                            .setPressure(PressureThresholds.newBuilder().setOn(1.5).setOff(0.8))
                            .build())),
        // The request sets on, not critical: the error named memory.critical, which it left alone.
        Invalid.of(
                "updateLimits: pressure on above the critical ratio; nothing applied",
                "memory.pressure_on: must be at most memory.critical (0.95)",
                t ->
                    () ->
                        t.admin.updateLimits(
                            UpdateLimitsRequest.newBuilder()
                                .setPressure(
                                    PressureThresholds.newBuilder().setOn(0.97).setOff(0.8))
                                .build()))
            .mentioning("got 0.97")
            .andThen(t -> assertThat(t.b.broker.policy().memory().pressureOn()).isEqualTo(0.85)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidRequests")
  void invalidRequest_invalidArgumentNamingTheField_andNothingApplied(Invalid invalid) {
    Status status = failure(Status.Code.INVALID_ARGUMENT, invalid.call().apply(this));

    assertThat(status.getDescription()).startsWith(invalid.field());
    for (String text : invalid.mentions()) {
      assertThat(status.getDescription()).contains(text);
    }
    invalid.unchanged().accept(this);
  }

  // ------------------------------------------------------------ GetStatus

  @Test
  void getStatus_freshBroker_versionEpochDefaultPoolsAndZeroTotals() {
    b.time.advance(Duration.ofSeconds(12)); // within the session TTL

    BrokerStatus status = status();

    assertThat(status.getVersion()).isNotEmpty();
    assertThat(status.getBrokerEpoch()).isEqualTo(1);
    assertThat(java(status.getUptime())).isEqualTo(Duration.ofSeconds(12));
    assertThat(status.getDraining()).isFalse();
    assertThat(status.getPoolsList())
        .extracting(PoolStatus::getKind)
        .containsExactly(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF, RESOURCE_KIND_WASM);
    assertThat(pool(status, RESOURCE_KIND_RENDER).getLimit()).isEqualTo(8);
    assertThat(pool(status, RESOURCE_KIND_PDF).getLimit()).isEqualTo(2);
    assertThat(pool(status, RESOURCE_KIND_PDF).getEffectiveLimit()).isEqualTo(2);
    assertThat(pool(status, RESOURCE_KIND_PDF).getEffectiveReason()).isEmpty();
    assertThat(status.getSessions().getLive()).isEqualTo(1);
    assertThat(status.getSessions().getDisconnected()).isZero();
    assertThat(status.getTotals().getGrants()).isZero();
    assertThat(status.getTotals().getRefusalsList())
        .extracting(RefusalCount::getReason)
        .contains(
            RefusalReason.REFUSAL_REASON_RATE_LIMITED,
            RefusalReason.REFUSAL_REASON_EXHAUSTED,
            RefusalReason.REFUSAL_REASON_MEMORY_PRESSURE,
            RefusalReason.REFUSAL_REASON_TIMEOUT,
            RefusalReason.REFUSAL_REASON_DRAINING);
    assertThat(status.getPressure().getLevel())
        .isEqualTo(dev.berth.proto.v1.PressureLevel.PRESSURE_LEVEL_NONE);
    assertThat(status.getDegradationScore()).isZero();
  }

  @Test
  void getStatus_afterActivity_countsInUseQueuedSessionsGrantsAndRefusals() {
    fillPdfPool();
    b.acquire(request(session, RESOURCE_KIND_PDF)); // refused EXHAUSTED
    ListenableFuture<AcquireResponse> waiting = acquireWaiting(session, RESOURCE_KIND_PDF);
    render(session, "https://hot.example.org/a");
    SessionRecorder dropped = b.openSession("worker-2");
    dropped.cancel();

    BrokerStatus status = status();

    assertThat(waiting.isDone()).isFalse();
    assertThat(pool(status, RESOURCE_KIND_PDF).getInUse()).isEqualTo(2);
    assertThat(pool(status, RESOURCE_KIND_PDF).getQueued()).isEqualTo(1);
    assertThat(pool(status, RESOURCE_KIND_RENDER).getInUse()).isEqualTo(1);
    assertThat(status.getSessions().getLive()).isEqualTo(1);
    assertThat(status.getSessions().getDisconnected()).isEqualTo(1);
    assertThat(status.getTotals().getGrants()).isEqualTo(3);
    assertThat(refusals(status, RefusalReason.REFUSAL_REASON_EXHAUSTED)).isEqualTo(1);
    assertThat(status.getHotHostsList())
        .extracting(HostStatus::getHost)
        .contains("hot.example.org");
  }

  // ------------------------------------------------------------ ListSessions

  @Test
  void listSessions_all_showsWorkerLabelsConnectionMemoryAndLeases() {
    SessionRecorder labelled = b.openStream();
    labelled.hello(Hello.newBuilder().setWorkerId("worker-2").putLabels("zone", "a"));
    labelled.send(
        SessionRequest.newBuilder()
            .setHeartbeat(
                Heartbeat.newBuilder().setSeq(1).setMemoryUsedMb(900).setMemoryLimitMb(4096))
            .build());
    b.grant(labelled.sessionId(), RESOURCE_KIND_PDF);
    b.grant(labelled.sessionId(), RESOURCE_KIND_WASM);

    ListSessionsResponse response = admin.listSessions(ListSessionsRequest.getDefaultInstance());

    assertThat(response.getSessionsList())
        .extracting(SessionInfo::getSessionId)
        .containsExactlyInAnyOrder(session, labelled.sessionId());
    SessionInfo info =
        response.getSessionsList().stream()
            .filter(s -> s.getSessionId().equals(labelled.sessionId()))
            .findFirst()
            .orElseThrow();
    assertThat(info.getWorkerId()).isEqualTo("worker-2");
    assertThat(info.getLabelsMap()).containsEntry("zone", "a");
    assertThat(info.getConnected()).isTrue();
    assertThat(info.getDraining()).isFalse();
    assertThat(info.getMemoryUsedMb()).isEqualTo(900);
    assertThat(info.getMemoryLimitMb()).isEqualTo(4096);
    assertThat(info.getLeases()).isEqualTo(2);
    assertThat(response.getNextPageToken()).isEmpty();
  }

  @Test
  void listSessions_droppedStream_listedAsDisconnected() {
    SessionRecorder dropped = b.openSession("worker-2");
    dropped.cancel();

    ListSessionsResponse response =
        admin.listSessions(ListSessionsRequest.newBuilder().setWorkerId("worker-2").build());

    assertThat(response.getSessionsList()).hasSize(1);
    assertThat(response.getSessions(0).getConnected()).isFalse();
  }

  @Test
  void listSessions_byWorker_onlyThatWorkersSessions() {
    String a = b.openSession("crawler-a").sessionId();
    String a2 = b.openSession("crawler-a").sessionId();
    b.openSession("crawler-b");

    ListSessionsResponse response =
        admin.listSessions(ListSessionsRequest.newBuilder().setWorkerId("crawler-a").build());

    assertThat(response.getSessionsList())
        .extracting(SessionInfo::getSessionId)
        .containsExactlyInAnyOrder(a, a2);
  }

  @Test
  void listSessions_pagedAcrossPages_everySessionOnceInIdOrder() {
    Set<String> all = new HashSet<>(List.of(session));
    for (int i = 0; i < 7; i++) {
      all.add(b.openSession("worker-p" + i).sessionId());
    }

    List<String> seen = new ArrayList<>();
    List<Integer> pageSizes = new ArrayList<>();
    String token = "";
    do {
      ListSessionsResponse page =
          admin.listSessions(
              ListSessionsRequest.newBuilder().setPageSize(3).setPageToken(token).build());
      pageSizes.add(page.getSessionsCount());
      page.getSessionsList().forEach(s -> seen.add(s.getSessionId()));
      token = page.getNextPageToken();
    } while (!token.isEmpty());

    assertThat(pageSizes).containsExactly(3, 3, 2);
    assertThat(seen).doesNotHaveDuplicates().isSorted();
    assertThat(new HashSet<>(seen)).isEqualTo(all);
  }

  @Test
  void listSessions_exactlyOnePage_noNextToken() {
    b.openSession("worker-2");

    ListSessionsResponse page =
        admin.listSessions(ListSessionsRequest.newBuilder().setPageSize(2).build());

    assertThat(page.getSessionsList()).hasSize(2);
    assertThat(page.getNextPageToken()).isEmpty();
  }

  // ------------------------------------------------------------ ListWaiting

  @Test
  void listWaiting_pdfPoolFull_listsWaitersOldestFirstWithWhatHoldsThem() {
    fillPdfPool();
    String other = b.openSession("worker-2").sessionId();
    ListenableFuture<AcquireResponse> older = acquireWaiting(session, RESOURCE_KIND_PDF);
    b.time.advance(Duration.ofSeconds(2));
    ListenableFuture<AcquireResponse> newer = acquireWaiting(other, RESOURCE_KIND_PDF);
    b.time.advance(Duration.ofSeconds(1));

    ListWaitingResponse list = admin.listWaiting(ListWaitingRequest.getDefaultInstance());

    assertThat(list.getTotal()).isEqualTo(2);
    assertThat(list.getWaitingList())
        .extracting(WaitingRequest::getWorkerId)
        .containsExactly("worker-1", "worker-2");
    WaitingRequest first = list.getWaiting(0);
    assertThat(first.getSessionId()).isEqualTo(session);
    assertThat(first.getJob()).isEqualTo("default");
    assertThat(first.getItemsList())
        .extracting(WaitingItem::getKind)
        .containsExactly(RESOURCE_KIND_PDF);
    assertThat(java(first.getWaited())).isEqualTo(Duration.ofSeconds(3));
    assertThat(java(first.getWaitLeft())).isEqualTo(Duration.ofSeconds(7));
    assertThat(first.getHeldBy().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
    assertThat(first.getHeldBy().getRule()).isEqualTo("pools.pdf.limit");
    assertThat(first.getHeldBy().getDetail()).isEqualTo("pool PDF 2/2 in use, 2 queued");
    // Listing changes nothing: the waiter is still waiting, and still counted.
    assertThat(older.isDone() || newer.isDone()).isFalse();
    assertThat(pool(status(), RESOURCE_KIND_PDF).getQueued()).isEqualTo(2);

    assertThat(
            admin
                .listWaiting(ListWaitingRequest.newBuilder().setSessionId(other).build())
                .getWaitingList())
        .extracting(WaitingRequest::getWorkerId)
        .containsExactly("worker-2");
    ListWaitingResponse one =
        admin.listWaiting(ListWaitingRequest.newBuilder().setLimit(1).build());
    assertThat(one.getTotal()).isEqualTo(2);
    assertThat(one.getWaitingList())
        .extracting(WaitingRequest::getWorkerId)
        .containsExactly("worker-1");
    assertThat(
            admin
                .listWaiting(ListWaitingRequest.newBuilder().setKind(RESOURCE_KIND_RENDER).build())
                .getTotal())
        .isZero();
    assertThat(
            admin.listWaiting(ListWaitingRequest.newBuilder().setJob("nobody").build()).getTotal())
        .isZero();
  }

  @Test
  void listWaiting_hostOutOfTokens_namesTheHostsRateAndFiltersByHost() {
    for (int i = 0; i < 4; i++) { // the default burst is 4
      b.grant(session, RESOURCE_KIND_RENDER);
    }
    String host = java.net.URI.create(InProcessBroker.RENDER_URL).getHost();
    ListenableFuture<AcquireResponse> queued =
        b.future.acquire(
            request(session, RESOURCE_KIND_RENDER).setWait(proto(Duration.ofSeconds(10))).build());

    WaitingRequest waiting =
        admin.listWaiting(ListWaitingRequest.newBuilder().setHost(host).build()).getWaiting(0);

    assertThat(queued.isDone()).isFalse();
    assertThat(waiting.getItems(0).getHost()).isEqualTo(host);
    assertThat(waiting.getHeldBy().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_RATE_LIMITED);
    assertThat(waiting.getHeldBy().getDetail())
        .startsWith("host " + host + ": 2.0/s, next token in");
    assertThat(
            admin
                .listWaiting(ListWaitingRequest.newBuilder().setHost("other.example").build())
                .getTotal())
        .isZero();
  }

  // ------------------------------------------------------------ ListLeases

  @Test
  void listLeases_all_inGrantOrderWithWorker() {
    Lease one = b.grant(session, RESOURCE_KIND_PDF);
    Lease two = render(session, "https://example.com/a");
    Lease three = b.grant(session, RESOURCE_KIND_WASM);

    ListLeasesResponse response = admin.listLeases(ListLeasesRequest.getDefaultInstance());

    assertThat(response.getLeasesList())
        .extracting(LeaseInfo::getLease)
        .containsExactly(one, two, three);
    assertThat(response.getLeasesList())
        .extracting(LeaseInfo::getWorkerId)
        .containsOnly("worker-1");
    assertThat(response.getNextPageToken()).isEmpty();
  }

  @Test
  void listLeases_filters_byKindHostWorkerAndSession() {
    String other = b.openSession("worker-2").sessionId();
    Lease pdf = b.grant(session, RESOURCE_KIND_PDF);
    Lease mine = render(session, "https://a.example.com/1");
    Lease theirs = render(other, "https://b.example.com/1");
    Lease theirsToo = render(other, "https://a.example.com/2");

    assertThat(leaseIds(ListLeasesRequest.newBuilder().setKind(RESOURCE_KIND_PDF)))
        .containsExactly(pdf.getLeaseId());
    assertThat(leaseIds(ListLeasesRequest.newBuilder().setHost("A.Example.com")))
        .containsExactly(mine.getLeaseId(), theirsToo.getLeaseId());
    assertThat(leaseIds(ListLeasesRequest.newBuilder().setWorkerId("worker-2")))
        .containsExactly(theirs.getLeaseId(), theirsToo.getLeaseId());
    assertThat(leaseIds(ListLeasesRequest.newBuilder().setSessionId(session)))
        .containsExactly(pdf.getLeaseId(), mine.getLeaseId());
    assertThat(
            leaseIds(
                ListLeasesRequest.newBuilder()
                    .setWorkerId("worker-2")
                    .setKind(RESOURCE_KIND_RENDER)
                    .setHost("a.example.com")))
        .containsExactly(theirsToo.getLeaseId());
    assertThat(leaseIds(ListLeasesRequest.newBuilder().setWorkerId("nobody"))).isEmpty();
  }

  /**
   * A lease names its host as an acquire's URL gives it (lower case, IDN in ASCII): a filter with a
   * host written otherwise finds it, and one that is no host alone is refused, not answered empty.
   */
  @Test
  void listLeases_byHost_readAsAnAcquiresHostIs_badHostInvalidArgument() {
    Lease idn = render(session, "https://bücher.example/1");

    assertThat(idn.getHost()).isEqualTo("xn--bcher-kva.example");
    assertThat(leaseIds(ListLeasesRequest.newBuilder().setHost("BÜCHER.example")))
        .containsExactly(idn.getLeaseId());
    StatusRuntimeException bad =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            StatusRuntimeException.class,
            () -> admin.listLeases(ListLeasesRequest.newBuilder().setHost("a b").build()));
    assertThat(bad.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(bad.getStatus().getDescription()).startsWith("host: ");
  }

  private List<String> leaseIds(ListLeasesRequest.Builder request) {
    return admin.listLeases(request.build()).getLeasesList().stream()
        .map(i -> i.getLease().getLeaseId())
        .toList();
  }

  @Test
  void listLeases_pagedAcrossPages_everyLeaseOnceInGrantOrder() {
    List<String> granted = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      granted.add(render(session, "https://h" + i + ".example.com/").getLeaseId());
    }

    List<String> seen = new ArrayList<>();
    List<Integer> pageSizes = new ArrayList<>();
    String token = "";
    do {
      ListLeasesResponse page =
          admin.listLeases(
              ListLeasesRequest.newBuilder().setPageSize(3).setPageToken(token).build());
      pageSizes.add(page.getLeasesCount());
      page.getLeasesList().forEach(l -> seen.add(l.getLease().getLeaseId()));
      token = page.getNextPageToken();
    } while (!token.isEmpty());

    assertThat(pageSizes).containsExactly(3, 3, 1);
    assertThat(seen).containsExactlyElementsOf(granted);
  }

  /**
   * Leases a worker kept in safe mode and the broker adopted all carry fencing token 0: they are
   * listed (before the granted ones, by id among themselves) and paged through one at a time, not
   * skipped as leases at or below the first page's start.
   */
  @Test
  void listLeases_adoptedSafeModeLeasesWithTokenZero_listedAndPagedById() {
    Lease granted = render(session, "https://h.example.com/");
    worker.cancel();
    SessionRecorder resumed = b.openStream();
    resumed.resume(
        "worker-1",
        session,
        dev.berth.proto.v1.HeldLease.newBuilder()
            .setLeaseId(granted.getLeaseId())
            .setFencingToken(granted.getFencingToken())
            .build(),
        dev.berth.proto.v1.HeldLease.newBuilder()
            .setLeaseId("local-b")
            .setKind(RESOURCE_KIND_RENDER)
            .setHost("b.example")
            .build(),
        dev.berth.proto.v1.HeldLease.newBuilder()
            .setLeaseId("local-a")
            .setKind(RESOURCE_KIND_PDF)
            .build());

    List<String> seen = new ArrayList<>();
    String token = "";
    do {
      ListLeasesResponse page =
          admin.listLeases(
              ListLeasesRequest.newBuilder().setPageSize(1).setPageToken(token).build());
      page.getLeasesList().forEach(l -> seen.add(l.getLease().getLeaseId()));
      token = page.getNextPageToken();
    } while (!token.isEmpty());

    assertThat(seen).containsExactly("local-a", "local-b", granted.getLeaseId());
    assertThat(leaseIds(ListLeasesRequest.newBuilder().setHost("b.example")))
        .containsExactly("local-b");
  }

  @Test
  void listLeases_leaseEndsBetweenPages_nextPageNeitherRepeatsNorSkips() {
    List<Lease> granted = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      granted.add(render(session, "https://h" + i + ".example.com/"));
    }
    ListLeasesResponse first =
        admin.listLeases(ListLeasesRequest.newBuilder().setPageSize(2).build());
    b.release(session, granted.get(1).getLeaseId()); // on the page already read
    Lease later = render(session, "https://late.example.com/");

    ListLeasesResponse second =
        admin.listLeases(
            ListLeasesRequest.newBuilder()
                .setPageSize(2)
                .setPageToken(first.getNextPageToken())
                .build());

    assertThat(second.getLeasesList())
        .extracting(i -> i.getLease().getLeaseId())
        .containsExactly(granted.get(2).getLeaseId(), granted.get(3).getLeaseId());
    ListLeasesResponse third =
        admin.listLeases(
            ListLeasesRequest.newBuilder()
                .setPageSize(2)
                .setPageToken(second.getNextPageToken())
                .build());
    assertThat(third.getLeasesList())
        .extracting(i -> i.getLease().getLeaseId())
        .containsExactly(later.getLeaseId());
  }

  // ------------------------------------------------------------ RevokeLease

  @Test
  void revokeLease_held_pushesRevokeAdminToHolderWithDefaultGrace() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);

    RevokeLeaseResponse response = revoke(lease.getLeaseId());

    assertThat(response.getRevoked()).isTrue();
    assertThat(response.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_REVOKED);
    SessionEvent event = worker.next();
    assertThat(event.hasRevoke()).as("revoke: %s", event).isTrue();
    Revoke push = event.getRevoke();
    assertThat(push.getLeaseId()).isEqualTo(lease.getLeaseId());
    assertThat(push.getReason()).isEqualTo(RevokeReason.REVOKE_REASON_ADMIN);
    assertThat(java(push.getGrace())).isEqualTo(b.broker.config().revokeGrace());
  }

  @Test
  void adminChanges_eachLoggedToTheAuditLoggerWithItsPrincipal() {
    ch.qos.logback.classic.Logger audit =
        (ch.qos.logback.classic.Logger)
            org.slf4j.LoggerFactory.getLogger(dev.berth.server.security.AdminAudit.LOGGER);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
        new ch.qos.logback.core.read.ListAppender<>();
    lines.start();
    audit.addAppender(lines);
    try {
      Lease lease = b.grant(session, RESOURCE_KIND_PDF);

      revoke(lease.getLeaseId());
      updatePool(RESOURCE_KIND_PDF, 3);

      assertThat(lines.list)
          .extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
          .containsExactly(
              "admin change by anonymous via grpc: revoke lease "
                  + lease.getLeaseId()
                  + " (admin): revoked",
              "admin change by anonymous via grpc: limits: PDF limit 3");
    } finally {
      audit.detachAppender(lines);
    }
  }

  @Test
  void revokeLease_fullPool_capacityReturnsAtOnceToTheNextWaiter() {
    fillPdfPool();
    String other = b.openSession("worker-2").sessionId();
    ListenableFuture<AcquireResponse> waiting = acquireWaiting(other, RESOURCE_KIND_PDF);
    String victim =
        admin
            .listLeases(ListLeasesRequest.newBuilder().setKind(RESOURCE_KIND_PDF).build())
            .getLeases(0)
            .getLease()
            .getLeaseId();
    assertThat(waiting.isDone()).isFalse();

    revoke(victim);

    AcquireResponse granted = answered(waiting);
    assertThat(granted.hasGranted()).as("granted: %s", granted).isTrue();
    assertThat(pool(status(), RESOURCE_KIND_PDF).getInUse()).isEqualTo(2);
    assertThat(leaseIds(ListLeasesRequest.newBuilder())).doesNotContain(victim);
  }

  @Test
  void revokeLease_graceGiven_pushedToHolder() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);

    admin.revokeLease(
        RevokeLeaseRequest.newBuilder()
            .setLeaseId(lease.getLeaseId())
            .setReason(RevokeReason.REVOKE_REASON_MEMORY_PRESSURE)
            .setGrace(proto(Duration.ofSeconds(30)))
            .build());

    Revoke push = worker.next().getRevoke();
    assertThat(push.getReason()).isEqualTo(RevokeReason.REVOKE_REASON_MEMORY_PRESSURE);
    assertThat(java(push.getGrace())).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void revokeLease_thenHolderReleases_releaseReportsRevokedByAdmin() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);
    revoke(lease.getLeaseId());

    ReleaseResponse release = b.release(session, lease.getLeaseId());

    assertThat(release.getReleased()).isFalse();
    assertThat(release.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_REVOKED);
    assertThat(release.getRevokeReason()).isEqualTo(RevokeReason.REVOKE_REASON_ADMIN);
  }

  @Test
  void revokeLease_twice_secondReportsAlreadyRevoked() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);
    revoke(lease.getLeaseId());

    RevokeLeaseResponse again = revoke(lease.getLeaseId());

    assertThat(again.getRevoked()).isFalse();
    assertThat(again.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_REVOKED);
  }

  @Test
  void revokeLease_released_reportsHowItEnded() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);
    b.release(session, lease.getLeaseId());

    RevokeLeaseResponse response = revoke(lease.getLeaseId());

    assertThat(response.getRevoked()).isFalse();
    assertThat(response.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_RELEASED);
  }

  @Test
  void revokeLease_reasonMaxHold_endedByAgreesWithWhatTheHolderIsTold() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);

    RevokeLeaseResponse response =
        admin.revokeLease(
            RevokeLeaseRequest.newBuilder()
                .setLeaseId(lease.getLeaseId())
                .setReason(RevokeReason.REVOKE_REASON_MAX_HOLD)
                .build());

    ReleaseResponse release = b.release(session, lease.getLeaseId());
    assertThat(response.getEndedBy()).isEqualTo(release.getEndedBy());
    assertThat(revoke(lease.getLeaseId()).getEndedBy()).isEqualTo(release.getEndedBy());
  }

  @Test
  void revokeLease_unknownLease_notFound() {
    Status status = failure(Status.Code.NOT_FOUND, () -> revoke("0123456789abcdef"));

    assertThat(status.getDescription())
        .startsWith("lease_id:")
        .contains("0123456789abcdef")
        .contains("ended more than 10m ago");
  }

  // ------------------------------------------------------------ DrainSession

  @Test
  void drainSession_pushesDrainAndRefusesItsAcquiresDraining() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    Duration deadline = Duration.ofSeconds(20);
    com.google.protobuf.Timestamp now = Protos.timestamp(b.time.wallTime());

    DrainSessionResponse response =
        admin.drainSession(
            DrainSessionRequest.newBuilder()
                .setSessionId(session)
                .setDeadline(proto(deadline))
                .build());

    assertThat(response.getLeasesHeld()).isEqualTo(1);
    SessionEvent event = worker.next();
    assertThat(event.hasDrain()).as("drain: %s", event).isTrue();
    assertThat(between(now, event.getDrain().getDeadline())).isEqualTo(deadline);
    AcquireResponse refused = b.acquire(request(session, RESOURCE_KIND_PDF));
    assertThat(refused.getRefused().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_DRAINING);
    assertThat(refused.getRefused().getDetail()).contains(session).contains("draining");
    assertThat(leaseIds(ListLeasesRequest.newBuilder())).containsExactly(held.getLeaseId());
    assertThat(admin.listSessions(ListSessionsRequest.getDefaultInstance()).getSessions(0))
        .extracting(SessionInfo::getDraining)
        .isEqualTo(true);
    assertThat(b.release(session, held.getLeaseId()).getReleased()).isTrue();
  }

  @Test
  void drainSession_otherSessions_stillGranted() {
    String other = b.openSession("worker-2").sessionId();

    admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(session).build());

    assertThat(b.acquire(request(other, RESOURCE_KIND_PDF)).hasGranted()).isTrue();
  }

  @Test
  void drainSession_waitingAcquire_refusedDrainingAtOnce() {
    fillPdfPool();
    ListenableFuture<AcquireResponse> waiting = acquireWaiting(session, RESOURCE_KIND_PDF);

    admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(session).build());

    assertThat(answered(waiting).getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_DRAINING);
  }

  @Test
  void drainSession_noDeadline_pushesConfiguredDefault() {
    com.google.protobuf.Timestamp now = Protos.timestamp(b.time.wallTime());

    admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(session).build());

    assertThat(between(now, worker.next().getDrain().getDeadline()))
        .isEqualTo(b.broker.config().drainDeadline());
  }

  @Test
  void drainSession_unknownSession_notFound() {
    Status status =
        failure(
            Status.Code.NOT_FOUND,
            () ->
                admin.drainSession(
                    DrainSessionRequest.newBuilder().setSessionId("feedfacefeedface").build()));

    assertThat(status.getDescription()).startsWith("session_id:").contains("feedfacefeedface");
  }

  // ------------------------------------------------------------ DrainBroker

  @Test
  void drainBroker_pushesDrainToEverySessionAndRefusesEveryAcquire() {
    SessionRecorder other = b.openSession("worker-2");
    b.grant(session, RESOURCE_KIND_PDF);
    b.grant(other.sessionId(), RESOURCE_KIND_WASM);

    DrainBrokerResponse response = admin.drainBroker(DrainBrokerRequest.getDefaultInstance());

    assertThat(response.getSessions()).isEqualTo(2);
    assertThat(response.getLeasesHeld()).isEqualTo(2);
    assertThat(worker.next().hasDrain()).isTrue();
    assertThat(other.next().hasDrain()).isTrue();
    assertThat(status().getDraining()).isTrue();
    AcquireResponse refused = b.acquire(request(other.sessionId(), RESOURCE_KIND_RENDER));
    assertThat(refused.getRefused().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_DRAINING);
    assertThat(refused.getRefused().getDetail()).contains("broker is draining");
    assertThat(leaseIds(ListLeasesRequest.newBuilder())).hasSize(2);
  }

  @Test
  void drainBroker_resume_grantsAgainButKeepsASessionDrainedOnItsOwn() {
    String other = b.openSession("worker-2").sessionId();
    admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(other).build());
    admin.drainBroker(DrainBrokerRequest.getDefaultInstance());

    admin.drainBroker(DrainBrokerRequest.newBuilder().setResume(true).build());

    assertThat(status().getDraining()).isFalse();
    assertThat(b.acquire(request(session, RESOURCE_KIND_PDF)).hasGranted()).isTrue();
    assertThat(b.acquire(request(other, RESOURCE_KIND_PDF)).getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_DRAINING);
  }

  @Test
  void drainBroker_waitingAcquires_refusedDrainingAtOnce() {
    fillPdfPool();
    ListenableFuture<AcquireResponse> waiting = acquireWaiting(session, RESOURCE_KIND_PDF);

    admin.drainBroker(DrainBrokerRequest.getDefaultInstance());

    assertThat(answered(waiting).getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_DRAINING);
  }

  // ------------------------------------------------------------ Explain

  @Test
  void explain_freeCapacity_wouldGrantListingEveryStepAndGrantsNothing() {
    Explanation explanation = explain(request(session, RESOURCE_KIND_RENDER));

    assertThat(explanation.getWouldGrant()).isTrue();
    assertThat(explanation.hasRefusal()).isFalse();
    assertThat(explanation.getStepsList())
        .extracting(ExplainStep::getRule)
        .containsExactly(
            "draining",
            "memory pressure",
            "host rate",
            "restart recovery",
            "job quota",
            "pool RENDER");
    assertThat(explanation.getStepsList()).allMatch(ExplainStep::getPassed);
    assertThat(explanation.getDecidedBy()).startsWith("pool RENDER");
    assertThat(status().getTotals().getGrants()).isZero();
    assertThat(pool(status(), RESOURCE_KIND_RENDER).getInUse()).isZero();
  }

  @Test
  void explain_manyTimes_consumesNoHostTokens() {
    for (int i = 0; i < 20; i++) {
      assertThat(explain(request(session, RESOURCE_KIND_RENDER)).getWouldGrant()).isTrue();
    }

    for (int i = 0; i < 4; i++) { // the default burst is 4
      b.grant(session, RESOURCE_KIND_RENDER);
    }
  }

  @Test
  void explain_hostOutOfTokens_wouldRefuseRateLimitedDecidedByHostRate() {
    for (int i = 0; i < 4; i++) {
      b.grant(session, RESOURCE_KIND_RENDER);
    }

    Explanation explanation = explain(request(session, RESOURCE_KIND_RENDER));

    assertThat(explanation.getWouldGrant()).isFalse();
    assertThat(explanation.getRefusal().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_RATE_LIMITED);
    assertThat(java(explanation.getRefusal().getRetryAfter())).isPositive();
    assertThat(explanation.getDecidedBy()).contains("example.com");
    ExplainStep last = explanation.getSteps(explanation.getStepsCount() - 1);
    assertThat(last.getRule()).isEqualTo("host rate");
    assertThat(last.getPassed()).isFalse();
  }

  @Test
  void explain_poolFull_wouldRefuseExhaustedDecidedByPool() {
    fillPdfPool();

    Explanation explanation = explain(request(session, RESOURCE_KIND_PDF));

    assertThat(explanation.getWouldGrant()).isFalse();
    assertThat(explanation.getRefusal().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
    assertThat(explanation.getDecidedBy()).isEqualTo("pool PDF 2/2 in use, 0 queued");
    assertThat(refusals(status(), RefusalReason.REFUSAL_REASON_EXHAUSTED)).isZero();
  }

  @Test
  void explain_drainingSession_wouldRefuseDraining() {
    admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(session).build());

    Explanation explanation = explain(request(session, RESOURCE_KIND_PDF));

    assertThat(explanation.getRefusal().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_DRAINING);
    assertThat(explanation.getStepsList())
        .extracting(ExplainStep::getRule)
        .containsExactly("draining");
  }

  @Test
  void explain_unknownSession_notFound() {
    Status status =
        failure(
            Status.Code.NOT_FOUND, () -> explain(request("feedfacefeedface", RESOURCE_KIND_PDF)));

    assertThat(status.getDescription()).startsWith("session_id:");
  }

  // ------------------------------------------------------------ UpdateLimits

  @Test
  void updateLimits_lowerPool_keepsLeasesAndGrantsOnlyBelowTheNewLimit() {
    Lease one = b.grant(session, RESOURCE_KIND_PDF);
    Lease two = b.grant(session, RESOURCE_KIND_PDF);

    UpdateLimitsResponse response = updatePool(RESOURCE_KIND_PDF, 1);

    PoolStatus pdf = pool(response.getStatus(), RESOURCE_KIND_PDF);
    assertThat(pdf.getLimit()).isEqualTo(1);
    assertThat(pdf.getInUse()).isEqualTo(2);
    assertThat(leaseIds(ListLeasesRequest.newBuilder()))
        .containsExactly(one.getLeaseId(), two.getLeaseId());
    assertThat(worker.pendingEvents()).as("no revoke pushed").isZero();
    assertThat(b.acquire(request(session, RESOURCE_KIND_PDF)).getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
    b.release(session, one.getLeaseId());
    assertThat(b.acquire(request(session, RESOURCE_KIND_PDF)).hasGranted()).isFalse();
    b.release(session, two.getLeaseId());
    assertThat(b.acquire(request(session, RESOURCE_KIND_PDF)).hasGranted()).isTrue();
  }

  @Test
  void updateLimits_raisePool_grantsQueuedAcquireAtOnce() {
    fillPdfPool();
    ListenableFuture<AcquireResponse> waiting = acquireWaiting(session, RESOURCE_KIND_PDF);

    UpdateLimitsResponse response = updatePool(RESOURCE_KIND_PDF, 3);

    assertThat(answered(waiting).hasGranted()).isTrue();
    assertThat(pool(response.getStatus(), RESOURCE_KIND_PDF).getLimit()).isEqualTo(3);
    assertThat(pool(status(), RESOURCE_KIND_PDF).getInUse()).isEqualTo(3);
  }

  @Test
  void updateLimits_hostRate_appliesToThatHostOnly() {
    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addHostRates(
                HostRate.newBuilder()
                    .setPattern("slow.example.com")
                    .setRatePerSecond(0.5)
                    .setBurst(1))
            .build());

    render(session, "https://slow.example.com/1");
    AcquireResponse second =
        b.acquire(request(session, RESOURCE_KIND_RENDER).setUrl("https://slow.example.com/2"));
    render(session, "https://fast.example.com/1");
    render(session, "https://fast.example.com/2");

    assertThat(second.getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_RATE_LIMITED);
    assertThat(java(second.getRefused().getRetryAfter()))
        .isGreaterThan(Duration.ofMillis(1900))
        .isLessThanOrEqualTo(Duration.ofSeconds(2));
    assertThat(b.broker.policy().rateLimit().ruleFor("slow.example.com").rate()).isEqualTo(0.5);
  }

  @Test
  void updateLimits_raiseHostRate_hostNoLongerLimited() {
    for (int i = 0; i < 4; i++) {
      b.grant(session, RESOURCE_KIND_RENDER);
    }
    b.release(session, b.broker.leases().get(0).id());
    assertThat(explain(request(session, RESOURCE_KIND_RENDER)).getWouldGrant()).isFalse();

    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addHostRates(
                HostRate.newBuilder()
                    .setPattern("*.example.com")
                    .setRatePerSecond(100)
                    .setBurst(100))
            .addHostRates(HostRate.newBuilder().setPattern("example.com").setRatePerSecond(100))
            .build());

    b.time.advance(Duration.ofMillis(10)); // 100/s refills a token every 10 ms
    assertThat(b.acquire(request(session, RESOURCE_KIND_RENDER)).hasGranted()).isTrue();
  }

  @Test
  void updateLimits_pressureThresholds_applied() {
    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .setPressure(PressureThresholds.newBuilder().setOn(0.9).setOff(0.8))
            .build());

    assertThat(b.broker.policy().memory().pressureOn()).isEqualTo(0.9);
    assertThat(b.broker.policy().memory().pressureOff()).isEqualTo(0.8);
  }

  // ------------------------------------------------------------ WatchEvents

  @Test
  void watchEvents_leaseLifecycle_grantedReleasedRevokedRefusedInOrder() {
    WatchRecorder watch = WatchRecorder.open(adminAsync);
    Lease one = b.grant(session, RESOURCE_KIND_PDF);
    Lease two = b.grant(session, RESOURCE_KIND_PDF);
    b.acquire(request(session, RESOURCE_KIND_PDF)); // refused: pool full
    b.release(session, one.getLeaseId());
    revoke(two.getLeaseId());

    BrokerEvent granted = watch.next();
    assertThat(granted.getType()).isEqualTo(BROKER_EVENT_TYPE_GRANTED);
    assertThat(granted.getLease()).isEqualTo(one);
    assertThat(granted.getWorkerId()).isEqualTo("worker-1");
    assertThat(granted.getSessionId()).isEqualTo(session);
    assertThat(granted.hasAt()).isTrue();
    assertThat(watch.next().getType()).isEqualTo(BROKER_EVENT_TYPE_GRANTED);
    BrokerEvent refused = watch.next();
    assertThat(refused.getType()).isEqualTo(BROKER_EVENT_TYPE_REFUSED);
    assertThat(refused.getRefusal().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
    assertThat(refused.getDetail()).contains("PDF");
    BrokerEvent released = watch.next();
    assertThat(released.getType()).isEqualTo(BROKER_EVENT_TYPE_RELEASED);
    assertThat(released.getLease().getLeaseId()).isEqualTo(one.getLeaseId());
    assertThat(released.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_RELEASED);
    BrokerEvent revoked = watch.next();
    assertThat(revoked.getType()).isEqualTo(BROKER_EVENT_TYPE_REVOKED);
    assertThat(revoked.getLease().getLeaseId()).isEqualTo(two.getLeaseId());
    assertThat(revoked.getRevokeReason()).isEqualTo(RevokeReason.REVOKE_REASON_ADMIN);
    assertThat(watch.received()).isEmpty();
  }

  @Test
  void watchEvents_maxHoldPassed_expiredEventWithMaxHold() {
    start(
        InProcessBroker.config()
            .maxHold(dev.berth.server.lease.ResourceKind.PDF, Duration.ofSeconds(5))
            .build());
    WatchRecorder watch = WatchRecorder.open(adminAsync, BROKER_EVENT_TYPE_EXPIRED);
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);

    b.time.advance(Duration.ofSeconds(6));

    BrokerEvent expired = watch.next();
    assertThat(expired.getType()).isEqualTo(BROKER_EVENT_TYPE_EXPIRED);
    assertThat(expired.getLease().getLeaseId()).isEqualTo(lease.getLeaseId());
    assertThat(expired.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_MAX_HOLD);
    assertThat(expired.getRevokeReason()).isEqualTo(RevokeReason.REVOKE_REASON_MAX_HOLD);
  }

  @Test
  void watchEvents_sessionLifecycle_openedResumedClosedAndExpiredWithItsLeases() {
    WatchRecorder watch = WatchRecorder.open(adminAsync);
    SessionRecorder w2 = b.openSession("worker-2");
    w2.cancel();
    SessionRecorder again = b.openStream();
    again.resume("worker-2", w2.sessionId());
    again.goodbye();
    assertThat(again.status().isOk()).isTrue();
    Lease held = b.grant(session, RESOURCE_KIND_PDF);

    b.time.advance(InProcessBroker.SESSION_TTL.plusSeconds(1));

    BrokerEvent opened = watch.next();
    assertThat(opened.getType()).isEqualTo(BROKER_EVENT_TYPE_SESSION_OPENED);
    assertThat(opened.getWorkerId()).isEqualTo("worker-2");
    assertThat(opened.getSessionId()).isEqualTo(w2.sessionId());
    // No jobs configured: every session runs as the default job, and its events say so.
    assertThat(opened.getJob()).isEqualTo(JobsConfig.DEFAULT_JOB);
    assertThat(watch.next().getType()).isEqualTo(BROKER_EVENT_TYPE_SESSION_RESUMED);
    BrokerEvent closed = watch.next();
    assertThat(closed.getType()).isEqualTo(BROKER_EVENT_TYPE_SESSION_CLOSED);
    assertThat(closed.getJob()).isEqualTo(JobsConfig.DEFAULT_JOB);
    assertThat(watch.next().getType()).isEqualTo(BROKER_EVENT_TYPE_GRANTED);
    BrokerEvent leaseExpired = watch.next();
    assertThat(leaseExpired.getType()).isEqualTo(BROKER_EVENT_TYPE_EXPIRED);
    assertThat(leaseExpired.getLease().getLeaseId()).isEqualTo(held.getLeaseId());
    assertThat(leaseExpired.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_SESSION_EXPIRED);
    BrokerEvent sessionExpired = watch.next();
    assertThat(sessionExpired.getType()).isEqualTo(BROKER_EVENT_TYPE_SESSION_EXPIRED);
    assertThat(sessionExpired.getSessionId()).isEqualTo(session);
    assertThat(sessionExpired.getWorkerId()).isEqualTo("worker-1");
  }

  @Test
  void watchEvents_typeFilter_onlyThoseTypes() {
    WatchRecorder watch =
        WatchRecorder.open(adminAsync, BROKER_EVENT_TYPE_SESSION_OPENED, BROKER_EVENT_TYPE_REFUSED);
    fillPdfPool();
    b.acquire(request(session, RESOURCE_KIND_PDF));
    b.openSession("worker-2");
    b.broker.leases().forEach(l -> b.release(session, l.id()));

    assertThat(watch.receivedTypes())
        .containsExactly(BROKER_EVENT_TYPE_REFUSED, BROKER_EVENT_TYPE_SESSION_OPENED);
  }

  @Test
  void watchEvents_limitsUpdated_eventDescribesTheChange() {
    WatchRecorder watch = WatchRecorder.open(adminAsync, BROKER_EVENT_TYPE_LIMITS_UPDATED);

    updatePool(RESOURCE_KIND_PDF, 5);

    BrokerEvent event = watch.next();
    assertThat(event.getDetail()).isEqualTo("PDF limit 5");
  }

  @Test
  void watchEvents_limitsUpdated_ratesInPlainDecimals() {
    WatchRecorder watch = WatchRecorder.open(adminAsync, BROKER_EVENT_TYPE_LIMITS_UPDATED);

    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addHostRates(
                HostRate.newBuilder().setPattern("slow.example").setRatePerSecond(1e-6).setBurst(2))
            .addHostRates(HostRate.newBuilder().setPattern("fast.example").setRatePerSecond(1e9))
            .build());

    assertThat(watch.next().getDetail())
        .isEqualTo("host slow.example 0.000001/s burst 2, host fast.example 1000000000.0/s");
  }

  @Test
  void watchEvents_beyondTheWatcherBound_resourceExhausted_untilOneLeaves() {
    List<WatchRecorder> open = new ArrayList<>();
    for (int i = 0; i < EventHub.MAX_WATCHERS; i++) {
      open.add(WatchRecorder.open(adminAsync));
    }
    WatchRecorder refused = WatchRecorder.open(adminAsync);

    assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.status().getDescription()).contains("too many watchers");
    open.get(0).cancel();
    WatchRecorder later = WatchRecorder.open(adminAsync, BROKER_EVENT_TYPE_LIMITS_UPDATED);
    updatePool(RESOURCE_KIND_PDF, 5);
    assertThat(later.next().getDetail()).isEqualTo("PDF limit 5");
  }

  @Test
  void watchEvents_drainsAndResume_drainEventsSayWhich() {
    WatchRecorder watch = WatchRecorder.open(adminAsync, BrokerEventType.BROKER_EVENT_TYPE_DRAIN);

    admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(session).build());
    admin.drainBroker(DrainBrokerRequest.getDefaultInstance());
    admin.drainBroker(DrainBrokerRequest.newBuilder().setResume(true).build());

    BrokerEvent first = watch.next();
    assertThat(first.getSessionId()).isEqualTo(session);
    assertThat(first.getDetail()).isEqualTo("session drained; 0 leases held");
    assertThat(watch.next().getDetail()).isEqualTo("broker drained");
    assertThat(watch.next().getDetail()).isEqualTo("broker resumed");
  }

  @Test
  void watchEvents_brokerStartsAndStopsLeading_leaderChangedEventsSayWhich() {
    WatchRecorder watch =
        WatchRecorder.open(adminAsync, BrokerEventType.BROKER_EVENT_TYPE_LEADER_CHANGED);

    b.broker.takeOver(9, dev.berth.server.broker.Fleet.EMPTY, 4);
    b.broker.stepDown();

    assertThat(watch.next().getDetail())
        .isEqualTo("this broker leads its cluster with epoch 9, took over 0 sessions and 0 leases");
    assertThat(watch.next().getDetail()).isEqualTo("this broker no longer leads its cluster");
  }

  @Test
  void watchEvents_leaseKeptOnAResumeAfterARestart_readmittedNotGranted() {
    WatchRecorder watch = WatchRecorder.open(adminAsync);
    dev.berth.server.lease.Lease kept =
        new dev.berth.server.lease.Lease(
            "kept-1",
            dev.berth.server.lease.ResourceKind.PDF,
            7,
            session,
            "",
            "",
            "",
            64,
            0,
            1_000);

    b.server.events().readmitted(kept, "worker-1", "default");

    BrokerEvent event = watch.next();
    assertThat(event.getType()).isEqualTo(BrokerEventType.BROKER_EVENT_TYPE_READMITTED);
    assertThat(event.getLease().getLeaseId()).isEqualTo("kept-1");
    assertThat(event.getLease().getFencingToken()).isEqualTo(7);
    assertThat(event.getWorkerId()).isEqualTo("worker-1");
    assertThat(event.getJob()).isEqualTo("default");
  }

  @Test
  void watchEvents_unspecifiedType_invalidArgumentAndNotTracked() {
    WatchRecorder watch =
        WatchRecorder.open(
            adminAsync, BROKER_EVENT_TYPE_GRANTED, BrokerEventType.BROKER_EVENT_TYPE_UNSPECIFIED);

    Status status = watch.status();

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .isEqualTo(
            "types: must list known event types only; entry 1 is BROKER_EVENT_TYPE_UNSPECIFIED");
    assertThat(b.server.events().watchers()).isZero();
  }

  @Test
  void watchEvents_typeThisBrokerDoesNotKnow_namesItsNumber() {
    WatchRecorder watch =
        WatchRecorder.open(adminAsync, WatchEventsRequest.newBuilder().addTypesValue(999).build());

    assertThat(watch.status().getDescription())
        .isEqualTo("types: must list known event types only; entry 0 is the unknown value 999");
  }

  @Test
  void watchEvents_watcherCancels_hubForgetsIt() {
    WatchRecorder watch = WatchRecorder.open(adminAsync);
    assertThat(b.server.events().watchers()).isEqualTo(1);

    watch.cancel();
    b.grant(session, RESOURCE_KIND_PDF);

    assertThat(b.server.events().watchers()).isZero();
    assertThat(watch.status().getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  @Test
  void watchEvents_slowWatcherWithinBound_keptAndGetsEveryEventInOrderOnceItReads() {
    WatchRecorder slow = WatchRecorder.notReading(adminAsync);
    int pairs = EventHub.MAX_PENDING / 2;
    List<String> granted = grantAndRelease(pairs); // exactly MAX_PENDING events

    assertThat(slow.isClosed()).isFalse();
    assertThat(slow.received()).isEmpty();
    slow.request(EventHub.MAX_PENDING);

    List<BrokerEvent> events = slow.received();
    assertThat(events).hasSize(EventHub.MAX_PENDING);
    List<String> grantedSeen = new ArrayList<>();
    for (int i = 0; i < events.size(); i += 2) {
      assertThat(events.get(i).getType()).isEqualTo(BROKER_EVENT_TYPE_GRANTED);
      assertThat(events.get(i + 1).getType()).isEqualTo(BROKER_EVENT_TYPE_RELEASED);
      grantedSeen.add(events.get(i).getLease().getLeaseId());
    }
    assertThat(grantedSeen).isEqualTo(granted);
    assertThat(slow.isClosed()).isFalse();
    assertThat(b.server.events().watchers()).isEqualTo(1);
  }

  @Test
  void watchEvents_watcherThatDoesNotRead_droppedResourceExhaustedAndForgotten() {
    WatchRecorder slow = WatchRecorder.notReading(adminAsync);
    WatchRecorder fast = WatchRecorder.open(adminAsync, BROKER_EVENT_TYPE_GRANTED);
    assertThat(b.server.events().watchers()).isEqualTo(2);

    grantAndRelease(EventHub.MAX_PENDING / 2); // MAX_PENDING events: at the bound, still kept
    assertThat(slow.isClosed()).isFalse();
    b.grant(session, RESOURCE_KIND_PDF); // one more than the bound

    Status status = slow.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .contains("too slow")
        .contains(String.valueOf(EventHub.MAX_PENDING));
    assertThat(slow.received()).isEmpty();
    assertThat(b.server.events().watchers()).isEqualTo(1);
    assertThat(fast.isClosed()).isFalse();
    assertThat(fast.received()).hasSize(EventHub.MAX_PENDING / 2 + 1);

    fast.cancel();
    assertThat(b.server.events().watchers()).isZero();
  }

  @Test
  void watchEvents_brokerShutsDown_watchEndsUnavailable() {
    WatchRecorder watch = WatchRecorder.open(adminAsync);

    b.shutdownServer(Duration.ofSeconds(1));

    assertThat(watch.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(b.server.events().watchers()).isZero();
  }

  /** Grants and releases a PDF lease {@code pairs} times; returns the lease ids in order. */
  private List<String> grantAndRelease(int pairs) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < pairs; i++) {
      Lease lease = b.grant(session, RESOURCE_KIND_PDF);
      b.release(session, lease.getLeaseId());
      ids.add(lease.getLeaseId());
    }
    return ids;
  }

  // ------------------------------------------------------------ jobs

  @Test
  void updateLimits_jobs_addedLiveAndShownInStatus() {
    UpdateLimitsResponse response =
        admin.updateLimits(
            UpdateLimitsRequest.newBuilder()
                .addJobs(
                    dev.berth.proto.v1.JobLimits.newBuilder()
                        .setName("urgent")
                        .setWeight(4)
                        .addKinds(
                            dev.berth.proto.v1.JobKindLimit.newBuilder()
                                .setKind(RESOURCE_KIND_PDF)
                                .setMin(1)
                                .setMax(1)))
                .build());

    dev.berth.proto.v1.JobStatus urgent =
        response.getStatus().getJobsList().stream()
            .filter(j -> j.getName().equals("urgent"))
            .findFirst()
            .orElseThrow();
    assertThat(urgent.getWeight()).isEqualTo(4);
    assertThat(urgent.getKindsList())
        .filteredOn(k -> k.getKind() == RESOURCE_KIND_PDF)
        .extracting(
            dev.berth.proto.v1.JobKindStatus::getMin,
            dev.berth.proto.v1.JobKindStatus::getGuaranteedMin,
            dev.berth.proto.v1.JobKindStatus::getMax)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(1, 1, 1));
    assertThat(status().getJobsList())
        .extracting(dev.berth.proto.v1.JobStatus::getName)
        .containsExactly("default", "urgent");
  }

  @Test
  void updateLimits_jobHostRateWithoutBurst_takesTheDefaultBurstOfTheSameUpdate() {
    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addHostRates(HostRate.newBuilder().setPattern("*").setRatePerSecond(10).setBurst(7))
            .addJobs(
                dev.berth.proto.v1.JobLimits.newBuilder()
                    .setName("urgent")
                    .addHostRates(
                        HostRate.newBuilder().setPattern("a.example.com").setRatePerSecond(2)))
            .build());

    assertThat(b.broker.policy().jobs().get("urgent").hostRates().ruleFor("a.example.com").burst())
        .isEqualTo(7);
  }

  /**
   * A host rule that gave no burst takes the default burst, as a reload of the file gives it: a
   * later UpdateLimits of the default burst left such rules, the fleet's and the jobs', at the
   * burst of the moment they were set.
   */
  @Test
  void updateLimits_newDefaultBurst_reachesTheHostRulesThatGaveNone() {
    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addHostRates(HostRate.newBuilder().setPattern("a.example.com").setRatePerSecond(5))
            .addHostRates(
                HostRate.newBuilder().setPattern("b.example.com").setRatePerSecond(5).setBurst(2))
            .addJobs(
                dev.berth.proto.v1.JobLimits.newBuilder()
                    .setName("urgent")
                    .addHostRates(
                        HostRate.newBuilder().setPattern("c.example.com").setRatePerSecond(1)))
            .build());

    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addHostRates(HostRate.newBuilder().setPattern("*").setRatePerSecond(2).setBurst(9))
            .build());

    RateLimitConfig rates = b.broker.policy().rateLimit();
    assertThat(rates.ruleFor("a.example.com").burst()).isEqualTo(9);
    assertThat(rates.ruleFor("b.example.com").burst()).isEqualTo(2);
    assertThat(b.broker.policy().jobs().get("urgent").hostRates().ruleFor("c.example.com").burst())
        .isEqualTo(9);
  }

  @Test
  void updateLimits_jobWeightTooHigh_invalidArgumentNamingTheKeyAndNothingApplied() {
    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                admin.updateLimits(
                    UpdateLimitsRequest.newBuilder()
                        .addPools(
                            dev.berth.proto.v1.PoolLimit.newBuilder()
                                .setKind(RESOURCE_KIND_PDF)
                                .setLimit(7))
                        .addJobs(
                            dev.berth.proto.v1.JobLimits.newBuilder()
                                .setName("urgent")
                                .setWeight(5000))
                        .build()));

    assertThat(status.getDescription()).contains("jobs.urgent.weight");
    assertThat(pool(status(), RESOURCE_KIND_PDF).getLimit()).isNotEqualTo(7);
    assertThat(status().getJobsList())
        .extracting(dev.berth.proto.v1.JobStatus::getName)
        .containsExactly("default");
  }

  /** One entry would silently win over the other: each request names a setting once. */
  @Test
  void updateLimits_theSameSettingTwice_invalidArgumentNamingItAndNothingApplied() {
    dev.berth.proto.v1.PoolLimit pdf7 =
        dev.berth.proto.v1.PoolLimit.newBuilder().setKind(RESOURCE_KIND_PDF).setLimit(7).build();
    dev.berth.proto.v1.HostRate slow =
        dev.berth.proto.v1.HostRate.newBuilder()
            .setPattern("a.example")
            .setRatePerSecond(1)
            .build();
    dev.berth.proto.v1.JobKindLimit renderMax1 =
        dev.berth.proto.v1.JobKindLimit.newBuilder()
            .setKind(RESOURCE_KIND_RENDER)
            .setMax(1)
            .build();
    Map<String, UpdateLimitsRequest> requests =
        Map.of(
            "pools.kind: PDF is named twice",
            UpdateLimitsRequest.newBuilder().addPools(pdf7).addPools(pdf7).build(),
            "host_rates.pattern: 'a.example' is named twice",
            UpdateLimitsRequest.newBuilder()
                .addPools(pdf7)
                .addHostRates(slow)
                .addHostRates(slow)
                .build(),
            "jobs.kinds.kind: job 'urgent': RENDER is named twice",
            UpdateLimitsRequest.newBuilder()
                .addPools(pdf7)
                .addJobs(
                    dev.berth.proto.v1.JobLimits.newBuilder()
                        .setName("urgent")
                        .addKinds(renderMax1)
                        .addKinds(renderMax1))
                .build(),
            // The job's own host rates as the fleet's: the later rule silently won.
            "jobs.host_rates.pattern: job 'urgent': 'a.example' is named twice",
            UpdateLimitsRequest.newBuilder()
                .addPools(pdf7)
                .addJobs(
                    dev.berth.proto.v1.JobLimits.newBuilder()
                        .setName("urgent")
                        .addHostRates(slow)
                        .addHostRates(slow.toBuilder().setRatePerSecond(5)))
                .build());

    requests.forEach(
        (message, request) -> {
          Status status = failure(Status.Code.INVALID_ARGUMENT, () -> admin.updateLimits(request));

          assertThat(status.getDescription()).startsWith(message);
          assertThat(pool(status(), RESOURCE_KIND_PDF).getLimit()).isNotEqualTo(7);
          assertThat(status().getJobsList())
              .extracting(dev.berth.proto.v1.JobStatus::getName)
              .containsExactly("default");
        });
  }

  /** A typo in a job to remove answered OK and changed nothing, yet said it removed it. */
  @Test
  void updateLimits_removeAJobThatIsNotThere_notFoundNamingTheJobs_andNothingApplied() {
    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addJobs(dev.berth.proto.v1.JobLimits.newBuilder().setName("urgent").setWeight(3))
            .build());

    Status status =
        failure(
            Status.Code.NOT_FOUND,
            () ->
                admin.updateLimits(
                    UpdateLimitsRequest.newBuilder()
                        .addPools(
                            dev.berth.proto.v1.PoolLimit.newBuilder()
                                .setKind(RESOURCE_KIND_PDF)
                                .setLimit(7))
                        .addJobs(
                            dev.berth.proto.v1.JobLimits.newBuilder()
                                .setName("urgnet")
                                .setRemove(true))
                        .build()));

    assertThat(status.getDescription())
        .isEqualTo("jobs.name: no job 'urgnet' to remove (jobs: default, urgent)");
    assertThat(pool(status(), RESOURCE_KIND_PDF).getLimit()).isNotEqualTo(7);
  }

  private static dev.berth.proto.v1.JobLimits urgentRenderMin(int min) {
    return dev.berth.proto.v1.JobLimits.newBuilder()
        .setName("urgent")
        .addKinds(
            dev.berth.proto.v1.JobKindLimit.newBuilder().setKind(RESOURCE_KIND_RENDER).setMin(min))
        .build();
  }

  private static dev.berth.proto.v1.PoolLimit poolLimit(ResourceKind kind, int limit) {
    return dev.berth.proto.v1.PoolLimit.newBuilder().setKind(kind).setLimit(limit).build();
  }

  /**
   * The request is checked as a whole: a pool lowered together with the min that would no longer
   * fit it was refused for the min the same request replaced.
   */
  @Test
  void updateLimits_poolLoweredWithTheMinsThatFitIt_appliedTogether() {
    admin.updateLimits(UpdateLimitsRequest.newBuilder().addJobs(urgentRenderMin(6)).build());

    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addPools(poolLimit(RESOURCE_KIND_RENDER, 4))
            .addJobs(urgentRenderMin(2))
            .build());

    assertThat(pool(status(), RESOURCE_KIND_RENDER).getLimit()).isEqualTo(4);
    assertThat(
            b.broker.policy().jobs().get("urgent").min(dev.berth.server.lease.ResourceKind.RENDER))
        .isEqualTo(2);
  }

  @Test
  void updateLimits_poolLoweredBelowTheMinsLeft_refusedNamingThePoolAndTheMins_nothingApplied() {
    admin.updateLimits(UpdateLimitsRequest.newBuilder().addJobs(urgentRenderMin(6)).build());

    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                admin.updateLimits(
                    UpdateLimitsRequest.newBuilder()
                        .addPools(poolLimit(RESOURCE_KIND_RENDER, 4))
                        .addPools(poolLimit(RESOURCE_KIND_PDF, 7))
                        .build()));

    assertThat(status.getDescription())
        .isEqualTo(
            "pools.render.limit: must be at least 6, the sum of the jobs' min for RENDER (urgent"
                + " 6), got 4");
    assertThat(pool(status(), RESOURCE_KIND_RENDER).getLimit()).isNotEqualTo(4);
    assertThat(pool(status(), RESOURCE_KIND_PDF).getLimit()).isNotEqualTo(7);
  }

  @Test
  void updateLimits_aJobAddedThenRemovedInOneRequest_isGone() {
    admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addJobs(dev.berth.proto.v1.JobLimits.newBuilder().setName("adhoc").setWeight(2))
            .addJobs(dev.berth.proto.v1.JobLimits.newBuilder().setName("adhoc").setRemove(true))
            .build());

    assertThat(status().getJobsList())
        .extracting(dev.berth.proto.v1.JobStatus::getName)
        .containsExactly("default");
  }

  @Test
  void updateLimits_removalWithSettings_invalidArgument() {
    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                admin.updateLimits(
                    UpdateLimitsRequest.newBuilder()
                        .addJobs(
                            dev.berth.proto.v1.JobLimits.newBuilder()
                                .setName("default")
                                .setRemove(true)
                                .setWeight(5))
                        .build()));

    assertThat(status.getDescription()).startsWith("jobs.remove: job 'default': a removal takes");
  }
}
