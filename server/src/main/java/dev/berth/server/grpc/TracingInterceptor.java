package dev.berth.server.grpc;

import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BundleResult;
import dev.berth.proto.v1.CallError;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseResult;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamAcquire;
import dev.berth.proto.v1.StreamAcquireBundle;
import dev.berth.proto.v1.StreamRelease;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Makes the daemon's spans from the calls it serves, installed only when tracing is on: one span
 * per Acquire, AcquireBundle, Release and admin change (RevokeLease, DrainSession, DrainBroker,
 * UpdateLimits), and one per session hello (open or resume). Each span is the child of the trace
 * context the caller sent as W3C {@code traceparent} metadata, whatever its language, and carries
 * what the request and the answer say ({@link SpanRecipes}).
 *
 * <p>An acquire, bundle or release made on a session stream gets the same span as its unary twin,
 * from the same recipe, parented by the {@code traceparent} field of its stream message and ended
 * when its result is sent. Because this interceptor reads the stream's messages as they pass, the
 * stream's own code does no span work at all, and with tracing off there is nothing to pay.
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
  private final SpanRecipes spanRecipes;
  private final Map<String, SpanRecipes.Recipe> recipes;
  private final SpanRecipes.Recipe acquire;
  private final SpanRecipes.Recipe bundle;
  private final SpanRecipes.Recipe release;

  TracingInterceptor(Tracing tracing, TimeSource time) {
    this.tracer = tracing.tracer();
    this.time = time;
    SpanRecipes r = new SpanRecipes(sessions);
    this.spanRecipes = r;
    this.acquire = r.acquire();
    this.bundle = r.bundle();
    this.release = r.release();
    this.recipes =
        Map.of(
            LeaseBrokerGrpc.getAcquireMethod().getFullMethodName(), acquire,
            LeaseBrokerGrpc.getAcquireBundleMethod().getFullMethodName(), bundle,
            LeaseBrokerGrpc.getReleaseMethod().getFullMethodName(), release,
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
    Span span = startSpan(recipe.name(), call.getMethodDescriptor(), parent(headers));
    return new UnaryCall<>(call, span, recipe, time.nanoTime()).start(next, headers);
  }

  private Span startSpan(String spanName, MethodDescriptor<?, ?> method, Context parent) {
    return tracer
        .spanBuilder(spanName)
        .setParent(parent)
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

  /** Ends {@code span} with a call's status: its gRPC code, and an error unless OK. */
  private static void endSpan(Span span, Status status) {
    span.setAttribute(Spans.RPC_GRPC_STATUS_CODE, (long) status.getCode().value());
    if (!status.isOk()) {
      String description = status.getDescription();
      span.setStatus(
          StatusCode.ERROR, status.getCode() + (description == null ? "" : ": " + description));
    }
    span.end();
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
            closed(Status.CANCELLED.withDescription("cancelled by the caller"));
          }
        }
      };
    }

    @Override
    public void close(Status status, Metadata trailers) {
      try {
        super.close(status, trailers);
      } finally {
        closed(status);
      }
    }

    /** The call has ended with {@code status}, closed or cancelled: ends what is still open. */
    void closed(Status status) {
      end(status);
    }

    /** Ends the span once with the call's status. */
    final void end(Status status) {
      Span span = span();
      if (span == null || !ended.compareAndSet(false, true)) {
        return;
      }
      endSpan(span, status);
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

  /** A lease call in flight on a session stream, with its span. */
  private record StreamSpan(Span span, SpanRecipes.Recipe recipe, long startedNanos) {}

  /**
   * A session stream: one span from its hello to the broker's answer to it, and one for each lease
   * call made on it, from the call to its result; heartbeats and pushes are not traced.
   */
  private final class SessionCall<Q, R> extends TracedCall<Q, R> {
    private final Metadata headers;
    private final AtomicReference<Span> hello = new AtomicReference<>();
    private volatile SessionTags.Tag tag;

    /** The stream's session, once the broker has answered its hello. */
    private volatile String sessionId = "";

    /**
     * The spans of calls not yet answered, by call_id: added by the inbound thread, removed by
     * whichever thread sends the result, or all ended when the stream ends.
     */
    private final ConcurrentHashMap<Long, StreamSpan> calls = new ConcurrentHashMap<>();

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
      if (!(message instanceof SessionRequest request)) {
        return;
      }
      switch (request.getMsgCase()) {
        case HELLO -> hello(request);
        case ACQUIRE -> {
          StreamAcquire c = request.getAcquire();
          call(
              acquire,
              c.getCallId(),
              c.getRequest(),
              c.getRequest().getSessionId(),
              parent(c.getTraceparent(), c.getTracestate()));
        }
        case ACQUIRE_BUNDLE -> {
          StreamAcquireBundle c = request.getAcquireBundle();
          call(
              bundle,
              c.getCallId(),
              c.getRequest(),
              c.getRequest().getSessionId(),
              parent(c.getTraceparent(), c.getTracestate()));
        }
        case RELEASE -> {
          StreamRelease c = request.getRelease();
          call(
              release,
              c.getCallId(),
              c.getRequest(),
              c.getRequest().getSessionId(),
              parent(c.getTraceparent(), c.getTracestate()));
        }
        default -> {}
      }
    }

    /**
     * Starts the span of a lease call on this stream. A call_id already in flight keeps its span:
     * the stream closes for the duplicate, which ends the first call's span.
     */
    private void call(
        SpanRecipes.Recipe recipe,
        long callId,
        Object callRequest,
        String namedSession,
        Context parent) {
      if (calls.containsKey(callId)) {
        return;
      }
      Span span = startSpan(recipe.name(), getMethodDescriptor(), parent);
      String stream = sessionId;
      SpanRecipes.safely(
          () -> {
            recipe.request().accept(span, callRequest);
            if (namedSession.isEmpty() && !stream.isEmpty()) {
              spanRecipes.session(span, stream); // left empty: the stream's own session
            }
          });
      calls.put(callId, new StreamSpan(span, recipe, time.nanoTime()));
    }

    /** Ends the span of the call a result answers, with what the result says. */
    private void result(long callId, Object response, CallError error) {
      StreamSpan call = calls.remove(callId);
      if (call == null) {
        return;
      }
      if (error != null) {
        endSpan(
            call.span(), Status.fromCodeValue(error.getCode()).withDescription(error.getMessage()));
        return;
      }
      long elapsed = time.nanoTime() - call.startedNanos();
      SpanRecipes.safely(() -> call.recipe().answer().add(call.span(), response, elapsed));
      endSpan(call.span(), Status.OK);
    }

    @Override
    void closed(Status status) {
      super.closed(status);
      // The stream ended: the broker cancels its calls in flight, which get no result.
      Status unanswered =
          status.isOk() ? Status.CANCELLED.withDescription("the session stream ended") : status;
      for (Long callId : List.copyOf(calls.keySet())) {
        StreamSpan call = calls.remove(callId);
        if (call != null) {
          endSpan(call.span(), unanswered);
        }
      }
    }

    private void hello(SessionRequest request) {
      if (hello.get() != null) {
        return;
      }
      Hello h = request.getHello();
      boolean resume = !h.getResumeSessionId().isEmpty();
      Span span =
          startSpan(
              resume ? Spans.SESSION_RESUME : Spans.SESSION_OPEN,
              getMethodDescriptor(),
              parent(headers));
      tag = SessionTags.Tag.of(h);
      SpanRecipes.safely(() -> SpanRecipes.hello(span, h, tag));
      hello.set(span); // one message at a time: gRPC delivers a call's messages serially
    }

    @Override
    public void sendMessage(R message) {
      if (message instanceof SessionEvent event) {
        sent(event);
      }
      super.sendMessage(message);
    }

    private void sent(SessionEvent event) {
      switch (event.getEventCase()) {
        case OPENED -> {
          Span span = hello.get();
          if (span != null && !ended()) {
            SpanRecipes.safely(() -> SpanRecipes.opened(span, event.getOpened()));
            sessionId = event.getOpened().getSessionId();
            sessions.opened(sessionId, tag);
            end(Status.OK);
          }
        }
        case ACQUIRE_RESULT -> {
          AcquireResult r = event.getAcquireResult();
          result(r.getCallId(), r.getResponse(), r.hasError() ? r.getError() : null);
        }
        case BUNDLE_RESULT -> {
          BundleResult r = event.getBundleResult();
          result(r.getCallId(), r.getResponse(), r.hasError() ? r.getError() : null);
        }
        case RELEASE_RESULT -> {
          ReleaseResult r = event.getReleaseResult();
          result(r.getCallId(), r.getResponse(), r.hasError() ? r.getError() : null);
        }
        default -> {}
      }
    }
  }

  /** The caller's trace context from a stream call's {@code traceparent} field, or none. */
  private static Context parent(String traceparent, String tracestate) {
    if (traceparent.isEmpty()) {
      return Context.root();
    }
    return Tracing.propagator()
        .extract(
            Context.root(), new StreamTrace(traceparent, tracestate), StreamTraceGetter.INSTANCE);
  }

  /** The trace context fields of one stream call's message. */
  private record StreamTrace(String traceparent, String tracestate) {}

  /** Reads trace context from a stream call's fields, as {@link MetadataGetter} from metadata. */
  private enum StreamTraceGetter implements TextMapGetter<StreamTrace> {
    INSTANCE;

    @Override
    public String get(StreamTrace carrier, String key) {
      if (carrier == null) {
        return null;
      }
      String value =
          switch (key) {
            case "traceparent" -> carrier.traceparent();
            case "tracestate" -> carrier.tracestate();
            default -> "";
          };
      return value.isEmpty() ? null : value;
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
