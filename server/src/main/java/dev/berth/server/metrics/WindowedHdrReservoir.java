package dev.berth.server.metrics;

import com.codahale.metrics.Clock;
import com.codahale.metrics.Reservoir;
import com.codahale.metrics.Snapshot;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.HdrHistogram.Recorder;

/**
 * A Dropwizard {@link Reservoir} over roughly the last {@code window}: every value goes into an
 * HdrHistogram {@link Recorder} (wait-free: no clock read, no lock), and a read files what was
 * recorded since the previous read under the current sixth of the window, keeping the six newest
 * sixths. Quantiles are exact to two significant digits (within 1 %), and the memory is fixed (a
 * few histograms of about 17 KB for latencies up to seconds) where the sliding window it replaces
 * kept every value of the last minute.
 *
 * <p>It replaces Dropwizard's {@code SlidingTimeWindowArrayReservoir}, which read the clock and
 * took a lock on every value and kept every value of the last minute (16 bytes each: about 58 MB
 * per pool at 60,000 acquires a second). The price is a coarser window: values recorded between two
 * reads count from the second read, so a read sees the values of the last five to six sixths of the
 * window plus those since the read before it (with Prometheus scraping every 15 s and a 60 s
 * window: the last 50 to 75 s). Dropwizard has no windowed HdrHistogram reservoir of its own.
 *
 * <p>Thread-safe: any thread records; reads are serialised.
 */
public final class WindowedHdrReservoir implements Reservoir {
  private static final int SLOTS = 6;

  /** Two significant digits: quantiles within 1 %, and about 17 KB per histogram for latencies. */
  private static final int SIGNIFICANT_DIGITS = 2;

  private final Recorder recorder = new Recorder(SIGNIFICANT_DIGITS);
  private final Clock clock;
  private final long slotNanos;

  // Guarded by this: the values of sixth k of time (k = tick / slotNanos) in slots[k % SLOTS],
  // which holds sixth keys[k % SLOTS].
  private final Histogram[] slots = new Histogram[SLOTS];
  private final long[] keys = new long[SLOTS];

  /** The histogram the recorder filled, handed back to it for its next interval. */
  private Histogram recycled;

  /**
   * A reservoir over about the last {@code window}.
   *
   * @param clock the time the window's sixths follow
   */
  public WindowedHdrReservoir(long window, TimeUnit unit, Clock clock) {
    this.clock = clock;
    this.slotNanos = Math.max(1, unit.toNanos(window) / SLOTS);
    for (int i = 0; i < SLOTS; i++) {
      slots[i] = new Histogram(SIGNIFICANT_DIGITS);
      keys[i] = Long.MIN_VALUE;
    }
  }

  /** Records {@code value}; a negative one (a clock that stepped back) counts as 0. */
  @Override
  public void update(long value) {
    recorder.recordValue(Math.max(0, value));
  }

  @Override
  public int size() {
    return (int) Math.min(Integer.MAX_VALUE, window().getTotalCount());
  }

  @Override
  public Snapshot getSnapshot() {
    return new HdrSnapshot(window());
  }

  /** The values in the window now, as one new histogram. */
  private synchronized Histogram window() {
    long k = Math.floorDiv(clock.getTick(), slotNanos);
    Histogram interval = recorder.getIntervalHistogram(recycled);
    int at = Math.floorMod(k, SLOTS);
    if (keys[at] != k) {
      slots[at].reset();
      keys[at] = k;
    }
    slots[at].add(interval);
    recycled = interval;
    Histogram all = new Histogram(SIGNIFICANT_DIGITS);
    for (int i = 0; i < SLOTS; i++) {
      if (keys[i] > k - SLOTS) {
        all.add(slots[i]);
      }
    }
    return all;
  }

  /** A Dropwizard snapshot of one merged histogram. */
  private static final class HdrSnapshot extends Snapshot {
    private final Histogram h;

    HdrSnapshot(Histogram h) {
      this.h = h;
    }

    @Override
    public double getValue(double quantile) {
      if (!(quantile >= 0 && quantile <= 1)) {
        throw new IllegalArgumentException(quantile + " is not in [0..1]");
      }
      return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(quantile * 100);
    }

    /**
     * One value per bucket that holds any, smallest first: the whole set would be as many values as
     * were recorded, which is what this reservoir avoids keeping.
     */
    @Override
    public long[] getValues() {
      long[] values = new long[countBuckets()];
      int i = 0;
      for (HistogramIterationValue v : h.recordedValues()) {
        values[i++] = h.highestEquivalentValue(v.getValueIteratedTo());
      }
      return values;
    }

    private int countBuckets() {
      int n = 0;
      for (HistogramIterationValue unused : h.recordedValues()) {
        n++;
      }
      return n;
    }

    @Override
    public int size() {
      return (int) Math.min(Integer.MAX_VALUE, h.getTotalCount());
    }

    @Override
    public long getMax() {
      return h.getTotalCount() == 0 ? 0 : h.getMaxValue();
    }

    @Override
    public double getMean() {
      return h.getTotalCount() == 0 ? 0 : h.getMean();
    }

    @Override
    public long getMin() {
      return h.getTotalCount() == 0 ? 0 : h.getMinValue();
    }

    @Override
    public double getStdDev() {
      return h.getTotalCount() == 0 ? 0 : h.getStdDeviation();
    }

    @Override
    public void dump(OutputStream output) {
      try (PrintWriter out =
          new PrintWriter(new java.io.OutputStreamWriter(output, StandardCharsets.UTF_8))) {
        for (long value : getValues()) {
          out.printf("%d%n", value);
        }
      }
    }
  }
}
