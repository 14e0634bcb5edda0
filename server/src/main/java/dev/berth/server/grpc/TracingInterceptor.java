package dev.berth.server.grpc;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.time.TimeSource;
import dev.berth.server.tracing.Spans;
import dev.berth.server.tracing.Tracing;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Makes the daemon's spans from the calls it serves, installed only when tracing is on: one span
 * per Acquire, Release and admin change (RevokeLease, DrainSession, DrainBroker, UpdateLimits), and
 * one per session hello (open or resume). Each span is the child of the trace context the caller
 * sent as W3C {@code traceparent} metadata, whatever its language, and carries what the request and
 * the answer say ({@link SpanRecipes}).
 *
 * <p>A span ends when the answer is sent — for an acquire that waited in the queue, when the queue
 * answered it, not when the handler returned — or when the caller cancels. Spans are made outside
 * the broker and never change a call: reading a message for attributes cannot fail the call.
 *
 * <p>Thread-safe: each call's span is ended once, whichever thread answers.
 */
final class TracingInterceptor implements ServerInterceptor {
  private static final String OPEN_SESSION =
      LeaseBrokerGrpc.getOpenSessionMethod().getFullMethodName();

  private final Tracer tracer;
  private final TimeSource time;
  private final SessionTags sessions = new SessionTags();
  private final Map<String, SpanRecipes.Recipe> recipes;

  TracingInterceptor(Tracing tracing, TimeSource time) {
    this.tracer = tracing.tracer();
    this.time = time;
    SpanRecipes r = new SpanRecipes(sessions);
    this.recipes =
        Map.of(
            LeaseBrokerGrpc.getAcquireMethod().getFullMethodName(), r.acquire(),
            LeaseBrokerGrpc.getReleaseMethod().getFullMethodName(), r.release(),
            BrokerAdminGrpc.getRevokeLeaseMethod().getFullMethodName(), r.revokeLease(),
            BrokerAdminGrpc.getDrainSessionMethod().getFullMethodName(), r.drainSession(),
            BrokerAdminGrpc.getDrainBrokerMethod().getFullMethodName(), r.drainBroker(),
            BrokerAdminGrpc.getUpdateLimitsMethod().getFullMethodName(), r.updateLimits());
  }

  /** The workers and jobs of the sessions seen opening; the broker tells it when one ends. */
  SessionTags sessions() {
    return sessions;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String name = call.getMethodDescriptor().getFullMethodName();
    if (name.equals(OPEN_SESSION)) {
      return new SessionCall<>(call, headers).start(next, headers);
    }
    SpanRecipes.Recipe recipe = recipes.get(name);
    if (recipe == null) {
      return next.startCall(call, headers);
    }
    Span span = startSpan(recipe.name(), call.getMethodDescriptor(), headers);
    return new UnaryCall<>(call, span, recipe, time.nanoTime()).start(next, headers);
  }

  private Span startSpan(String spanName, MethodDescriptor<?, ?> method, Metadata headers) {
    return tracer
        .spanBuilder(spanName)
        .setParent(parent(headers))
        .setSpanKind(SpanKind.SERVER)
        .setAttribute(Spans.RPC_SYSTEM, "grpc")
        .setAttribute(Spans.RPC_SERVICE, method.getServiceName())
        .setAttribute(Spans.RPC_METHOD, method.getBareMethodName())
        .setAttribute(Spans.PRINCIPAL, Principals.current())
        .startSpan();
  }

  /** The caller's trace context from its {@code traceparent} metadata, or none. */
  private static Context parent(Metadata headers) {
    return Tracing.propagator().extract(Context.root(), headers, MetadataGetter.INSTANCE);
  }

  /**
   * A call with a span, which ends once: when the call closes (its answer sent, or an error) or
   * when the caller cancels, whichever comes first.
   */
  private abstract static class TracedCall<Q, R>
      extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private final AtomicBoolean ended = new AtomicBoolean();

    TracedCall(ServerCall<Q, R> call) {
      super(call);
    }

    /** The span to end; null while there is none yet. */
    abstract Span span();

    /** Reads a message from the caller. */
    abstract void inbound(Object message);

