package dev.berth.server.grpc;

import dev.berth.server.broker.Broker;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.ratelimit.PrincipalCallRate;
import dev.berth.server.time.TimeSource;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;

/**
 * Caps how fast one principal may start calls ({@code caps.calls_per_second_per_principal}) on
 * LeaseBroker and BrokerAdmin; health and reflection are not counted. A call over the cap never
 * reaches the broker: it is answered RESOURCE_EXHAUSTED naming the cap after {@link #HOLD_NANOS}.
 * Holding the refusal costs a timer, not a thread; a client with a bounded number of calls in
 * flight that retries at once is slowed to the cap plus that many calls a second, instead of
 * spinning on refusals and taking CPU from everyone else. Session streams count once, when opened.
 *
 * <p>Runs after {@link AuthInterceptor}, which names the principal. Thread-safe.
 */
final class CallRateInterceptor implements ServerInterceptor {
  /** How long a refusal is held back: a penalty long against the token interval of any cap. */
  static final long HOLD_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Broker broker;
  private final TimeSource time;
  private final PrincipalCallRate rates = new PrincipalCallRate();

  CallRateInterceptor(Broker broker, TimeSource time) {
    this.broker = broker;
    this.time = time;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    int perSecond = broker.policy().caps().callsPerSecond();
    if (perSecond == 0
        || AuthInterceptor.requiredRole(call.getMethodDescriptor().getServiceName()) == null) {
      return next.startCall(call, headers);
    }
    String principal = Principals.current();
    long wait = rates.admit(principal, perSecond, time.nanoTime());
    if (wait == PrincipalCallRate.ADMITTED) {
      return next.startCall(call, headers);
    }
    Status refused =
        Status.RESOURCE_EXHAUSTED.withDescription(
            "principal '"
                + principal
                + "' calls faster than its cap of "
                + perSecond
                + "/s ("
                + PrincipalCaps.Keys.CALLS_PER_SECOND
                + "); slow down");
    time.schedule(() -> close(call, refused), HOLD_NANOS);
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
