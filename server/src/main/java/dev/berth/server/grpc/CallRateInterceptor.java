package dev.berth.server.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Caps how fast one principal may start calls ({@code caps.calls_per_second_per_principal}) on
 * LeaseBroker and BrokerAdmin; health and reflection are not counted. A call over the cap never
 * reaches the broker: it is answered RESOURCE_EXHAUSTED naming the cap after {@link
 * CallRate#HOLD_NANOS}. Holding the refusal costs a timer, not a thread; a client with a bounded
 * number of calls in flight that retries at once is slowed to the cap plus that many calls a
 * second, instead of spinning on refusals and taking CPU from everyone else. A session stream
 * counts once when opened, and then once per acquire or release it carries ({@link SessionStream}),
 * in the same bucket.
 *
 * <p>Runs after {@link AuthInterceptor}, which names the principal. Thread-safe.
 */
final class CallRateInterceptor implements ServerInterceptor {
  private final CallRate rate;

  CallRateInterceptor(CallRate rate) {
    this.rate = rate;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!rate.enabled()
        || AuthInterceptor.requiredRole(call.getMethodDescriptor().getServiceName()) == null) {
      return next.startCall(call, headers);
    }
    Status refused = rate.admit(Principals.current());
    if (refused == null) {
      return next.startCall(call, headers);
    }
    rate.holdThen(() -> close(call, refused));
    return new ServerCall.Listener<>() {};
  }

  private static void close(ServerCall<?, ?> call, Status status) {
    try {
      call.close(status, new Metadata());
    } catch (IllegalStateException alreadyClosed) {
      // the client cancelled while it waited
    }
  }
}
