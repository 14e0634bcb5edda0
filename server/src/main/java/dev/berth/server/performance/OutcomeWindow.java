package dev.berth.server.performance;

import com.codahale.metrics.Clock;
import com.codahale.metrics.SlidingTimeWindowArrayReservoir;
import com.codahale.metrics.UniformSnapshot;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The outcomes of one kind or host within a sliding time window, in a Dropwizard reservoir.
 *
 * <p>Each sample keeps the duration and the success bit in one long ({@code duration << 1 |
 * success}), so the success rate and the percentiles always come from the same samples, trimmed at
 * the same instant. The encoding preserves the order of durations.
 *
 * <p>Not thread-safe: owned by {@link DegradationMonitor}, under the broker's lock.
 */
final class OutcomeWindow {
  private static final long MAX_DURATION_NANOS = Long.MAX_VALUE >>> 1;

  private final SlidingTimeWindowArrayReservoir reservoir;

  OutcomeWindow(Duration window, Clock clock) {
    this.reservoir =
        new SlidingTimeWindowArrayReservoir(window.toNanos(), TimeUnit.NANOSECONDS, clock);
  }

  void add(boolean success, long durationNanos) {
    long duration = Math.min(Math.max(0, durationNanos), MAX_DURATION_NANOS);
    reservoir.update(duration << 1 | (success ? 1 : 0));
  }

  WindowStats stats() {
    long[] encoded = reservoir.getSnapshot().getValues();
    if (encoded.length == 0) {
      return WindowStats.EMPTY;
    }
    long[] durations = new long[encoded.length];
    int succeeded = 0;
    for (int i = 0; i < encoded.length; i++) {
      durations[i] = encoded[i] >>> 1;
      succeeded += (int) (encoded[i] & 1);
    }
    UniformSnapshot snapshot = new UniformSnapshot(durations);
    return new WindowStats(
        durations.length,
        (double) succeeded / durations.length,
        Math.round(snapshot.getMedian()),
        Math.round(snapshot.get95thPercentile()),
        Math.round(snapshot.get99thPercentile()));
  }
}
