package dev.berth.server.grpc;

import dev.berth.server.broker.Broker;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.ratelimit.PrincipalCallRate;
import dev.berth.server.time.TimeSource;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;

/**
 * The cap on how fast one principal may make calls ({@code caps.calls_per_second_per_principal}),
 * counted alike for unary calls ({@link CallRateInterceptor}) and for calls on a session stream
 * ({@link SessionStream}): one bucket per principal, whichever way its calls arrive. A call over
 * the cap is refused RESOURCE_EXHAUSTED naming the cap after {@link #HOLD_NANOS}.
 *
 * <p>Thread-safe.
 */
final class CallRate {
  /** How long a refusal is held back: a penalty long against the token interval of any cap. */
  static final long HOLD_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Broker broker;
  private final TimeSource time;
  private final PrincipalCallRate rates = new PrincipalCallRate();

  CallRate(Broker broker, TimeSource time) {
    this.broker = broker;
    this.time = time;
  }

  /** Whether the cap is on at all; off (0), no call is counted. */
  boolean enabled() {
    return broker.policy().caps().callsPerSecond() > 0;
  }

  /**
   * Takes one call of {@code principal}.
   *
   * @return null when admitted; else the status to refuse it with, after {@link #HOLD_NANOS}
   */
  Status admit(String principal) {
    int perSecond = broker.policy().caps().callsPerSecond();
    if (perSecond == 0
        || rates.admit(principal, perSecond, time.nanoTime()) == PrincipalCallRate.ADMITTED) {
      return null;
    }
    return Status.RESOURCE_EXHAUSTED.withDescription(
        "principal '"
            + principal
            + "' calls faster than its cap of "
            + perSecond
            + "/s ("
            + PrincipalCaps.Keys.CALLS_PER_SECOND
            + "); slow down");
  }

  /** Runs {@code refuse} once the refusal's hold has passed, on the broker's scheduler. */
  void holdThen(Runnable refuse) {
    time.schedule(refuse, HOLD_NANOS);
  }
}
