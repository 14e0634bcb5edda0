package dev.berth.bench.fleet;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The waits of one job's workers, from first asking for a slot to the grant, as an HdrHistogram
 * (three significant digits, so a percentile is within 0.1 % of the exact value).
 *
 * <p>Not thread-safe: filled once, then read.
 */
public final class Waits {
  private final Histogram micros = new Histogram(3);

  /** The waits of every {@link Hold} of {@code job} granted in {@code [from, to)}. */
  public static Waits of(List<Hold> holds, int job, long from, long to) {
    Waits w = new Waits();
    for (Hold h : holds) {
      if (h.job() == job && h.granted() >= from && h.granted() < to) {
        w.record(h.waitNanos());
      }
    }
    return w;
  }

  public void record(long nanos) {
    micros.recordValue(TimeUnit.NANOSECONDS.toMicros(Math.max(0, nanos)));
  }

  public long count() {
    return micros.getTotalCount();
  }

  /** The {@code p}-th percentile (0–100) in milliseconds; 0 when nothing was recorded. */
  public double percentileMillis(double p) {
    return count() == 0 ? 0 : micros.getValueAtPercentile(p) / 1e3;
  }
}
