package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.grpc.BrokerServer;
import dev.berth.server.tracing.Spans;
import dev.berth.server.tracing.Tracing;
import dev.berth.server.wasm.ModuleRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The SDK's spans and the trace context it sends, against a real broker that traces too (over the
 * in-process transport, each side with its own in-memory exporter): the worker's span is the parent
 * of the SDK's acquire span, which is the parent of the broker's {@code Acquire} span.
 */
class TracingTest {
  private static final dev.berth.server.lease.ResourceKind SERVER_RENDER =
      dev.berth.server.lease.ResourceKind.RENDER;
  private static final AttributeKey<String> DECISION = AttributeKey.stringKey("berth.decision");
  private static final AttributeKey<Long> ATTEMPTS = AttributeKey.longKey("berth.attempts");
  private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("berth.outcome");

  private final InMemorySpanExporter workerSpans = InMemorySpanExporter.create();
  private final InMemorySpanExporter brokerSpans = InMemorySpanExporter.create();
  private final OpenTelemetrySdk otel =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(workerSpans))
                  .build())
          .build();
  private final Tracer tracer = otel.getTracer("test-worker");
  private TestBroker broker;

  @AfterEach
  void tearDown() {
    if (broker != null) {
      broker.close();
    }
    otel.close();
  }

  private TestBroker tracedBroker() {
    return new TestBroker(
        TestBroker.config().limit(SERVER_RENDER, 1).exhaustedRetryAfter(Duration.ofSeconds(2)),
        ModuleRegistry.empty(),
        time ->
            BrokerServer.Options.DEFAULT.withTracing(
                Tracing.to(SimpleSpanProcessor.create(brokerSpans), time)));
  }

  private static SpanData only(InMemorySpanExporter exporter, String name) {
    List<SpanData> spans =
        exporter.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).toList();
    assertThat(spans).as("spans named %s", name).hasSize(1);
    return spans.get(0);
  }

  @Test
  void acquire_insideAWorkerSpan_brokerSpanIsTheChildOfTheSdkSpan() {
    broker = tracedBroker();
    // The default: the calls go on the session stream, the trace context in their fields.
    assertSpanTree(broker.clientBuilder().openTelemetry(otel), "OpenSession");
  }

  @Test
  void acquire_unaryLeaseCalls_brokerSpanIsTheChildOfTheSdkSpan() {
    broker = tracedBroker();
    // Unary calls: the trace context in their traceparent metadata.
    assertSpanTree(broker.clientBuilder().openTelemetry(otel).unaryLeaseCalls(), "Acquire");
  }

  /**
   * An acquire and a release inside a worker's span: the tree is worker span, SDK span, broker
   * span, the broker's made from calls of {@code rpcMethod}.
   */
  private void assertSpanTree(BrokerClient.Builder builder, String rpcMethod) {
    try (BrokerClient client = broker.client(builder);
        WorkerSession session = client.openSession("worker-1")) {
      Span page = tracer.spanBuilder("page").startSpan();
      Scope scope = page.makeCurrent();
      try (Lease lease = granted(session.acquire(AcquireOptions.render("https://example.com/a")))) {
        lease.recordOutcome(Outcome.succeeded());
      } finally {
        scope.close();
        page.end();
      }
    }

    SpanData page = only(workerSpans, "page");
    SpanData acquire = only(workerSpans, "berth.acquire");
    SpanData release = only(workerSpans, "berth.release");
    SpanData brokerAcquire = only(brokerSpans, Spans.ACQUIRE);
    SpanData brokerRelease = only(brokerSpans, Spans.RELEASE);
    assertThat(acquire.getKind()).isEqualTo(SpanKind.CLIENT);
    assertThat(acquire.getParentSpanId()).isEqualTo(page.getSpanId());
    assertThat(acquire.getAttributes().get(DECISION)).isEqualTo("granted");
    assertThat(brokerAcquire.getAttributes().get(Spans.RPC_METHOD)).isEqualTo(rpcMethod);
    assertThat(brokerAcquire.getTraceId()).isEqualTo(page.getTraceId());
    assertThat(brokerAcquire.getParentSpanId()).isEqualTo(acquire.getSpanId());
    assertThat(brokerAcquire.getAttributes().get(Spans.WORKER_ID)).isEqualTo("worker-1");
    assertThat(brokerAcquire.getAttributes().get(Spans.LEASE_ID))
        .isEqualTo(acquire.getAttributes().get(AttributeKey.stringKey("berth.lease_id")));
    assertThat(release.getParentSpanId()).isEqualTo(page.getSpanId());
    assertThat(release.getAttributes().get(OUTCOME)).isEqualTo("success");
    assertThat(brokerRelease.getParentSpanId()).isEqualTo(release.getSpanId());
    assertThat(brokerRelease.getAttributes().get(Spans.OUTCOME)).isEqualTo("success");
  }

  @Test
  void acquireWithRetry_refusedThenGranted_oneSpanOverBothAttempts() {
    broker = tracedBroker();
    try (BrokerClient client = broker.client(broker.clientBuilder().openTelemetry(otel));
        WorkerSession session = client.openSession("worker-1")) {
      Lease held = granted(session.acquire(AcquireOptions.render("https://example.com/a")));
      broker.ticker.onSleep(held::close); // capacity frees while the caller waits
      workerSpans.reset();
      brokerSpans.reset();

      try (Lease lease =
          granted(
              session.acquireWithRetry(
                  AcquireOptions.render("https://example.com/b"), Duration.ofSeconds(30)))) {
        assertThat(lease.isValid()).isTrue();
      }
    }

    SpanData retry = only(workerSpans, "berth.acquireWithRetry");
    assertThat(retry.getParentSpanContext().isValid()).isFalse();
    assertThat(retry.getAttributes().get(ATTEMPTS)).isEqualTo(2);
    assertThat(retry.getAttributes().get(DECISION)).isEqualTo("granted");
    List<SpanData> attempts =
        workerSpans.getFinishedSpanItems().stream()
            .filter(s -> s.getName().equals("berth.acquire"))
            .toList();
    assertThat(attempts)
        .extracting(s -> s.getAttributes().get(DECISION))
        .containsExactly("refused", "granted");
    assertThat(attempts)
        .allSatisfy(a -> assertThat(a.getParentSpanId()).isEqualTo(retry.getSpanId()));
    assertThat(
            brokerSpans.getFinishedSpanItems().stream()
                .filter(s -> s.getName().equals(Spans.ACQUIRE)))
        .extracting(SpanData::getParentSpanId)
        .containsExactly(attempts.get(0).getSpanId(), attempts.get(1).getSpanId());
  }

  @Test
  void acquire_noOpenTelemetryGiven_sendsTheCurrentContextAndMakesNoSpan() {
    broker = tracedBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Span page = tracer.spanBuilder("page").startSpan();
      Scope scope = page.makeCurrent();
      try (Lease lease = granted(session.acquire(AcquireOptions.render("https://example.com/a")))) {
        assertThat(lease.isValid()).isTrue();
      } finally {
        scope.close();
        page.end();
      }
    }

    // The global OpenTelemetry is not set: the SDK made nothing of its own...
    assertThat(workerSpans.getFinishedSpanItems())
        .extracting(SpanData::getName)
        .containsExactly("page");
    // ...but the broker's span still joined the application's trace.
    SpanData page = only(workerSpans, "page");
    assertThat(only(brokerSpans, Spans.ACQUIRE).getParentSpanId()).isEqualTo(page.getSpanId());
  }

  @Test
  void acquire_brokerNotTracing_workerSpansStillMade() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client(broker.clientBuilder().openTelemetry(otel));
        WorkerSession session = client.openSession("worker-1");
        Lease lease = granted(session.acquire(AcquireOptions.pdf()))) {
      assertThat(lease.kind()).isEqualTo(ResourceKind.PDF);
    }

    assertThat(
            only(workerSpans, "berth.acquire")
                .getAttributes()
                .get(AttributeKey.stringKey("berth.kind")))
        .isEqualTo("PDF");
    assertThat(brokerSpans.getFinishedSpanItems()).isEmpty();
  }
}
