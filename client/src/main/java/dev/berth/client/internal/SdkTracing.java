package dev.berth.client.internal;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * The SDK's spans and the trace context it sends: a span for each acquire (its queue wait
 * included), one around {@code acquireWithRetry} with an acquire span per attempt under it, and one
 * for each release, made with the application's {@link OpenTelemetry} if it gave one to the
 * builder, else with {@link GlobalOpenTelemetry} when the application has set it, else with none
 * (no-op, and then the SDK only passes on a trace context the application made current).
 *
 * <p>As a {@link ClientInterceptor} it sends the current span's context with every call as W3C
 * {@code traceparent} metadata, so the broker's span of an acquire is the child of the SDK's, and
 * that of the application's span around it. A call on the session stream, which has no metadata of
 * its own, carries the same context in its {@code traceparent} and {@code tracestate} fields
 * ({@link #current}).
 *
 * <p>Thread-safe.
 */
final class SdkTracing implements ClientInterceptor {
  /** The instrumentation scope of the SDK's spans. */
  static final String SCOPE = "dev.berth.client";

  static final String ACQUIRE = "berth.acquire";
  static final String ACQUIRE_WITH_RETRY = "berth.acquireWithRetry";
  static final String RELEASE = "berth.release";

  static final AttributeKey<String> KIND = AttributeKey.stringKey("berth.kind");
  static final AttributeKey<String> URL = AttributeKey.stringKey("berth.url");
  static final AttributeKey<String> MODULE = AttributeKey.stringKey("berth.module");
  static final AttributeKey<String> DECISION = AttributeKey.stringKey("berth.decision");
  static final AttributeKey<String> REFUSAL_REASON = AttributeKey.stringKey("berth.refusal.reason");
  static final AttributeKey<Long> RETRY_AFTER_MS = AttributeKey.longKey("berth.retry_after_ms");
  static final AttributeKey<String> LEASE_ID = AttributeKey.stringKey("berth.lease_id");
  static final AttributeKey<String> SESSION_ID = AttributeKey.stringKey("berth.session_id");
  static final AttributeKey<Long> ATTEMPTS = AttributeKey.longKey("berth.attempts");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("berth.outcome");

  /** Set on a release the broker could not be reached for, queued to be sent again later. */
  static final AttributeKey<Boolean> RELEASE_QUEUED =
      AttributeKey.booleanKey("berth.release.queued");

  private final OpenTelemetry given;

  /**
   * @param given the application's instance; null: {@link GlobalOpenTelemetry} if set, read at each
   *     span so an application may set it after building the client
   */
  SdkTracing(OpenTelemetry given) {
    this.given = given;
  }

  private Tracer tracer() {
    // getOrNoop, not get: get() would freeze the global to a no-op before the application sets it.
    OpenTelemetry otel = given != null ? given : GlobalOpenTelemetry.getOrNoop();
    return otel.getTracer(SCOPE);
  }

  /** Runs one acquire attempt in a CLIENT span that ends with its answer. */
  AcquireResult acquire(AcquireOptions options, Supplier<AcquireResult> call) {
    return traced(ACQUIRE, SpanKind.CLIENT, options, call);
  }

  /**
   * Runs {@code acquireWithRetry}'s attempts in one span; each attempt is a child. {@code attempts}
   * reports each attempt's number (from 1) to the consumer it is given.
   */
  AcquireResult acquireWithRetry(
      AcquireOptions options, Function<IntConsumer, AcquireResult> attempts) {
    return traced(ACQUIRE_WITH_RETRY, SpanKind.INTERNAL, options, attempts);
  }

  private AcquireResult traced(
      String name, SpanKind kind, AcquireOptions options, Supplier<AcquireResult> call) {
    return traced(name, kind, options, attempts -> call.get());
  }

  private AcquireResult traced(
      String name,
      SpanKind kind,
      AcquireOptions options,
      Function<IntConsumer, AcquireResult> call) {
    Span span =
        tracer()
            .spanBuilder(name)
            .setSpanKind(kind)
            .setAttribute(KIND, options.kind().name())
            .startSpan();
    if (!span.isRecording()) {
      // Tracing is off (or this trace unsampled): pass on the caller's context, make nothing.
      return call.apply(attempt -> {});
    }
    if (!options.url().isEmpty()) {
      span.setAttribute(URL, options.url());
    }
    if (!options.module().isEmpty()) {
      span.setAttribute(MODULE, options.module());
    }
    Scope scope = span.makeCurrent();
    try {
      AcquireResult result = call.apply(attempt -> span.setAttribute(ATTEMPTS, (long) attempt));
      if (result instanceof AcquireResult.Granted g) {
        span.setAttribute(DECISION, "granted");
        span.setAttribute(LEASE_ID, g.lease().leaseId());
        span.setAttribute(SESSION_ID, g.lease().sessionId());
      } else if (result instanceof AcquireResult.Refused r) {
        span.setAttribute(DECISION, "refused");
        span.setAttribute(REFUSAL_REASON, r.reason().name());
        span.setAttribute(RETRY_AFTER_MS, r.retryAfter().toMillis());
      }
      return result;
    } catch (RuntimeException e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
      throw e;
    } finally {
      scope.close();
      span.end();
    }
  }

  /**
   * Runs a release in a CLIENT span.
   *
   * @param call returns true when the release was queued to be sent later
   */
  void release(Lease lease, Outcome outcome, Supplier<Boolean> call) {
    Span span =
        tracer()
            .spanBuilder(RELEASE)
            .setSpanKind(SpanKind.CLIENT)
            .setAttribute(KIND, lease.kind().name())
            .startSpan();
    if (!span.isRecording()) {
      var unused = call.get(); // whether it was queued matters only to a span
      return;
    }
    span.setAttribute(LEASE_ID, lease.leaseId());
    span.setAttribute(SESSION_ID, lease.sessionId());
    span.setAttribute(
        OUTCOME, outcome == null ? "unknown" : outcome.success() ? "success" : "failure");
    Scope scope = span.makeCurrent();
    try {
      if (call.get()) {
        span.setAttribute(RELEASE_QUEUED, true);
      }
    } finally {
      scope.close();
      span.end();
    }
  }

  /** The W3C trace context of a call on the session stream: its message's fields. */
  record StreamTrace(String traceparent, String tracestate) {
    /** No span to continue: the fields stay empty. */
    static final StreamTrace NONE = new StreamTrace("", "");
  }

  /**
   * The current span's context for a call on the session stream, read on the caller's thread (the
   * SDK's acquire or release span is current there, not on the connection's loop); {@link
   * StreamTrace#NONE} when there is no valid span.
   */
  static StreamTrace current() {
    Context context = Context.current();
    if (!Span.fromContext(context).getSpanContext().isValid()) {
      return StreamTrace.NONE;
    }
    Map<String, String> fields = new HashMap<>(4);
    W3CTraceContextPropagator.getInstance().inject(context, fields, MapSetter.INSTANCE);
    return new StreamTrace(
        fields.getOrDefault("traceparent", ""), fields.getOrDefault("tracestate", ""));
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions callOptions, Channel next) {
    Context context = Context.current();
    if (!Span.fromContext(context).getSpanContext().isValid()) {
      return next.newCall(method, callOptions); // no trace to continue
    }
    return new ForwardingClientCall.SimpleForwardingClientCall<>(
        next.newCall(method, callOptions)) {
      @Override
      public void start(Listener<R> responseListener, Metadata headers) {
        W3CTraceContextPropagator.getInstance().inject(context, headers, MetadataSetter.INSTANCE);
        super.start(responseListener, headers);
      }
    };
  }

  /** Collects {@code traceparent} (and {@code tracestate}) for a stream call's fields. */
  private enum MapSetter implements TextMapSetter<Map<String, String>> {
    INSTANCE;

    @Override
    public void set(Map<String, String> carrier, String key, String value) {
      if (carrier != null) {
        carrier.put(key, value);
      }
    }
  }

  /** Writes {@code traceparent} (and {@code tracestate}) as ASCII metadata. */
  private enum MetadataSetter implements TextMapSetter<Metadata> {
    INSTANCE;

    @Override
    public void set(Metadata carrier, String key, String value) {
      if (carrier != null) {
        carrier.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);
      }
    }
  }
}
