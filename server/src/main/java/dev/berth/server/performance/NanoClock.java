package dev.berth.server.performance;

import com.codahale.metrics.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A Dropwizard {@link Clock} over injected monotonic nanoseconds, so sliding-window reservoirs
 * expire samples on the broker's time (and on a test's fake time) rather than the system's.
 */
final class NanoClock extends Clock {
  private final LongSupplier nanos;

  NanoClock(LongSupplier nanos) {
    this.nanos = nanos;
  }

  @Override
  public long getTick() {
    return nanos.getAsLong();
  }

  /** Monotonic milliseconds, not wall time; the reservoirs here only read ticks. */
  @Override
  public long getTime() {
    return TimeUnit.NANOSECONDS.toMillis(nanos.getAsLong());
  }
}
