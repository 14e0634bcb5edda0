package dev.berth.server.tracing;

import dev.berth.server.time.TimeSource;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's tracer: an OpenTelemetry SDK that sends spans over OTLP/HTTP as {@link
 * TracingConfig} says, or nothing at all. {@link #OFF} holds no SDK, no exporter and no thread; the
 * gRPC listener installs no tracing when {@link #enabled()} is false, so a daemon without {@code
 * tracing.otlp.endpoint} makes no span and pays nothing on its hot path.
 *
 * <p>Spans are timed on the broker's {@link TimeSource}, so the duration of an acquire's span is
 * the time the broker measured, and tests on a fake clock see exact durations. Trace context is
 * read in the W3C {@code traceparent} format only, whatever language the worker is written in.
 *
 * <p>Thread-safe.
 */
public final class Tracing implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Tracing.class);

  /** The instrumentation scope of the daemon's spans. */
  public static final String SCOPE = "dev.berth.server";

  /** No tracing: no SDK, no span, no exporter. */
  public static final Tracing OFF = new Tracing(null);

  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  private static final AttributeKey<String> SERVICE_VERSION =
      AttributeKey.stringKey("service.version");

  /** How long closing waits for the last spans to be sent. */
  private static final long FLUSH_SECONDS = 5;

  private final SdkTracerProvider provider;
  private final Tracer tracer;

  private Tracing(SdkTracerProvider provider) {
    this.provider = provider;
    this.tracer = provider == null ? TracerProvider.noop().get(SCOPE) : provider.get(SCOPE);
  }

  /**
   * The tracer {@code config} asks for: {@link #OFF} without an endpoint, else an SDK that batches
   * spans and POSTs them to the endpoint in the background. Nothing is sent until a span ends, so
   * an unreachable collector costs the broker only dropped spans (logged by the exporter).
   *
   * @param version the daemon's version, for {@code service.version}
   */
  public static Tracing start(TracingConfig config, TimeSource time, String version) {
    if (!config.enabled()) {
      return OFF;
    }
    OtlpHttpSpanExporter exporter =
        OtlpHttpSpanExporter.builder().setEndpoint(config.tracesUrl()).build();
    Tracing tracing =
        new Tracing(
            provider(
                BatchSpanProcessor.builder(exporter).build(),
                Sampler.parentBased(Sampler.traceIdRatioBased(config.sampleRatio())),
                Resource.getDefault()
                    .merge(
                        Resource.create(
                            Attributes.of(
                                SERVICE_NAME, config.serviceName(), SERVICE_VERSION, version))),
                time));
    log.info(
        "tracing on: spans to {} (OTLP/HTTP), sample ratio {}, service {}",
        config.tracesUrl(),
        config.sampleRatio(),
        config.serviceName());
    return tracing;
  }

  /**
   * A tracer that hands every span, all sampled, to {@code processor} as it ends: for tests, with
   * an in-memory exporter behind a simple processor.
   */
  public static Tracing to(SpanProcessor processor, TimeSource time) {
    return new Tracing(
        provider(
            processor,
            Sampler.parentBased(Sampler.alwaysOn()),
            Resource.getDefault().merge(Resource.create(Attributes.of(SERVICE_NAME, DEFAULT_NAME))),
            time));
  }

  private static final String DEFAULT_NAME = TracingConfig.DEFAULT_SERVICE_NAME;

  private static SdkTracerProvider provider(
      SpanProcessor processor, Sampler sampler, Resource resource, TimeSource time) {
    return SdkTracerProvider.builder()
        .setClock(new BrokerClock(time))
        .setSampler(sampler)
        .setResource(resource)
        .addSpanProcessor(processor)
        .build();
  }

  /** Whether spans are made; false for {@link #OFF}. */
  public boolean enabled() {
    return provider != null;
  }

  /** The daemon's tracer; a no-op one when tracing is off. */
  public Tracer tracer() {
    return tracer;
  }

  /** How trace context travels in request metadata: W3C {@code traceparent}. */
  public static TextMapPropagator propagator() {
    return W3CTraceContextPropagator.getInstance();
  }

  /** Sends the spans still buffered and stops the exporter, waiting at most a few seconds. */
  @Override
  public void close() {
    if (provider != null) {
      provider.shutdown().join(FLUSH_SECONDS, TimeUnit.SECONDS);
    }
  }

  /** The broker's clock as the SDK's: wall time for the start of a span, monotonic for lengths. */
  private record BrokerClock(TimeSource time) implements Clock {
    @Override
    public long now() {
      Instant wall = time.wallTime();
      return TimeUnit.SECONDS.toNanos(wall.getEpochSecond()) + wall.getNano();
    }

    @Override
    public long nanoTime() {
      return time.nanoTime();
    }
  }
}
