package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worker's page span tree, read from an in-memory exporter; and when tracing is on. */
class PageSpansTest {
  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final SdkTracerProvider provider =
      SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
  private final PageSpans spans = new PageSpans(provider.get(WorkerTracing.SCOPE));

  @AfterEach
  void tearDown() {
    provider.close();
  }

  private SpanData named(String name) {
    List<SpanData> found =
        exporter.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).toList();
    assertThat(found).as("spans named %s", name).hasSize(1);
    return found.get(0);
  }

  @Test
  void page_withSteps_stepsAndWhatTheyCallAreChildrenOfThePage() {
    PageResult result = new PageResult("https://a.test/1", "a.test", "w");
    spans.page(
        "https://a.test/1",
        "a.test",
        2,
        () -> {
          // What the SDK does on this thread: a span under the current one.
          provider.get("sdk").spanBuilder("berth.acquireWithRetry").startSpan().end();
          spans.step(
              PageSpans.RENDER,
              () -> {
                spans.step(PageSpans.EXTRACT, () -> "facts");
                return spans.step(PageSpans.PDF, () -> null);
              });
          result.httpStatus = 200;
          return result;
        });

    SpanData page = named(PageSpans.PAGE);
    assertThat(page.getParentSpanContext().isValid()).isFalse();
    assertThat(page.getAttributes().get(PageSpans.URL)).isEqualTo("https://a.test/1");
    assertThat(page.getAttributes().get(PageSpans.HOST)).isEqualTo("a.test");
    assertThat(page.getAttributes().get(PageSpans.ATTEMPT)).isEqualTo(2);
    assertThat(page.getAttributes().get(PageSpans.HTTP_STATUS)).isEqualTo(200);
    assertThat(page.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    assertThat(named("berth.acquireWithRetry").getParentSpanId()).isEqualTo(page.getSpanId());
    SpanData render = named(PageSpans.RENDER);
    assertThat(render.getParentSpanId()).isEqualTo(page.getSpanId());
    assertThat(named(PageSpans.EXTRACT).getParentSpanId()).isEqualTo(render.getSpanId());
    assertThat(named(PageSpans.PDF).getParentSpanId()).isEqualTo(render.getSpanId());
    assertThat(Span.current().getSpanContext().isValid()).as("nothing left current").isFalse();
  }

  @Test
  void page_failed_pageSpanIsAnErrorAndAFailingStepRecordsIt() {
    PageResult result = new PageResult("https://a.test/2", "a.test", "w");
    spans.page(
        "https://a.test/2",
        "a.test",
        1,
        () -> {
          assertThatThrownBy(
                  () ->
                      spans.step(
                          PageSpans.EXTRACT,
                          () -> {
                            throw new IllegalStateException("module trapped");
                          }))
              .hasMessage("module trapped");
          result.error = "extraction: module trapped";
          return result;
        });

    assertThat(named(PageSpans.PAGE).getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(named(PageSpans.PAGE).getStatus().getDescription())
        .isEqualTo("extraction: module trapped");
    SpanData extract = named(PageSpans.EXTRACT);
    assertThat(extract.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(extract.getEvents()).extracting(e -> e.getName()).containsExactly("exception");
  }

  @Test
  void start_nothingAsked_isOffAndNoOp() {
    try (WorkerTracing tracing = WorkerTracing.start(null, Map.of())) {
      assertThat(tracing.enabled()).isFalse();
      assertThat(tracing.openTelemetry()).isSameAs(OpenTelemetry.noop());
    }
  }

  @Test
  void wanted_optionOrAStandardVariable_turnsTracingOn() {
    assertThat(WorkerTracing.wanted("http://127.0.0.1:4318", Map.of())).isTrue();
    assertThat(WorkerTracing.wanted(null, Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")))
        .isTrue();
    assertThat(WorkerTracing.wanted(null, Map.of("OTEL_TRACES_EXPORTER", "otlp"))).isTrue();
    assertThat(WorkerTracing.wanted(null, Map.of("OTEL_SERVICE_NAME", "crawler"))).isFalse();
  }

  @Test
  void start_withAnEndpoint_makesRecordingSpans() {
    try (WorkerTracing tracing = WorkerTracing.start("http://127.0.0.1:9", Map.of())) {
      assertThat(tracing.enabled()).isTrue();
      Span span =
          tracing.openTelemetry().getTracer(WorkerTracing.SCOPE).spanBuilder("p").startSpan();
      assertThat(span.isRecording()).isTrue();
      span.end();
    }
  }
}
