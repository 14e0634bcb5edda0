package dev.berth.server.e2e;

import java.util.Arrays;

/** Latencies of calls in nanoseconds, kept whole and sorted to read exact percentiles. */
final class LatencySamples {
  private long[] values;
  private int size;

  LatencySamples(int capacity) {
    values = new long[capacity];
  }

  synchronized void add(long nanos) {
    if (size == values.length) {
      values = Arrays.copyOf(values, size * 2);
    }
    values[size++] = nanos;
  }

  synchronized int size() {
    return size;
  }

  /** The {@code q} quantile (0..1) by the nearest-rank method, in microseconds. */
  synchronized double quantileMicros(double q) {
    if (size == 0) {
      throw new IllegalStateException("no samples");
    }
    long[] sorted = Arrays.copyOf(values, size);
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(q * size);
    return sorted[Math.max(0, rank - 1)] / 1000.0;
  }

  @Override
  public String toString() {
    return String.format(
        "n=%d p50=%.0fus p99=%.0fus max=%.0fus",
        size(), quantileMicros(0.5), quantileMicros(0.99), quantileMicros(1.0));
  }
}
