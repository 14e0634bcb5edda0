package dev.berth.server.performance;

import com.codahale.metrics.UniformSnapshot;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The newest outcomes of one kind or host within a sliding time window: at most {@link #CAPACITY}
 * of them, so both memory and the cost of {@link #stats()} stay bounded however fast outcomes
 * arrive. Below the cap every outcome in the window counts; at a higher rate the oldest ones in the
 * window are dropped first, so the statistics describe the most recent {@link #CAPACITY} outcomes.
 * Percentiles come from a Dropwizard {@link UniformSnapshot} over the retained durations.
 *
 * <p>Each sample keeps the duration and the success bit in one long ({@code duration << 1 |
 * success}), so the success rate and the percentiles always come from the same samples, trimmed at
 * the same instant. The ring grows on demand, so a host with few outcomes costs little.
 *
 * <p>Not thread-safe: owned by {@link DegradationMonitor}, under the broker's lock.
 */
final class OutcomeWindow {
  /** The most outcomes one window keeps (and the largest {@code performance.min_samples}). */
  static final int CAPACITY = 8192;

  private static final int INITIAL = 16;
  private static final long MAX_DURATION_NANOS = Long.MAX_VALUE >>> 1;

  private final long windowNanos;
  private final LongSupplier clock;

  /** A ring: {@code size} samples starting at {@code head}, oldest first. */
  private long[] times = new long[INITIAL];

  private long[] encoded = new long[INITIAL];
  private int head;
  private int size;

  /**
   * @param clock the broker's monotonic nanoseconds; a sample leaves {@code window} after it came
   */
  OutcomeWindow(Duration window, LongSupplier clock) {
    this.windowNanos = window.toNanos();
    this.clock = clock;
  }

  void add(boolean success, long durationNanos) {
    long now = clock.getAsLong();
    trim(now);
    long duration = Math.min(Math.max(0, durationNanos), MAX_DURATION_NANOS);
    if (size == times.length) {
      if (size < CAPACITY) {
        grow();
      } else {
        head = (head + 1) % CAPACITY; // full: the oldest makes room
        size--;
      }
    }
    int at = (head + size) % times.length;
    times[at] = now;
    encoded[at] = duration << 1 | (success ? 1 : 0);
    size++;
  }

  WindowStats stats() {
    trim(clock.getAsLong());
    if (size == 0) {
      return WindowStats.EMPTY;
    }
    long[] durations = new long[size];
    int succeeded = 0;
    for (int i = 0; i < size; i++) {
      long sample = encoded[(head + i) % encoded.length];
      durations[i] = sample >>> 1;
      succeeded += (int) (sample & 1);
    }
    UniformSnapshot snapshot = new UniformSnapshot(durations);
    return new WindowStats(
        size,
        (double) succeeded / size,
        Math.round(snapshot.getMedian()),
        Math.round(snapshot.get95thPercentile()),
        Math.round(snapshot.get99thPercentile()));
  }

  /** Drops samples that are a whole window old or older. */
  private void trim(long now) {
    while (size > 0 && now - times[head] >= windowNanos) {
      head = (head + 1) % times.length;
      size--;
    }
  }

  /** Doubles the ring, unrolling it so the oldest sample is first again. */
  private void grow() {
    int length = Math.min(CAPACITY, times.length * 2);
    long[] newTimes = new long[length];
    long[] newEncoded = new long[length];
    for (int i = 0; i < size; i++) {
      newTimes[i] = times[(head + i) % times.length];
      newEncoded[i] = encoded[(head + i) % encoded.length];
    }
    times = newTimes;
    encoded = newEncoded;
    head = 0;
  }
}
