package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.InProcessBroker.answered;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.base.Strings;
import com.google.common.util.concurrent.ListenableFuture;
import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.DrainBrokerRequest;
import dev.berth.proto.v1.DrainSessionRequest;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.Outcome;
import dev.berth.proto.v1.PoolLimit;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.RevokeLeaseRequest;
import dev.berth.proto.v1.RevokeReason;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamAcquire;
import dev.berth.proto.v1.StreamAcquireBundle;
import dev.berth.proto.v1.StreamRelease;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.server.broker.LeaseCursor;
import dev.berth.server.config.Policy;
import dev.berth.server.tracing.Spans;
import dev.berth.server.tracing.Tracing;
import dev.berth.server.wasm.ModuleRegistry;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The daemon's spans over the in-process transport, read from an in-memory exporter: one per
 * acquire, bundle, release, session hello and admin change, children of the caller's W3C {@code
 * traceparent} (sent here as raw metadata, exactly as a Python or any other client sends it, or in
 * the fields of a call on the session stream), with the attributes docs/operations.md lists, and
 * timed on the broker's clock.
 */
class TracingServiceTest {
  /** The example of the W3C Trace Context specification. */
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

  private static final String CALLER_SPAN = "00f067aa0ba902b7";
  private static final Metadata.Key<String> TRACEPARENT =
      Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private InProcessBroker b;
  private SessionRecorder worker;
  private String session;

  @BeforeEach
  void setUp() {
    b =
        new InProcessBroker(
            Policy.of(InProcessBroker.config().build()),
            time ->
                BrokerServer.Options.DEFAULT.withTracing(
                    Tracing.to(SimpleSpanProcessor.create(exporter), time)),
            ModuleRegistry.empty());
    worker = b.openSession("worker-1");
    session = worker.sessionId();
    exporter.reset(); // the hello's span; tests that read it open their own sessions
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  /** Metadata carrying {@code traceparent} with the given flags (01 sampled, 00 not). */
  private static Metadata traceparent(String flags) {
    Metadata headers = new Metadata();
    headers.put(TRACEPARENT, "00-" + TRACE_ID + "-" + CALLER_SPAN + "-" + flags);
    return headers;
  }

  private AcquireResponse acquireTraced(dev.berth.proto.v1.AcquireRequest.Builder request) {
    return b.blocking
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(traceparent("01")))
        .acquire(request.build());
  }

