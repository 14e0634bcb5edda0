package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_UNSPECIFIED;
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
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.server.broker.BrokerCounters;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.lease.ResourceKind;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code LeaseBroker.Acquire} over the in-process transport: grants, refusals, waits, errors. */
class LeaseBrokerAcquireTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private InProcessBroker b;
  private BrokerConfig config;
  private SessionRecorder worker;
  private String session;

  @BeforeEach
  void setUp() {
    b = new InProcessBroker();
    config = b.broker.config();
    worker = b.openSession("worker-1");
    session = worker.sessionId();
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  private ListenableFuture<AcquireResponse> acquireWaiting(
      String sessionId, dev.berth.proto.v1.ResourceKind kind, int priority) {
    return b.future.acquire(
        request(sessionId, kind).setWait(proto(WAIT)).setPriority(priority).build());
  }

  private long seq;

  /** Moves the clock in heartbeat steps, heartbeating {@link #worker} so it stays alive. */
  private void advanceKeepingAlive(Duration by) {
    Duration step = InProcessBroker.HEARTBEAT_INTERVAL;
    Duration left = by;
    while (left.compareTo(step) > 0) {
      b.time.advance(step);
      worker.heartbeat(seq++);
      left = left.minus(step);
    }
    b.time.advance(left);
  }

  private void fillPdfPool() {
    for (int i = 0; i < config.limit(ResourceKind.PDF); i++) {
      b.grant(session, RESOURCE_KIND_PDF);
    }
  }

  // ------------------------------------------------------------ grants

  @Test
  void acquire_render_grantedWithHostAndMaxHold() {
    AcquireResponse response =
        b.acquire(request(session, RESOURCE_KIND_RENDER).setUrl("https://Example.COM:8443/A?b=C"));

    assertThat(response.hasGranted()).as("granted: %s", response).isTrue();
    Lease lease = response.getGranted();
    assertThat(lease.getLeaseId()).hasSize(32);
    assertThat(lease.getKind()).isEqualTo(RESOURCE_KIND_RENDER);
    assertThat(lease.getSessionId()).isEqualTo(session);
    assertThat(lease.getHost()).isEqualTo("example.com");
    assertThat(lease.getMemoryMb()).isEqualTo(config.memoryEstimateMb(ResourceKind.RENDER));
    assertThat(between(lease.getGrantedAt(), lease.getExpiresAt()))
        .isEqualTo(config.maxHold(ResourceKind.RENDER));
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void acquire_renderPdfWasm_grantedWithIncreasingFencingTokens() {
    List<Lease> leases = new ArrayList<>();
    for (dev.berth.proto.v1.ResourceKind kind :
        List.of(
            RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF, RESOURCE_KIND_WASM, RESOURCE_KIND_RENDER)) {
      leases.add(b.grant(session, kind));
    }

    assertThat(leases)
        .extracting(Lease::getKind)
        .containsExactly(
            RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF, RESOURCE_KIND_WASM, RESOURCE_KIND_RENDER);
    for (int i = 1; i < leases.size(); i++) {
      assertThat(leases.get(i).getFencingToken())
          .isGreaterThan(leases.get(i - 1).getFencingToken());
    }
    assertThat(leases).extracting(Lease::getLeaseId).doesNotHaveDuplicates();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(2);
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.WASM)).isEqualTo(1);
  }

  @Test
  void acquire_pdfWithoutUrl_grantedWithoutHostAndItsMaxHold() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);

    assertThat(lease.getHost()).isEmpty();
    assertThat(between(lease.getGrantedAt(), lease.getExpiresAt()))
        .isEqualTo(config.maxHold(ResourceKind.PDF));
  }

  @Test
  void acquire_pdfWithUrl_grantedWithHost() {
    AcquireResponse response =
        b.acquire(request(session, RESOURCE_KIND_PDF).setUrl("http://DOCS.example.org/x.pdf"));

    assertThat(response.getGranted().getHost()).isEqualTo("docs.example.org");
  }

  @Test
  void acquire_wasm_grantedDefaultModuleAndItsMaxHold() {
    Lease lease = b.grant(session, RESOURCE_KIND_WASM);

    assertThat(lease.getModule()).isEqualTo(config.defaultWasmModule());
    assertThat(lease.getHost()).isEmpty();
    assertThat(between(lease.getGrantedAt(), lease.getExpiresAt()))
        .isEqualTo(config.maxHold(ResourceKind.WASM));
  }

  @Test
  void acquire_memoryEstimate_chargedOnLease() {
    AcquireResponse response =
        b.acquire(request(session, RESOURCE_KIND_RENDER).setMemoryEstimateMb(777));

    assertThat(response.getGranted().getMemoryMb()).isEqualTo(777);
  }

  @Test
  void acquire_wasmTwiceBySameSession_returnsSameLease() {
    Lease first = b.grant(session, RESOURCE_KIND_WASM);

    Lease second = b.grant(session, RESOURCE_KIND_WASM);

    assertThat(second).isEqualTo(first);
    assertThat(b.broker.inUse(ResourceKind.WASM)).isEqualTo(1);
  }

  @Test
  void acquire_wasmByTwoSessions_twoInstances() {
    String other = b.openSession("worker-2").sessionId();

    Lease first = b.grant(session, RESOURCE_KIND_WASM);
    Lease second = b.grant(other, RESOURCE_KIND_WASM);

    assertThat(second.getLeaseId()).isNotEqualTo(first.getLeaseId());
    assertThat(b.broker.inUse(ResourceKind.WASM)).isEqualTo(2);
  }

  // ------------------------------------------------------------ refusals and waiting

  @Test
  void acquire_poolFull_refusedExhaustedNamingPool() {
    fillPdfPool();

    AcquireResponse response = b.acquire(request(session, RESOURCE_KIND_PDF));

    assertThat(response.hasRefused()).as("refused: %s", response).isTrue();
    assertThat(response.getRefused().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
    assertThat(java(response.getRefused().getRetryAfter())).isPositive();
    assertThat(response.getRefused().getDetail()).contains("pool").contains("PDF");
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(config.limit(ResourceKind.PDF));
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }

  @Test
  void acquire_waitWhilePoolFull_grantedWhenLeaseReleased() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    String other = b.openSession("worker-2").sessionId();

    ListenableFuture<AcquireResponse> waiting = acquireWaiting(other, RESOURCE_KIND_PDF, 0);
    assertThat(waiting.isDone()).isFalse();
    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(1);

    b.time.advance(Duration.ofSeconds(2));
    assertThat(b.release(session, held.getLeaseId()).getReleased()).isTrue();

    AcquireResponse response = answered(waiting);
    assertThat(response.hasGranted()).as("granted: %s", response).isTrue();
    assertThat(response.getGranted().getSessionId()).isEqualTo(other);
    assertThat(response.getGranted().getFencingToken()).isGreaterThan(held.getFencingToken());
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
  }

  @Test
  void acquire_waitersOfDifferentPriority_higherPriorityGrantedFirst() {
    Lease first = b.grant(session, RESOURCE_KIND_PDF);
    Lease second = b.grant(session, RESOURCE_KIND_PDF);
    String low = b.openSession("low").sessionId();
    String high = b.openSession("high").sessionId();
    ListenableFuture<AcquireResponse> lowWaiting = acquireWaiting(low, RESOURCE_KIND_PDF, 0);
    ListenableFuture<AcquireResponse> highWaiting = acquireWaiting(high, RESOURCE_KIND_PDF, 5);

    b.release(session, first.getLeaseId());

    assertThat(answered(highWaiting).getGranted().getSessionId()).isEqualTo(high);
    assertThat(lowWaiting.isDone()).isFalse();

    b.release(session, second.getLeaseId());

    assertThat(answered(lowWaiting).getGranted().getSessionId()).isEqualTo(low);
  }

  @Test
  void acquire_waitersOfSamePriority_grantedInArrivalOrder() {
    Lease first = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    String early = b.openSession("early").sessionId();
    String late = b.openSession("late").sessionId();
    ListenableFuture<AcquireResponse> earlyWaiting = acquireWaiting(early, RESOURCE_KIND_PDF, 3);
    ListenableFuture<AcquireResponse> lateWaiting = acquireWaiting(late, RESOURCE_KIND_PDF, 3);

    b.release(session, first.getLeaseId());

    assertThat(answered(earlyWaiting).getGranted().getSessionId()).isEqualTo(early);
    assertThat(lateWaiting.isDone()).isFalse();
  }

  @Test
  void acquire_waitRunsOut_refusedTimeoutAfterExactlyTheWait() {
    fillPdfPool();
    Duration wait = Duration.ofSeconds(3);
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(request(session, RESOURCE_KIND_PDF).setWait(proto(wait)).build());

    b.time.advance(wait.minusNanos(1));
    assertThat(waiting.isDone()).as("answered before its wait ran out").isFalse();
    b.time.advance(Duration.ofNanos(1));

    AcquireResponse response = answered(waiting);
    assertThat(response.hasRefused()).as("refused: %s", response).isTrue();
    assertThat(response.getRefused().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_TIMEOUT);
    assertThat(java(response.getRefused().getRetryAfter())).isPositive();
    assertThat(response.getRefused().getDetail()).contains("PDF");
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }

  @Test
  void acquire_waiterCancelled_nextReleaseGrantsTheOtherWaiter() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    String quitter = b.openSession("quitter").sessionId();
    String stayer = b.openSession("stayer").sessionId();
    ListenableFuture<AcquireResponse> cancelled = acquireWaiting(quitter, RESOURCE_KIND_PDF, 9);
    ListenableFuture<AcquireResponse> waiting = acquireWaiting(stayer, RESOURCE_KIND_PDF, 0);
    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(2);

    cancelled.cancel(true);

    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(1);
    b.release(session, held.getLeaseId());
    assertThat(answered(waiting).getGranted().getSessionId()).isEqualTo(stayer);
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
    assertThat(b.broker.leases())
        .extracting(dev.berth.server.lease.Lease::sessionId)
        .doesNotContain(quitter);
  }

  @Test
  void acquire_waitBeyondCallDeadline_refusedTimeoutBeforeDeadline() {
    fillPdfPool();
    ListenableFuture<AcquireResponse> waiting =
        b.future
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .acquire(
                request(session, RESOURCE_KIND_PDF).setWait(proto(Duration.ofHours(1))).build());

    advanceKeepingAlive(Duration.ofSeconds(25));
    assertThat(waiting.isDone()).isFalse();
    advanceKeepingAlive(Duration.ofSeconds(5));

    AcquireResponse response = answered(waiting);
    assertThat(response.getRefused().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_TIMEOUT);
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }

  @Test
  void acquire_oneOfTwoCallersWithSameRequestIdCancels_otherStillGranted() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    AcquireRequest request =
        request(session, RESOURCE_KIND_PDF).setRequestId("req-1").setWait(proto(WAIT)).build();
    ListenableFuture<AcquireResponse> first = b.future.acquire(request);
    ListenableFuture<AcquireResponse> second = b.future.acquire(request);

    first.cancel(true);

    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(1);
    b.release(session, held.getLeaseId());
    assertThat(answered(second).hasGranted()).isTrue();
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
  }

  @Test
  void acquire_cancelledWaiterRepeatsRequestId_waitsAgain() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    AcquireRequest request =
        request(session, RESOURCE_KIND_PDF).setRequestId("req-1").setWait(proto(WAIT)).build();
    b.future.acquire(request).cancel(true);
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();

    ListenableFuture<AcquireResponse> again = b.future.acquire(request);

    assertThat(again.isDone()).isFalse();
    b.release(session, held.getLeaseId());
    assertThat(answered(again).hasGranted()).isTrue();
  }

  @Test
  void acquire_waitingWhenSessionExpires_failsNotFound() {
    fillPdfPool();
    SessionRecorder waiterStream = b.openSession("worker-2");
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(waiterStream.sessionId(), RESOURCE_KIND_PDF)
                .setWait(proto(Duration.ofMinutes(5)))
                .build());
    waiterStream.cancel();

    b.time.advance(InProcessBroker.SESSION_TTL.minusSeconds(1));
    worker.heartbeat(1); // the holder stays; only the waiter's session expires
    b.time.advance(Duration.ofSeconds(2));

    assertThat(waiting.isDone()).isTrue();
    assertThat(failure(Status.Code.NOT_FOUND, waiting).getDescription()).startsWith("session_id");
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }

  @Test
  void acquire_waiterSessionExpiresInSameSweepAsHolder_waiterNotGranted() {
    fillPdfPool();
    b.time.advance(Duration.ofMillis(50));
    worker.heartbeat(0); // the holder is due at +15.05 s
    b.time.advance(Duration.ofMillis(50));
    SessionRecorder waiterStream = b.openSession("worker-2"); // due at +15.1 s
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(waiterStream.sessionId(), RESOURCE_KIND_PDF)
                .setWait(proto(Duration.ofMinutes(5)))
                .build());
    waiterStream.cancel();

    // Neither session heartbeats again, so both are past their TTL at the sweep at +15.25 s. The
    // holder's expiry frees its slots, but the waiter's session is just as dead: it must not be
    // granted a lease that outlives its session.
    b.time.advance(InProcessBroker.SESSION_TTL.plus(InProcessBroker.SWEEP_INTERVAL));

    assertThat(b.broker.sessionCount()).isZero();
    assertThat(waiting.isDone()).isTrue();
    assertThat(failure(Status.Code.NOT_FOUND, waiting).getDescription()).startsWith("session_id");
    assertThat(b.broker.counters().grants()).isEqualTo(config.limit(ResourceKind.PDF));
  }

  // ------------------------------------------------------------ idempotency

  @Test
  void acquire_sameRequestIdTwice_sameLease() {
    AcquireRequest.Builder request = request(session, RESOURCE_KIND_RENDER).setRequestId("req-1");

    AcquireResponse first = b.acquire(request);
    AcquireResponse second = b.acquire(request);

    assertThat(first.hasGranted()).isTrue();
    assertThat(second).isEqualTo(first);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void acquire_sameRequestIdAfterRefusal_sameRefusal() {
    fillPdfPool();
    AcquireRequest.Builder request = request(session, RESOURCE_KIND_PDF).setRequestId("req-1");
    AcquireResponse first = b.acquire(request);
    assertThat(first.hasRefused()).isTrue();

    AcquireResponse second = b.acquire(request);

    assertThat(second).isEqualTo(first);
  }

  @Test
  void acquire_sameRequestIdWhileWaiting_bothCallersGetTheOneGrant() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    AcquireRequest request =
        request(session, RESOURCE_KIND_PDF).setRequestId("req-1").setWait(proto(WAIT)).build();
    ListenableFuture<AcquireResponse> first = b.future.acquire(request);
    ListenableFuture<AcquireResponse> second = b.future.acquire(request);
    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(1);

    b.release(session, held.getLeaseId());

    assertThat(answered(first).hasGranted()).isTrue();
    assertThat(answered(second)).isEqualTo(answered(first));
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
  }

  @Test
  void acquire_requestIdReusedForOtherKind_failedPreconditionNamingRequestId() {
    b.acquire(request(session, RESOURCE_KIND_RENDER).setRequestId("req-1"));

    Status status =
        failure(
            Status.Code.FAILED_PRECONDITION,
            () -> b.acquire(request(session, RESOURCE_KIND_PDF).setRequestId("req-1")));

    assertThat(status.getDescription()).startsWith("request_id");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.PDF)).isZero();
  }

  @Test
  void acquire_sameRequestIdInAnotherSession_independentRequest() {
    String other = b.openSession("worker-2").sessionId();
    Lease first =
        b.acquire(request(session, RESOURCE_KIND_RENDER).setRequestId("req-1")).getGranted();

    Lease second =
        b.acquire(request(other, RESOURCE_KIND_RENDER).setRequestId("req-1")).getGranted();

    assertThat(second.getLeaseId()).isNotEqualTo(first.getLeaseId());
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(2);
  }

  // ------------------------------------------------------------ errors

  private void invalid(AcquireRequest.Builder request, String field) {
    assertRejectedAfterGrant(Status.Code.INVALID_ARGUMENT, request, field);
  }

  /** Holds one RENDER lease, so that each error case can show that nothing changed. */
  private void assertRejectedAfterGrant(
      Status.Code code, AcquireRequest.Builder request, String field) {
    b.grant(session, RESOURCE_KIND_RENDER);
    BrokerCounters.Snapshot countersBefore = b.broker.counters();
    Status status = failure(code, () -> b.acquire(request));
    assertThat(status.getDescription()).startsWith(field + ":");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.WASM)).isZero();
    for (ResourceKind kind : ResourceKind.values()) {
      assertThat(b.broker.queued(kind)).isZero();
    }
    assertThat(b.broker.counters()).isEqualTo(countersBefore);
  }

  @Test
  void acquire_unknownSession_notFoundNamingSessionId() {
    assertRejectedAfterGrant(
        Status.Code.NOT_FOUND,
        request("ffffffffffffffffffffffffffffffff", RESOURCE_KIND_RENDER),
        "session_id");
  }

  @Test
  void acquire_missingSessionId_invalidArgumentNamingSessionId() {
    invalid(request("", RESOURCE_KIND_RENDER), "session_id");
  }

  @Test
  void acquire_unspecifiedKind_invalidArgumentNamingKind() {
    invalid(request(session, RESOURCE_KIND_UNSPECIFIED), "kind");
  }

  @Test
  void acquire_unknownKindNumber_invalidArgumentNamingKind() {
    invalid(AcquireRequest.newBuilder().setSessionId(session).setKindValue(42), "kind");
  }

  @Test
  void acquire_renderWithoutUrl_invalidArgumentNamingUrl() {
    invalid(request(session, RESOURCE_KIND_RENDER).clearUrl(), "url");
  }

  @Test
  void acquire_urlWithoutHost_invalidArgumentNamingUrl() {
    invalid(request(session, RESOURCE_KIND_RENDER).setUrl("https:///path"), "url");
  }

  @Test
  void acquire_relativeUrl_invalidArgumentNamingUrl() {
    invalid(request(session, RESOURCE_KIND_RENDER).setUrl("/just/a/path"), "url");
  }

  @Test
  void acquire_ftpUrl_invalidArgumentNamingUrl() {
    invalid(request(session, RESOURCE_KIND_RENDER).setUrl("ftp://example.com/file"), "url");
  }

  @Test
  void acquire_oversizedUrl_invalidArgumentNamingUrl() {
    String url = "https://example.com/" + "a".repeat(9000 - 20);
    invalid(request(session, RESOURCE_KIND_RENDER).setUrl(url), "url");
  }

  @Test
  void acquire_wasmWithUrl_invalidArgumentNamingUrl() {
    invalid(request(session, RESOURCE_KIND_WASM).setUrl(InProcessBroker.RENDER_URL), "url");
  }

  @Test
  void acquire_moduleForRender_invalidArgumentNamingModule() {
    invalid(request(session, RESOURCE_KIND_RENDER).setModule("extractor"), "module");
  }

  @Test
  void acquire_negativeWait_invalidArgumentNamingWait() {
    invalid(request(session, RESOURCE_KIND_RENDER).setWait(proto(Duration.ofSeconds(-1))), "wait");
  }

  @Test
  void acquire_waitLongerThanAnHour_invalidArgumentNamingWait() {
    invalid(
        request(session, RESOURCE_KIND_RENDER).setWait(proto(Duration.ofHours(1).plusSeconds(1))),
        "wait");
  }

  @Test
  void acquire_malformedWait_invalidArgumentNamingWait() {
    invalid(
        request(session, RESOURCE_KIND_RENDER)
            .setWait(com.google.protobuf.Duration.newBuilder().setSeconds(1).setNanos(-5)),
        "wait");
  }

  @Test
  void acquire_priorityTen_invalidArgumentNamingPriority() {
    invalid(request(session, RESOURCE_KIND_RENDER).setPriority(10), "priority");
  }

  @Test
  void acquire_priorityUnsignedOverflow_invalidArgumentNamingPriority() {
    invalid(request(session, RESOURCE_KIND_RENDER).setPriority(-1), "priority");
  }

  @Test
  void acquire_requestIdWithSpace_invalidArgumentNamingRequestId() {
    invalid(request(session, RESOURCE_KIND_RENDER).setRequestId("two words"), "request_id");
  }

  @Test
  void acquire_memoryEstimateTooLarge_invalidArgumentNamingMemoryEstimate() {
    invalid(
        request(session, RESOURCE_KIND_RENDER).setMemoryEstimateMb((1 << 20) + 1),
        "memory_estimate_mb");
  }

  @Test
  void acquire_waitOnFullPoolWithInvalidPriority_nothingQueued() {
    fillPdfPool();

    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                b.acquire(
                    request(session, RESOURCE_KIND_PDF).setWait(proto(WAIT)).setPriority(10)));

    assertThat(status.getDescription()).startsWith("priority:");
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }
}