    boolean ended() {
      return ended.get();
    }

    /** Starts the call through {@code next}, with this call's messages and cancel observed. */
    final ServerCall.Listener<Q> start(ServerCallHandler<Q, R> next, Metadata headers) {
      ServerCall.Listener<Q> listener;
      try {
        listener = next.startCall(this, headers);
      } catch (RuntimeException e) {
        end(Status.fromThrowable(e));
        throw e;
      }
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
        @Override
        public void onMessage(Q message) {
          inbound(message);
          super.onMessage(message);
        }

        @Override
        public void onCancel() {
          try {
            super.onCancel();
          } finally {
            end(Status.CANCELLED.withDescription("cancelled by the caller"));
          }
        }
      };
    }

    @Override
    public void close(Status status, Metadata trailers) {
      try {
        super.close(status, trailers);
      } finally {
        end(status);
      }
    }

    /** Ends the span once with the call's status. */
    final void end(Status status) {
      Span span = span();
      if (span == null || !ended.compareAndSet(false, true)) {
        return;
      }
      span.setAttribute(Spans.RPC_GRPC_STATUS_CODE, (long) status.getCode().value());
      if (!status.isOk()) {
        String description = status.getDescription();
        span.setStatus(
            StatusCode.ERROR, status.getCode() + (description == null ? "" : ": " + description));
      }
      span.end();
    }
  }

  /** A unary call whose span ends when its answer is sent. */
  private final class UnaryCall<Q, R> extends TracedCall<Q, R> {
    private final Span span;
    private final SpanRecipes.Recipe recipe;
    private final long startedNanos;

    UnaryCall(ServerCall<Q, R> call, Span span, SpanRecipes.Recipe recipe, long startedNanos) {
      super(call);
      this.span = span;
      this.recipe = recipe;
      this.startedNanos = startedNanos;
    }

    @Override
    Span span() {
      return span;
    }

    @Override
    void inbound(Object message) {
      SpanRecipes.safely(() -> recipe.request().accept(span, message));
    }

    @Override
    public void sendMessage(R message) {
      long elapsed = time.nanoTime() - startedNanos;
      SpanRecipes.safely(() -> recipe.answer().add(span, message, elapsed));
      super.sendMessage(message);
    }
  }

  /**
   * A session stream, whose one span runs from its hello to the broker's answer to it; heartbeats
   * and pushes are not traced.
   */
  private final class SessionCall<Q, R> extends TracedCall<Q, R> {
    private final Metadata headers;
    private final AtomicReference<Span> hello = new AtomicReference<>();
    private volatile SessionTags.Tag tag;

    SessionCall(ServerCall<Q, R> call, Metadata headers) {
      super(call);
      this.headers = headers;
    }

    @Override
    Span span() {
      return hello.get();
    }

    @Override
    void inbound(Object message) {
      if (hello.get() != null
          || !(message instanceof SessionRequest request)
          || !request.hasHello()) {
        return;
      }
      Hello h = request.getHello();
      boolean resume = !h.getResumeSessionId().isEmpty();
      Span span =
          startSpan(
              resume ? Spans.SESSION_RESUME : Spans.SESSION_OPEN, getMethodDescriptor(), headers);
      tag = SessionTags.Tag.of(h);
      SpanRecipes.safely(() -> SpanRecipes.hello(span, h, tag));
      hello.set(span); // one message at a time: gRPC delivers a call's messages serially
    }

    @Override
    public void sendMessage(R message) {
      Span span = hello.get();
      if (span != null && !ended() && message instanceof SessionEvent event && event.hasOpened()) {
        SpanRecipes.safely(() -> SpanRecipes.opened(span, event.getOpened()));
        sessions.opened(event.getOpened().getSessionId(), tag);
        end(Status.OK);
      }
      super.sendMessage(message);
    }
  }

  /** Reads trace context from gRPC metadata; the W3C propagator asks for its keys by name. */
  private enum MetadataGetter implements TextMapGetter<Metadata> {
    INSTANCE;

    @Override
    public String get(Metadata carrier, String key) {
      if (carrier == null || key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        return null;
      }
      return carrier.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
    }
  }
}
