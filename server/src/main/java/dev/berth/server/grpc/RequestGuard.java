package dev.berth.server.grpc;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Answers requests that are malformed on the wire with INVALID_ARGUMENT naming the problem, before
 * they reach a service: bytes that do not parse as the method's request message, and a call that
 * takes one request half-closed without it. Left to grpc-java, these end as INTERNAL or UNKNOWN,
 * which tells a client "the broker has a bug" rather than "your request is wrong", and which
 * monitoring counts as server errors. (A second request on such a call never gets here: grpc-java
 * resets the stream, and the client sees CANCELLED.)
 *
 * <p>{@link #wrap} rewrites a service definition so each method's request marshaller no longer
 * throws on bad bytes but hands a {@link Malformed} marker to a listener that closes the call.
 *
 * <p>Thread-safe (stateless); each call's listener is used by that call's serialized executor.
 */
final class RequestGuard {
  private RequestGuard() {}

  /** The bytes of a request that did not parse, with the parser's reason. */
  record Malformed(String reason) {}

  /** {@code service} with every method guarded; its schema (for reflection) is kept. */
  static ServerServiceDefinition wrap(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor =
        ServiceDescriptor.newBuilder(original.getName())
            .setSchemaDescriptor(original.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<?, ?> guarded = guard(method);
      descriptor.addMethod(guarded.getMethodDescriptor());
      methods.add(guarded);
    }
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(builder::addMethod);
    return builder.build();
  }

  private static <Q, R> ServerMethodDefinition<Object, R> guard(ServerMethodDefinition<Q, R> def) {
    MethodDescriptor<Q, R> method = def.getMethodDescriptor();
    MethodDescriptor<Object, R> lenient =
        method.toBuilder(new LenientMarshaller<>(method), method.getResponseMarshaller()).build();
    ServerCallHandler<Q, R> handler = def.getServerCallHandler();
    return ServerMethodDefinition.create(
        lenient,
        (call, headers) -> {
          GuardedListener<Q> listener =
              new GuardedListener<>(call, method.getType().clientSendsOneMessage());
          listener.delegate = handler.startCall(asTyped(call), headers);
          return listener;
        });
  }

  /**
   * The call as the service's handler expects it. Only the request type differs, and the handler
   * never reads requests from the call: they reach it through the listener, already typed.
   */
  @SuppressWarnings("unchecked")
  private static <Q, R> ServerCall<Q, R> asTyped(ServerCall<Object, R> call) {
    return (ServerCall<Q, R>) (ServerCall<?, R>) call;
  }

  /** Parses with the method's own marshaller; bytes it refuses become a {@link Malformed}. */
  private static final class LenientMarshaller<Q> implements MethodDescriptor.Marshaller<Object> {
    private final MethodDescriptor<Q, ?> method;

    LenientMarshaller(MethodDescriptor<Q, ?> method) {
      this.method = method;
    }

    @Override
    @SuppressWarnings("unchecked")
    public InputStream stream(Object value) {
      return method.streamRequest((Q) value);
    }

    @Override
    public Object parse(InputStream stream) {
      try {
        return method.parseRequest(stream);
      } catch (RuntimeException e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        return new Malformed(String.valueOf(cause.getMessage()));
      }
    }
  }

  /**
   * Forwards a well-formed call to the service's listener; tells the service's listener that a
   * malformed call was cancelled, so a session stream cleans up as for a client that went away,
   * then closes it with INVALID_ARGUMENT.
   */
  private static final class GuardedListener<Q> extends ServerCall.Listener<Object> {
    private final ServerCall<Object, ?> call;
    private final boolean oneRequest;
    private ServerCall.Listener<Q> delegate;
    private boolean received;
    private boolean closed;

    GuardedListener(ServerCall<Object, ?> call, boolean oneRequest) {
      this.call = call;
      this.oneRequest = oneRequest;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void onMessage(Object message) {
      if (closed) {
        return;
      }
      if (message instanceof Malformed bad) {
        refuse(
            "request is not a valid "
                + call.getMethodDescriptor().getFullMethodName()
                + " request message: "
                + bad.reason());
        return;
      }
      received = true;
      delegate.onMessage((Q) message);
    }

    @Override
    public void onHalfClose() {
      if (closed) {
        return;
      }
      if (oneRequest && !received) {
        refuse(
            call.getMethodDescriptor().getFullMethodName()
                + " takes exactly one request; the client half-closed without sending it");
        return;
      }
      delegate.onHalfClose();
    }

    @Override
    public void onCancel() {
      if (!closed) {
        closed = true;
        delegate.onCancel();
      }
    }

    @Override
    public void onComplete() {
      if (!closed) {
        delegate.onComplete();
      }
    }

    @Override
    public void onReady() {
      if (!closed) {
        delegate.onReady();
      }
    }

    private void refuse(String description) {
      closed = true;
      // The service hears of the end first: a session stream's outbound queue then stops writing
      // (it ends under its lock, so a write another thread had begun has finished) before the
      // call is closed here; a call is not safe to write and close from two threads at once.
      delegate.onCancel();
      call.close(Status.INVALID_ARGUMENT.withDescription(description), new Metadata());
    }
  }
}
