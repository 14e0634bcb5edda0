package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_UNSPECIFIED;
import static dev.berth.server.grpc.InProcessBroker.answered;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.BundleResult;
import dev.berth.proto.v1.CallError;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseEnd;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResult;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamAcquire;
import dev.berth.proto.v1.StreamAcquireBundle;
import dev.berth.proto.v1.StreamCancel;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.lease.ResourceKind;
import io.grpc.Status;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Acquire and release on the session stream, over the in-process transport on a fake clock: the
 * same answers as the unary calls, pipelined and matched by call_id, errors kept with their call,
 * the in-flight cap, protocol violations that close the stream, and what a dropped stream does to
 * its calls.
 */
class LeaseBrokerStreamTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private InProcessBroker b;

  private SessionRecorder start(BrokerConfig.Builder config) {
    b = new InProcessBroker(config.build());
    return b.openSession("worker-1");
  }

  private SessionRecorder start() {
    return start(InProcessBroker.config());
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  /** An acquire that names no session: the stream's own. */
  private static AcquireRequest.Builder onStream(dev.berth.proto.v1.ResourceKind kind) {
    return request("", kind);
  }

  private static ReleaseRequest.Builder releaseOf(Lease lease) {
    return ReleaseRequest.newBuilder().setLeaseId(lease.getLeaseId());
  }

  private static Lease grantOf(AcquireResult result) {
    assertThat(result.hasResponse() && result.getResponse().hasGranted())
        .as("granted: %s", result)
        .isTrue();
    return result.getResponse().getGranted();
  }

  private static CallError errorOf(AcquireResult result, Status.Code code) {
    assertThat(result.hasError()).as("error: %s", result).isTrue();
    assertThat(result.getError().getCode()).as("code of %s", result).isEqualTo(code.value());
    return result.getError();
  }

  private void fillPdfPool(SessionRecorder worker) {
    for (int i = 0; i < b.broker.config().limit(ResourceKind.PDF); i++) {
      b.grant(worker.sessionId(), RESOURCE_KIND_PDF);
    }
  }

  // ------------------------------------------------------------ the calls themselves

  @Test
  void acquireAndRelease_onStream_grantedForTheStreamsSessionThenReleased() {
    SessionRecorder worker = start();

    worker.sendAcquire(7, onStream(RESOURCE_KIND_RENDER));
    AcquireResult acquired = worker.nextAcquireResult();
    Lease lease = grantOf(acquired);
    int inUseWhileHeld = b.broker.inUse(ResourceKind.RENDER);
    worker.sendRelease(8, releaseOf(lease));
    ReleaseResult released = worker.nextReleaseResult();

    assertThat(acquired.getCallId()).isEqualTo(7);
    assertThat(lease.getSessionId()).isEqualTo(worker.sessionId());
    assertThat(lease.getHost()).isEqualTo("example.com");
    assertThat(inUseWhileHeld).isEqualTo(1);
    assertThat(released.getCallId()).isEqualTo(8);
    assertThat(released.getResponse().getReleased()).isTrue();
    assertThat(released.getResponse().getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_RELEASED);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void acquire_namingTheStreamsSession_granted() {
    SessionRecorder worker = start();

    worker.sendAcquire(1, request(worker.sessionId(), RESOURCE_KIND_RENDER));

    assertThat(grantOf(worker.nextAcquireResult()).getSessionId()).isEqualTo(worker.sessionId());
  }

  @Test
  void acquire_poolFull_refusedInBandWithRetryAfterLikeTheUnaryCall() {
    SessionRecorder worker = start();
    fillPdfPool(worker);
    AcquireResponse unary = b.acquire(request(worker.sessionId(), RESOURCE_KIND_PDF));

    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF));
    AcquireResult result = worker.nextAcquireResult();

    assertThat(result.getResponse()).isEqualTo(unary);
    assertThat(result.getResponse().getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
  }

  @Test
  void pipelined_waitingAcquireHoldsUpNothing_resultsMatchedByCallIdInAnyOrder() {
    SessionRecorder worker = start();
    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF));
    worker.sendAcquire(2, onStream(RESOURCE_KIND_PDF));
    Lease first = grantOf(worker.nextAcquireResult());
    grantOf(worker.nextAcquireResult());

    worker.sendAcquire(3, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT))); // waits: pool full
    worker.sendAcquire(4, onStream(RESOURCE_KIND_RENDER));
    AcquireResult fourth = worker.nextAcquireResult(); // answered while 3 waits
    worker.heartbeat(1); // and the stream goes on
    int queuedMeanwhile = b.broker.queued(ResourceKind.PDF);
    worker.sendRelease(5, releaseOf(first)); // frees the slot call 3 waits for
    Map<Long, SessionEvent> later = new HashMap<>();
    for (int i = 0; i < 2; i++) {
      SessionEvent event = worker.next();
      later.put(
          event.hasAcquireResult()
              ? event.getAcquireResult().getCallId()
              : event.getReleaseResult().getCallId(),
          event);
    }

    assertThat(fourth.getCallId()).isEqualTo(4);
    grantOf(fourth);
    assertThat(queuedMeanwhile).isEqualTo(1);
    assertThat(later).containsOnlyKeys(3L, 5L);
    assertThat(grantOf(later.get(3L).getAcquireResult()).getKind()).isEqualTo(RESOURCE_KIND_PDF);
    assertThat(later.get(5L).getReleaseResult().getResponse().getReleased()).isTrue();
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }

  @Test
  void acquire_waitPasses_timeoutRefusalOnTheFakeClock() {
    SessionRecorder worker = start();
    fillPdfPool(worker);

    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(Duration.ofSeconds(2))));
    b.time.advance(Duration.ofSeconds(2).minusNanos(1));
    int eventsBefore = worker.pendingEvents();
    b.time.advance(Duration.ofNanos(1));
    AcquireResult result = worker.nextAcquireResult();

    assertThat(eventsBefore).isZero();
    assertThat(result.getResponse().getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_TIMEOUT);
  }

  // ------------------------------------------------------------ errors stay with their call

  @Test
  void badCalls_eachAnsweredWithTheUnaryCallsError_streamStaysOpen() {
    SessionRecorder worker = start();
    SessionRecorder other = b.openSession("worker-2");

    worker.sendAcquire(1, onStream(RESOURCE_KIND_UNSPECIFIED));
    CallError badKind = errorOf(worker.nextAcquireResult(), Status.Code.INVALID_ARGUMENT);
    worker.sendAcquire(2, request(other.sessionId(), RESOURCE_KIND_RENDER));
    CallError otherSession = errorOf(worker.nextAcquireResult(), Status.Code.INVALID_ARGUMENT);
    worker.sendAcquire(3, onStream(RESOURCE_KIND_RENDER).setWait(proto(Duration.ofHours(2))));
    CallError longWait = errorOf(worker.nextAcquireResult(), Status.Code.INVALID_ARGUMENT);
    worker.sendRelease(4, ReleaseRequest.newBuilder().setLeaseId("no-such-lease"));
    ReleaseResult unknownLease = worker.nextReleaseResult();
    worker.sendAcquire(5, onStream(RESOURCE_KIND_RENDER));
    AcquireResult fine = worker.nextAcquireResult();

    Status unaryBadKind =
        InProcessBroker.failure(
            Status.Code.INVALID_ARGUMENT,
            () -> b.acquire(request(worker.sessionId(), RESOURCE_KIND_UNSPECIFIED)));
    assertThat(badKind.getMessage()).isEqualTo(unaryBadKind.getDescription());
    assertThat(otherSession.getMessage()).startsWith("session_id:");
    assertThat(longWait.getMessage()).isEqualTo("wait: must be at most 1h, got 2h");
    assertThat(unknownLease.getError().getCode()).isEqualTo(Status.Code.NOT_FOUND.value());
    assertThat(unknownLease.getCallId()).isEqualTo(4);
    grantOf(fine);
    assertThat(worker.isClosed()).isFalse();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  // ------------------------------------------------------------ bundles on the stream

  private static void sendBundle(
      SessionRecorder worker, long callId, AcquireBundleRequest.Builder r) {
    worker.send(
        SessionRequest.newBuilder()
            .setAcquireBundle(StreamAcquireBundle.newBuilder().setCallId(callId).setRequest(r))
            .build());
  }

  /** A RENDER + PDF bundle for the stream's own session (no session_id). */
  private static AcquireBundleRequest.Builder renderAndPdf() {
    return AcquireBundleRequest.newBuilder()
        .addItems(onStream(RESOURCE_KIND_RENDER))
        .addItems(onStream(RESOURCE_KIND_PDF));
  }

  @Test
  void acquireBundle_onStream_everyLeaseForTheStreamsSession() {
    SessionRecorder worker = start();

    sendBundle(worker, 9, renderAndPdf().setRequestId("page-1"));
    BundleResult result = worker.next().getBundleResult();

    assertThat(result.getCallId()).isEqualTo(9);
    assertThat(result.getResponse().getGranted().getLeasesList())
        .extracting(Lease::getKind)
        .containsExactly(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF);
    assertThat(b.broker.leases())
        .allSatisfy(l -> assertThat(l.sessionId()).isEqualTo(worker.sessionId()))
        .hasSize(2);
  }

  @Test
  void acquireBundle_waitingForPdf_holdsNothingAndBlocksNoOtherCall_grantedWhenAllFits() {
    SessionRecorder worker = start();
    fillPdfPool(worker);

    sendBundle(worker, 1, renderAndPdf().setWait(proto(WAIT)));
    worker.sendAcquire(2, onStream(RESOURCE_KIND_RENDER));
    AcquireResult meanwhile = worker.nextAcquireResult();
    int renderWhileWaiting = b.broker.inUse(ResourceKind.RENDER);
    worker.sendRelease(3, ReleaseRequest.newBuilder().setLeaseId(firstPdfLease()));
    Map<Long, SessionEvent> later = new HashMap<>();
    for (int i = 0; i < 2; i++) {
      SessionEvent event = worker.next();
      later.put(
          event.hasBundleResult()
              ? event.getBundleResult().getCallId()
              : event.getReleaseResult().getCallId(),
          event);
    }

    grantOf(meanwhile);
    assertThat(renderWhileWaiting).as("the waiting bundle holds no RENDER slot").isEqualTo(1);
    assertThat(later).containsOnlyKeys(1L, 3L);
    assertThat(later.get(1L).getBundleResult().getResponse().getGranted().getLeasesCount())
        .isEqualTo(2);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(2);
  }

  @Test
  void acquireBundle_badItem_callErrorNamesTheItemField_streamStaysOpen() {
    SessionRecorder worker = start();

    sendBundle(
        worker, 4, renderAndPdf().addItems(onStream(RESOURCE_KIND_PDF).setRequestId("mine")));
    BundleResult result = worker.next().getBundleResult();
    worker.sendAcquire(5, onStream(RESOURCE_KIND_RENDER));
    AcquireResult fine = worker.nextAcquireResult();

    assertThat(result.getCallId()).isEqualTo(4);
    assertThat(result.getError().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
    assertThat(result.getError().getMessage()).startsWith("items[2].request_id");
    grantOf(fine);
    assertThat(worker.isClosed()).isFalse();
  }

  @Test
  void acquireBundle_sameRequestIdOnStreamAndUnary_oneGrant() {
    SessionRecorder worker = start();

    sendBundle(worker, 1, renderAndPdf().setRequestId("page-7"));
    BundleResult onStream = worker.next().getBundleResult();
    AcquireBundleResponse unary =
        b.blocking.acquireBundle(
            renderAndPdf().setSessionId(worker.sessionId()).setRequestId("page-7").build());

    assertThat(unary.getGranted()).isEqualTo(onStream.getResponse().getGranted());
    assertThat(b.broker.leases()).hasSize(2);
  }

  @Test
  void inFlightCap_reached_callRefusedResourceExhaustedNamingKey_othersUnharmed() {
    SessionRecorder worker = start(InProcessBroker.config().streamCallsInFlight(2));
    fillPdfPool(worker);
    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)));
    worker.sendAcquire(2, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)));

    worker.sendAcquire(3, onStream(RESOURCE_KIND_RENDER));
    CallError capped = errorOf(worker.nextAcquireResult(), Status.Code.RESOURCE_EXHAUSTED);
    b.time.advance(WAIT);
    AcquireResult first = worker.nextAcquireResult();
    AcquireResult second = worker.nextAcquireResult();
    worker.sendAcquire(3, onStream(RESOURCE_KIND_RENDER)); // room again: the same id is free
    AcquireResult retried = worker.nextAcquireResult();

    assertThat(capped.getMessage())
        .contains("2 calls in flight")
        .contains(BrokerConfig.Keys.STREAM_CALLS_IN_FLIGHT);
    assertThat(first.getResponse().getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_TIMEOUT);
    assertThat(second.getResponse().getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_TIMEOUT);
    assertThat(retried.getCallId()).isEqualTo(3);
    grantOf(retried);
  }

  @Test
  void callRateCap_streamCallsCountLikeUnaryCalls_refusalHeldThenNamingTheCap() {
    b =
        new InProcessBroker(
            Policy.of(InProcessBroker.config().build()).withCaps(new PrincipalCaps(0, 0, 0, 2)));
    SessionRecorder worker = b.openSession("worker-1"); // opening the stream took one call

    worker.sendAcquire(1, onStream(RESOURCE_KIND_RENDER)); // the second: admitted
    grantOf(worker.nextAcquireResult());
    worker.sendAcquire(2, onStream(RESOURCE_KIND_RENDER)); // over the cap: held a second
    int eventsWhileHeld = worker.pendingEvents();
    b.time.advance(Duration.ofSeconds(1));
    CallError refused = errorOf(worker.nextAcquireResult(), Status.Code.RESOURCE_EXHAUSTED);

    assertThat(eventsWhileHeld).isZero();
    assertThat(refused.getMessage()).contains(PrincipalCaps.Keys.CALLS_PER_SECOND);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  // ------------------------------------------------------------ protocol violations

  @Test
  void duplicateCallIdInFlight_closesStreamInvalidArgument_andCancelsItsWaitingCall() {
    SessionRecorder worker = start();
    fillPdfPool(worker);
    worker.sendAcquire(42, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)));
    int queuedBefore = b.broker.queued(ResourceKind.PDF);

    worker.sendAcquire(42, onStream(RESOURCE_KIND_RENDER));
    Status status = worker.status();

    assertThat(queuedBefore).isEqualTo(1);
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("call_id: 42 is already in flight");
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).as("the duplicate was not served").isZero();
  }

  @Test
  void callIdOfAnsweredCall_reused_servedAgain() {
    SessionRecorder worker = start();

    worker.sendAcquire(-1L, onStream(RESOURCE_KIND_RENDER)); // 2^64 - 1 on the wire
    AcquireResult first = worker.nextAcquireResult();
    worker.sendAcquire(-1L, onStream(RESOURCE_KIND_RENDER));
    AcquireResult second = worker.nextAcquireResult();

    assertThat(first.getCallId()).isEqualTo(-1L);
    assertThat(grantOf(first).getLeaseId()).isNotEqualTo(grantOf(second).getLeaseId());
  }

  @Test
  void callBeforeHello_closesStreamInvalidArgument() {
    b = new InProcessBroker();
    SessionRecorder stream = b.openStream();

    stream.sendAcquire(1, onStream(RESOURCE_KIND_RENDER));
    Status status = stream.status();

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("first message of a session stream must be hello");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void noHelloWithinTheSessionTtl_closesStreamInvalidArgumentNamingHello() {
    b = new InProcessBroker();
    SessionRecorder silent = b.openStream();

    b.time.advance(InProcessBroker.SESSION_TTL);
    Status status = silent.status();

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .startsWith("hello: none came within session.ttl (15s)")
        .contains("the first message of a session stream must be hello");
    assertThat(b.broker.sessions("", "", 10)).isEmpty();
  }

  @Test
  void helloJustBeforeItsDeadline_streamStaysOpenPastIt() {
    b = new InProcessBroker();
    SessionRecorder late = b.openStream();
    b.time.advance(InProcessBroker.SESSION_TTL.minusMillis(1));
    late.hello("late");

    b.time.advance(Duration.ofMillis(1));
    late.heartbeat(1);

    assertThat(late.isClosed()).isFalse();
  }

  // ------------------------------------------------------------ idempotency and drops

  @Test
  void requestId_grantedOnStream_unaryRetryGetsTheFirstAnswer_andStreamRetryToo() {
    SessionRecorder worker = start();
    worker.sendAcquire(1, onStream(RESOURCE_KIND_RENDER).setRequestId("page-1"));
    Lease first = grantOf(worker.nextAcquireResult());

    AcquireResponse unary =
        b.acquire(request(worker.sessionId(), RESOURCE_KIND_RENDER).setRequestId("page-1"));
    worker.sendAcquire(2, onStream(RESOURCE_KIND_RENDER).setRequestId("page-1"));
    Lease again = grantOf(worker.nextAcquireResult());

    assertThat(unary.getGranted()).isEqualTo(first);
    assertThat(again).isEqualTo(first);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void requestId_waitingUnaryCall_streamRetryJoinsIt_oneGrantAnswersBoth() {
    SessionRecorder worker = start();
    fillPdfPool(worker);
    ListenableFuture<AcquireResponse> unary =
        b.future.acquire(
            request(worker.sessionId(), RESOURCE_KIND_PDF)
                .setWait(proto(WAIT))
                .setRequestId("pdf-1")
                .build());
    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)).setRequestId("pdf-1"));
    int queued = b.broker.queued(ResourceKind.PDF);

    b.release(worker.sessionId(), firstPdfLease());
    Lease onStream = grantOf(worker.nextAcquireResult());

    assertThat(queued).as("one place in the queue for both").isEqualTo(1);
    assertThat(answered(unary).getGranted()).isEqualTo(onStream);
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
  }

  private String firstPdfLease() {
    return b.broker.leases().stream()
        .filter(l -> l.kind() == ResourceKind.PDF)
        .findFirst()
        .orElseThrow()
        .id();
  }

  @Test
  void droppedStream_cancelsItsWaitingCalls_capacityGoesToNobody() {
    SessionRecorder worker = start();
    fillPdfPool(worker);
    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)));
    worker.sendAcquire(2, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)));
    int queuedBefore = b.broker.queued(ResourceKind.PDF);

    worker.cancel();
    b.release(worker.sessionId(), firstPdfLease());

    assertThat(queuedBefore).isEqualTo(2);
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.PDF)).as("nothing granted to the gone calls").isOne();
  }

  @Test
  void resume_retryWithSameRequestId_getsTheGrantMadeBeforeTheDrop_notASecondOne() {
    SessionRecorder first = start();
    String session = first.sessionId();
    first.sendAcquire(1, onStream(RESOURCE_KIND_RENDER).setRequestId("page-9"));
    Lease granted = grantOf(first.nextAcquireResult());
    first.cancel(); // as if the result had been lost with the connection

    SessionRecorder second = b.openStream();
    second.resume("worker-1", session);
    second.sendAcquire(1, onStream(RESOURCE_KIND_RENDER).setRequestId("page-9"));
    Lease retried = grantOf(second.nextAcquireResult());

    assertThat(retried).isEqualTo(granted);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void resume_heldLeasesComplete_endsTheUndeclaredLeaseAndKeepsTheAwaitedGrant() {
    SessionRecorder first = start();
    String session = first.sessionId();
    first.sendAcquire(1, onStream(RESOURCE_KIND_RENDER).setRequestId("page-1"));
    Lease released = grantOf(first.nextAcquireResult()); // its release was lost
    first.sendAcquire(2, onStream(RESOURCE_KIND_PDF).setRequestId("page-2"));
    Lease awaited = grantOf(first.nextAcquireResult()); // its answer was lost
    first.cancel();

    SessionRecorder second = b.openStream();
    Opened opened =
        second.hello(
            Hello.newBuilder()
                .setWorkerId("worker-1")
                .setResumeSessionId(session)
                .setHeldLeasesComplete(true)
                .addAwaitedRequestIds("page-2"));
    second.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setRequestId("page-2"));
    Lease retried = grantOf(second.nextAcquireResult());

    assertThat(opened.getResumed()).isTrue();
    assertThat(retried).isEqualTo(awaited);
    assertThat(b.broker.leases()).extracting(l -> l.id()).containsExactly(awaited.getLeaseId());
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
    assertThat(released.getLeaseId()).isNotEqualTo(awaited.getLeaseId());
  }

  @Test
  void hello_awaitedRequestIdsWithoutHeldLeasesComplete_invalidArgumentNamingTheField() {
    SessionRecorder first = start();
    SessionRecorder second = b.openStream();
    second.send(
        SessionRequest.newBuilder()
            .setHello(
                Hello.newBuilder()
                    .setWorkerId("worker-1")
                    .setResumeSessionId(first.sessionId())
                    .addAwaitedRequestIds("page-1"))
            .build());

    Status status = second.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("hello.awaited_request_ids");
  }

  @Test
  void resume_callWaitingWhenStreamDropped_retriedWithSameRequestId_waitsAfreshAndGrantedOnce() {
    SessionRecorder first = start();
    String session = first.sessionId();
    fillPdfPool(first);
    first.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)).setRequestId("pdf-9"));
    first.cancel();

    SessionRecorder second = b.openStream();
    second.resume("worker-1", session);
    second.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)).setRequestId("pdf-9"));
    int queued = b.broker.queued(ResourceKind.PDF);
    b.release(session, firstPdfLease());
    grantOf(second.nextAcquireResult());

    assertThat(queued).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }

  @Test
  void workerStopsReading_resultsPileUp_streamClosedResourceExhausted_waitingCallCancelled() {
    b = new InProcessBroker();
    SessionRecorder worker = SessionRecorder.openNotReading(b.async);
    worker.send(SessionRequest.newBuilder().setHello(hello()).build());
    worker.request(1);
    String session = worker.next().getOpened().getSessionId();
    for (int i = 0; i < b.broker.config().limit(ResourceKind.PDF); i++) {
      b.grant(session, RESOURCE_KIND_PDF);
    }
    worker.sendAcquire(0, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)).setRequestId("w"));
    int queued = b.broker.queued(ResourceKind.PDF);

    // Refused at once, one result each, none read.
    for (int call = 1; call <= SessionStream.Limits.DEFAULT.maxPendingEvents() + 1; call++) {
      worker.sendAcquire(call, onStream(RESOURCE_KIND_PDF));
    }
    Status status = worker.status();

    assertThat(queued).isEqualTo(1);
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(b.broker.queued(ResourceKind.PDF)).as("its waiting call cancelled").isZero();
    assertThat(b.broker.sessionCount()).as("the session outlives its stream").isOne();
  }

  private static dev.berth.proto.v1.Hello.Builder hello() {
    return dev.berth.proto.v1.Hello.newBuilder().setWorkerId("worker-1");
  }

  private static SessionRequest cancelOf(long callId) {
    return SessionRequest.newBuilder()
        .setCancel(StreamCancel.newBuilder().setCallId(callId))
        .build();
  }

  @Test
  void cancel_waitingAcquire_answeredCancelled_placeGivenUp_streamStaysOpen() {
    SessionRecorder worker = start();
    fillPdfPool(worker);
    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)).setRequestId("pdf-1"));
    int queuedBefore = b.broker.queued(ResourceKind.PDF);

    worker.send(cancelOf(1));
    AcquireResult cancelled = worker.nextAcquireResult();
    b.release(worker.sessionId(), firstPdfLease());
    worker.sendAcquire(2, onStream(RESOURCE_KIND_RENDER));
    AcquireResult next = worker.nextAcquireResult();

    assertThat(queuedBefore).isEqualTo(1);
    assertThat(cancelled.getCallId()).isEqualTo(1);
    assertThat(errorOf(cancelled, Status.Code.CANCELLED).getMessage())
        .isEqualTo("call 1 cancelled by the worker");
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.PDF))
        .as("the freed slot went to nobody")
        .isEqualTo(b.broker.config().limit(ResourceKind.PDF) - 1);
    assertThat(next.getCallId()).isEqualTo(2);
    grantOf(next);
  }

  @Test
  void cancel_waitingBundle_answeredCancelled_holdsNothing() {
    SessionRecorder worker = start();
    fillPdfPool(worker);
    sendBundle(worker, 1, renderAndPdf().setWait(proto(WAIT)));

    worker.send(cancelOf(1));
    BundleResult cancelled = worker.next().getBundleResult();
    b.release(worker.sessionId(), firstPdfLease());

    assertThat(cancelled.getCallId()).isEqualTo(1);
    assertThat(cancelled.getError().getCode()).isEqualTo(Status.Code.CANCELLED.value());
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void opened_saysTheBrokerUnderstandsCancels() {
    b = new InProcessBroker(InProcessBroker.config().build());

    assertThat(b.openStream().hello("worker-1").getStreamCallCancel()).isTrue();
  }

  @Test
  void cancel_ofAnAnsweredOrUnknownCall_changesNothingAndAnswersNothing() {
    SessionRecorder worker = start();
    worker.sendAcquire(1, onStream(RESOURCE_KIND_RENDER));
    grantOf(worker.nextAcquireResult());

    worker.send(cancelOf(1));
    worker.send(cancelOf(99));
    worker.sendAcquire(2, onStream(RESOURCE_KIND_RENDER));
    AcquireResult next = worker.nextAcquireResult();

    assertThat(next.getCallId()).as("no answer to either cancel came first").isEqualTo(2);
    grantOf(next);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).as("the granted lease stands").isEqualTo(2);
    assertThat(worker.isClosed()).isFalse();
  }

  @Test
  void goodbye_withCallsWaiting_endsThemWithTheSession() {
    SessionRecorder worker = start();
    fillPdfPool(worker);
    worker.sendAcquire(1, onStream(RESOURCE_KIND_PDF).setWait(proto(WAIT)));

    worker.goodbye();

    assertThat(worker.status().getCode()).isEqualTo(Status.Code.OK);
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.PDF)).isZero();
  }

  @Test
  void emptyAcquireMessage_answeredInvalidArgumentNamingKind() {
    SessionRecorder worker = start();

    worker.send(
        SessionRequest.newBuilder().setAcquire(StreamAcquire.newBuilder().setCallId(5)).build());

    CallError error = errorOf(worker.nextAcquireResult(), Status.Code.INVALID_ARGUMENT);
    assertThat(error.getMessage()).startsWith("kind:");
  }
}