  private List<SpanData> spans(String name) {
    return exporter.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).toList();
  }

  private SpanData only(String name) {
    List<SpanData> spans = spans(name);
    assertThat(spans).as("spans named %s", name).hasSize(1);
    return spans.get(0);
  }

  private void fillPdfPool() {
    for (int i = 0; i < b.broker.config().limit(dev.berth.server.lease.ResourceKind.PDF); i++) {
      b.grant(session, RESOURCE_KIND_PDF);
    }
  }

  // ------------------------------------------------------------ acquire

  @Test
  void acquire_withTraceparent_isAServerChildOfTheCallersSpan() {
    Lease lease = acquireTraced(request(session, RESOURCE_KIND_RENDER)).getGranted();

    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(span.getParentSpanId()).isEqualTo(CALLER_SPAN);
    assertThat(span.getParentSpanContext().isRemote()).isTrue();
    assertThat(span.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    assertThat(span.getAttributes().get(Spans.RPC_SERVICE)).isEqualTo("berth.v1.LeaseBroker");
    assertThat(span.getAttributes().get(Spans.RPC_METHOD)).isEqualTo("Acquire");
    assertThat(span.getAttributes().get(Spans.RPC_GRPC_STATUS_CODE)).isZero();
    assertThat(span.getAttributes().get(Spans.PRINCIPAL)).isEqualTo(Principals.ANONYMOUS);
    assertThat(span.getAttributes().get(Spans.SESSION_ID)).isEqualTo(session);
    assertThat(span.getAttributes().get(Spans.WORKER_ID)).isEqualTo("worker-1");
    assertThat(span.getAttributes().get(Spans.KIND)).isEqualTo("RENDER");
    assertThat(span.getAttributes().get(Spans.HOST)).isEqualTo("example.com");
    assertThat(span.getAttributes().get(Spans.DECISION)).isEqualTo("granted");
    assertThat(span.getAttributes().get(Spans.LEASE_ID)).isEqualTo(lease.getLeaseId());
    assertThat(span.getAttributes().get(Spans.FENCING_TOKEN)).isEqualTo(lease.getFencingToken());
    assertThat(span.getAttributes().get(Spans.WAIT_MS)).isZero();
    assertThat(span.getAttributes().get(Spans.JOB)).isNull(); // the hello named no job
  }

  @Test
  void acquire_withoutTraceparent_startsItsOwnTrace() {
    b.grant(session, RESOURCE_KIND_RENDER);

    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getParentSpanContext().isValid()).isFalse();
    assertThat(span.getTraceId()).isNotEqualTo(TRACE_ID);
  }

  @Test
  void acquire_callerDidNotSample_noSpanIsKept() {
    b.blocking
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(traceparent("00")))
        .acquire(request(session, RESOURCE_KIND_RENDER).build());

    assertThat(spans(Spans.ACQUIRE)).isEmpty();
  }

  @Test
  void acquire_sessionWithAJob_spanNamesTheJob() {
    SessionRecorder crawler = b.openStream();
    String id =
        crawler
            .hello(Hello.newBuilder().setWorkerId("crawler-2").setJob("news-crawl"))
            .getSessionId();
    SessionRecorder labelled = b.openStream();
    String labelledId =
        labelled
            .hello(Hello.newBuilder().setWorkerId("crawler-3").putLabels("job", "shop-crawl"))
            .getSessionId();

    b.grant(id, RESOURCE_KIND_PDF);
    b.grant(labelledId, RESOURCE_KIND_PDF);

    assertThat(spans(Spans.ACQUIRE))
        .extracting(s -> s.getAttributes().get(Spans.JOB))
        .containsExactly("news-crawl", "shop-crawl");
  }

  @Test
  void acquire_waitingInTheQueue_spanEndsWhenTheQueueAnswers() {
    fillPdfPool();
    exporter.reset();
    ListenableFuture<AcquireResponse> waiting =
        b.future
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(traceparent("01")))
            .acquire(
                request(session, RESOURCE_KIND_PDF).setWait(proto(Duration.ofSeconds(10))).build());
    assertThat(waiting.isDone()).isFalse();
    assertThat(spans(Spans.ACQUIRE)).as("the handler returned; the acquire still waits").isEmpty();

    b.time.advance(Duration.ofSeconds(3));
    worker.heartbeat(0);
    String held =
        b.broker.leases("", null, "", session, "", LeaseCursor.START, 10).get(0).lease().id();
    b.release(session, held);

    assertThat(answered(waiting).hasGranted()).isTrue();
    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(span.getAttributes().get(Spans.DECISION)).isEqualTo("granted");
    assertThat(span.getAttributes().get(Spans.WAIT_MS)).isEqualTo(3000);
    assertThat(span.getAttributes().get(Spans.MAX_WAIT_MS)).isEqualTo(10_000);
    assertThat(span.getEndEpochNanos() - span.getStartEpochNanos())
        .isEqualTo(TimeUnit.SECONDS.toNanos(3));
  }

  @Test
  void acquire_refused_namesTheReasonAndTheRule() {
    fillPdfPool();
    exporter.reset();

    AcquireResponse response = acquireTraced(request(session, RESOURCE_KIND_PDF));

    assertThat(response.hasRefused()).isTrue();
    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getAttributes().get(Spans.DECISION)).isEqualTo("refused");
    assertThat(span.getAttributes().get(Spans.REFUSAL_REASON)).isEqualTo("EXHAUSTED");
    assertThat(span.getAttributes().get(Spans.REFUSAL_DETAIL))
        .isEqualTo(response.getRefused().getDetail())
        .contains("PDF");
    assertThat(span.getAttributes().get(Spans.REFUSAL_RULE))
        .isEqualTo(Strings.emptyToNull(response.getRefused().getRule()));
    assertThat(span.getAttributes().get(Spans.RETRY_AFTER_MS))
        .isEqualTo(InProcessBroker.java(response.getRefused().getRetryAfter()).toMillis());
    // A refusal is an answer, not an error.
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
  }

  @Test
  void acquire_cancelledWhileWaiting_spanEndsCancelled() {
    fillPdfPool();
    exporter.reset();
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(session, RESOURCE_KIND_PDF).setWait(proto(Duration.ofSeconds(10))).build());

    waiting.cancel(true);

    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(span.getStatus().getDescription()).startsWith("CANCELLED");
    assertThat(span.getAttributes().get(Spans.DECISION)).isNull();
  }

  @Test
  void acquire_invalidRequest_spanRecordsTheError() {
    failure(
        Status.Code.INVALID_ARGUMENT,
        () -> acquireTraced(request(session, RESOURCE_KIND_RENDER).setUrl("not a url")));

    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(span.getStatus().getDescription()).startsWith("INVALID_ARGUMENT: url");
    assertThat(span.getAttributes().get(Spans.RPC_GRPC_STATUS_CODE))
        .isEqualTo(Status.Code.INVALID_ARGUMENT.value());
  }

  // ------------------------------------------------------------ release

  @Test
  void release_withOutcome_namesTheOutcomeAndTheResult() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    b.blocking
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(traceparent("01")))
        .release(
            ReleaseRequest.newBuilder()
                .setSessionId(session)
                .setLeaseId(lease.getLeaseId())
                .setOutcome(Outcome.newBuilder().setSuccess(false).setHttpStatus(503))
                .build());
    b.release(session, lease.getLeaseId()); // again: already ended

    List<SpanData> releases = spans(Spans.RELEASE);
    assertThat(releases).hasSize(2);
    SpanData first = releases.get(0);
    assertThat(first.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(first.getAttributes().get(Spans.LEASE_ID)).isEqualTo(lease.getLeaseId());
    assertThat(first.getAttributes().get(Spans.OUTCOME)).isEqualTo("failure");
    assertThat(first.getAttributes().get(Spans.OUTCOME_HTTP_STATUS)).isEqualTo(503);
    assertThat(first.getAttributes().get(Spans.RELEASED)).isTrue();
    assertThat(first.getAttributes().get(Spans.ENDED_BY)).isEqualTo("RELEASED");
    SpanData second = releases.get(1);
    assertThat(second.getAttributes().get(Spans.OUTCOME)).isEqualTo("unknown");
    assertThat(second.getAttributes().get(Spans.RELEASED)).isFalse();
  }

  // ------------------------------------------------------------ calls on the session stream

  /** The caller's span of a stream release, other than {@link #CALLER_SPAN}. */
  private static final String RELEASE_CALLER_SPAN = "b7ad6b7169203331";

  private static String traceparentOf(String spanId) {
    return "00-" + TRACE_ID + "-" + spanId + "-01";
  }

  /** A stream acquire made under {@link #CALLER_SPAN}, of the stream's own session. */
  private static StreamAcquire.Builder streamAcquire(
      long callId, dev.berth.proto.v1.ResourceKind kind) {
    return StreamAcquire.newBuilder()
        .setCallId(callId)
        .setRequest(request("", kind).setWait(proto(Duration.ofSeconds(10))))
        .setTraceparent(traceparentOf(CALLER_SPAN));
  }

  @Test
  void streamCalls_withTraceparent_spansAreTheCallersChildrenLikeTheUnaryOnes() {
    fillPdfPool();
    exporter.reset();
    worker.send(
        SessionRequest.newBuilder()
            .setAcquire(streamAcquire(7, RESOURCE_KIND_PDF).setTracestate("vendor=1"))
            .build());
    worker.heartbeat(0); // answered after the acquire: the acquire is waiting now
    assertThat(spans(Spans.ACQUIRE)).as("the acquire still waits").isEmpty();

    b.time.advance(Duration.ofSeconds(3));
    worker.heartbeat(1);
    String held =
        b.broker.leases("", null, "", session, "", LeaseCursor.START, 10).get(0).lease().id();
    b.release(session, held);
    AcquireResult result = worker.nextAcquireResult();

    assertThat(result.getCallId()).isEqualTo(7);
    Lease lease = result.getResponse().getGranted();
    SpanData acquire = only(Spans.ACQUIRE);
    assertThat(acquire.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(acquire.getParentSpanId()).isEqualTo(CALLER_SPAN);
    assertThat(acquire.getParentSpanContext().isRemote()).isTrue();
    assertThat(acquire.getParentSpanContext().getTraceState().get("vendor")).isEqualTo("1");
    assertThat(acquire.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(acquire.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    assertThat(acquire.getAttributes().get(Spans.RPC_METHOD)).isEqualTo("OpenSession");
    assertThat(acquire.getAttributes().get(Spans.RPC_GRPC_STATUS_CODE)).isZero();
    assertThat(acquire.getAttributes().get(Spans.PRINCIPAL)).isEqualTo(Principals.ANONYMOUS);
    assertThat(acquire.getAttributes().get(Spans.SESSION_ID))
        .as("left empty on the stream: the stream's session")
        .isEqualTo(session);
    assertThat(acquire.getAttributes().get(Spans.WORKER_ID)).isEqualTo("worker-1");
    assertThat(acquire.getAttributes().get(Spans.KIND)).isEqualTo("PDF");
    assertThat(acquire.getAttributes().get(Spans.DECISION)).isEqualTo("granted");
    assertThat(acquire.getAttributes().get(Spans.LEASE_ID)).isEqualTo(lease.getLeaseId());
    assertThat(acquire.getAttributes().get(Spans.FENCING_TOKEN)).isEqualTo(lease.getFencingToken());
    assertThat(acquire.getAttributes().get(Spans.WAIT_MS)).isEqualTo(3000);
    assertThat(acquire.getAttributes().get(Spans.MAX_WAIT_MS)).isEqualTo(10_000);
    assertThat(acquire.getEndEpochNanos() - acquire.getStartEpochNanos())
        .isEqualTo(TimeUnit.SECONDS.toNanos(3));

    worker.send(
        SessionRequest.newBuilder()
            .setRelease(
                StreamRelease.newBuilder()
                    .setCallId(8)
                    .setRequest(
                        ReleaseRequest.newBuilder()
                            .setLeaseId(lease.getLeaseId())
                            .setOutcome(Outcome.newBuilder().setSuccess(true)))
                    .setTraceparent(traceparentOf(RELEASE_CALLER_SPAN)))
            .build());
    assertThat(worker.nextReleaseResult().getResponse().getReleased()).isTrue();

    SpanData release =
        spans(Spans.RELEASE).stream()
            .filter(s -> s.getParentSpanId().equals(RELEASE_CALLER_SPAN))
            .findFirst()
            .orElseThrow();
    assertThat(release.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(release.getAttributes().get(Spans.RPC_METHOD)).isEqualTo("OpenSession");
    assertThat(release.getAttributes().get(Spans.SESSION_ID)).isEqualTo(session);
    assertThat(release.getAttributes().get(Spans.LEASE_ID)).isEqualTo(lease.getLeaseId());
    assertThat(release.getAttributes().get(Spans.OUTCOME)).isEqualTo("success");
    assertThat(release.getAttributes().get(Spans.RELEASED)).isTrue();
    assertThat(release.getAttributes().get(Spans.ENDED_BY)).isEqualTo("RELEASED");
  }

  @Test
  void streamAcquire_streamDroppedWhileWaiting_spanEndsWithTheStream() {
    fillPdfPool();
    exporter.reset();
    worker.send(
        SessionRequest.newBuilder().setAcquire(streamAcquire(1, RESOURCE_KIND_PDF)).build());
    worker.heartbeat(0);

    worker.cancel();

    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getParentSpanId()).isEqualTo(CALLER_SPAN);
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(span.getAttributes().get(Spans.DECISION)).isNull();
  }

  @Test
  void streamAcquire_invalidRequest_spanRecordsTheCallError() {
    worker.send(
        SessionRequest.newBuilder()
            .setAcquire(
                streamAcquire(3, RESOURCE_KIND_RENDER)
                    .setRequest(request("", RESOURCE_KIND_RENDER).setUrl("not a url")))
            .build());

    assertThat(worker.nextAcquireResult().hasError()).isTrue();
    SpanData span = only(Spans.ACQUIRE);
    assertThat(span.getParentSpanId()).isEqualTo(CALLER_SPAN);
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(span.getAttributes().get(Spans.RPC_GRPC_STATUS_CODE))
        .isEqualTo(Status.Code.INVALID_ARGUMENT.value());
  }

  @Test
  void streamBundle_malformedTraceparent_ownTraceAndABundleSpan() {
    worker.send(
        SessionRequest.newBuilder()
            .setAcquireBundle(
                StreamAcquireBundle.newBuilder()
                    .setCallId(4)
                    .setRequest(
                        AcquireBundleRequest.newBuilder()
                            .addItems(request("", RESOURCE_KIND_RENDER))
                            .addItems(request("", RESOURCE_KIND_PDF)))
                    .setTraceparent("00-not-a-trace-context"))
            .build());

    SessionEvent event = worker.next();
    assertThat(event.getBundleResult().getResponse().hasGranted()).as("%s", event).isTrue();
    SpanData span = only(Spans.ACQUIRE_BUNDLE);
    assertThat(span.getParentSpanContext().isValid()).isFalse();
    assertThat(span.getAttributes().get(Spans.RPC_METHOD)).isEqualTo("OpenSession");
    assertThat(span.getAttributes().get(Spans.SESSION_ID)).isEqualTo(session);
    assertThat(span.getAttributes().get(Spans.WORKER_ID)).isEqualTo("worker-1");
    assertThat(span.getAttributes().get(Spans.BUNDLE_ITEMS)).isEqualTo(2);
    assertThat(span.getAttributes().get(Spans.DECISION)).isEqualTo("granted");
    assertThat(span.getAttributes().get(Spans.WAIT_MS)).isZero();
  }

  // ------------------------------------------------------------ sessions

  @Test
  void openSession_thenResume_oneSpanForEachHello() {
    SessionRecorder first =
        SessionRecorder.open(
            b.async.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(traceparent("01"))));
    String id =
        first.hello(Hello.newBuilder().setWorkerId("worker-2").setJob("news")).getSessionId();
    first.heartbeat(0);
    first.cancel();
    SessionRecorder second = b.openStream();
    second.resume("worker-2", id);

    SpanData open = only(Spans.SESSION_OPEN);
    assertThat(open.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(open.getParentSpanId()).isEqualTo(CALLER_SPAN);
    assertThat(open.getAttributes().get(Spans.WORKER_ID)).isEqualTo("worker-2");
    assertThat(open.getAttributes().get(Spans.JOB)).isEqualTo("news");
    assertThat(open.getAttributes().get(Spans.SESSION_ID)).isEqualTo(id);
    assertThat(open.getAttributes().get(Spans.RESUMED)).isFalse();
    assertThat(open.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    SpanData resume = only(Spans.SESSION_RESUME);
    assertThat(resume.getAttributes().get(Spans.SESSION_ID)).isEqualTo(id);
    assertThat(resume.getAttributes().get(Spans.RESUMED)).isTrue();
    assertThat(resume.getAttributes().get(Spans.HELD_LEASES)).isZero();
    assertThat(resume.getAttributes().get(Spans.LOST_LEASES)).isZero();
  }

  @Test
  void openSession_helloRefused_spanRecordsTheError() {
    b.openStream()
        .send(dev.berth.proto.v1.SessionRequest.newBuilder().setHello(Hello.newBuilder()).build());

    SpanData open = only(Spans.SESSION_OPEN);
    assertThat(open.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(open.getStatus().getDescription()).startsWith("INVALID_ARGUMENT");
  }

  @Test
  void sessionEnded_forgetsWhatItsHelloSaid() {
    TracingInterceptor probe = new TracingInterceptor(Tracing.OFF, b.time);
    probe.sessions().opened("s-1", new SessionTags.Tag("w", "j"));

    probe.sessions().sessionEnded("s-1", "w", true);

    assertThat(probe.sessions().size()).isZero();
  }

  @Test
  void goodbye_theSessionsWorkerIsForgotten() {
    SessionRecorder other = b.openSession("worker-9");
    String id = other.sessionId();
    b.admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(id).build());

    other.goodbye();
    failure(
        Status.Code.NOT_FOUND,
        () -> b.admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(id).build()));

    List<SpanData> drains = spans(Spans.DRAIN_SESSION);
    assertThat(drains).hasSize(2);
    assertThat(drains.get(0).getAttributes().get(Spans.WORKER_ID)).isEqualTo("worker-9");
    assertThat(drains.get(1).getAttributes().get(Spans.SESSION_ID)).isEqualTo(id);
    assertThat(drains.get(1).getAttributes().get(Spans.WORKER_ID)).isNull();
  }

  // ------------------------------------------------------------ admin changes

  @Test
  void adminChanges_eachHaveASpanWithWhatChanged() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    b.admin.revokeLease(
        RevokeLeaseRequest.newBuilder()
            .setLeaseId(lease.getLeaseId())
            .setReason(RevokeReason.REVOKE_REASON_ADMIN)
            .build());
    b.admin.updateLimits(
        UpdateLimitsRequest.newBuilder()
            .addPools(PoolLimit.newBuilder().setKind(RESOURCE_KIND_RENDER).setLimit(4))
            .build());
    b.admin.drainSession(DrainSessionRequest.newBuilder().setSessionId(session).build());
    b.admin.drainBroker(DrainBrokerRequest.newBuilder().setResume(false).build());

    SpanData revoke = only(Spans.REVOKE_LEASE);
    assertThat(revoke.getAttributes().get(Spans.RPC_SERVICE)).isEqualTo("berth.v1.BrokerAdmin");
    assertThat(revoke.getAttributes().get(Spans.LEASE_ID)).isEqualTo(lease.getLeaseId());
    assertThat(revoke.getAttributes().get(Spans.REVOKE_REASON)).isEqualTo("ADMIN");
    assertThat(revoke.getAttributes().get(Spans.REVOKED)).isTrue();
    assertThat(only(Spans.UPDATE_LIMITS).getAttributes().get(Spans.LIMITS_CHANGE))
        .isEqualTo("RENDER limit 4");
    SpanData drain = only(Spans.DRAIN_SESSION);
    assertThat(drain.getAttributes().get(Spans.SESSION_ID)).isEqualTo(session);
    assertThat(drain.getAttributes().get(Spans.WORKER_ID)).isEqualTo("worker-1");
    assertThat(drain.getAttributes().get(Spans.LEASES_HELD)).isZero();
    SpanData drainBroker = only(Spans.DRAIN_BROKER);
    assertThat(drainBroker.getAttributes().get(Spans.DRAIN_RESUME)).isFalse();
    assertThat(drainBroker.getAttributes().get(Spans.SESSIONS)).isEqualTo(1);
  }

  @Test
  void readsAndHeartbeats_makeNoSpan() {
    worker.heartbeat(0);
    b.admin.getStatus(dev.berth.proto.v1.GetStatusRequest.getDefaultInstance());

    assertThat(exporter.getFinishedSpanItems()).extracting(SpanData::getName).isEmpty();
  }
}
