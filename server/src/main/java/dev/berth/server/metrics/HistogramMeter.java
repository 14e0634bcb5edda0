package dev.berth.server.metrics;

import com.codahale.metrics.Clock;
import com.codahale.metrics.EWMA;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Meter;
import com.codahale.metrics.Timer;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.concurrent.TimeUnit;

/**
 * The meter of a {@link Timer} that counts nothing on the caller's thread: its count is the timer's
 * histogram's, and its rates are worked out when they are read.
 *
 * <p>Dropwizard's own meter does a clock read and four {@code LongAdder} adds on every {@link
 * Timer#update} (its count, and one per moving average), though the timer's histogram counts every
 * value too. On the acquire path, with two event-loop threads recording the same timer, that meter
 * was about three quarters of the timer's cost. This one's {@link #mark} does nothing; a read of a
 * rate feeds the moving averages with what the histogram counted since the previous read, in
 * Dropwizard's 5-second ticks, so a reader (JMX) sees the same exponentially weighted rates.
 *
 * <p>The one difference: Dropwizard files a value under the tick during which it was marked, this
 * meter under the tick during which the next read comes. With reads every few seconds the rates
 * agree within a tick's weight.
 *
 * <p>Thread-safe: any thread records through the histogram; reads are serialised.
 */
public final class HistogramMeter extends Meter {
  private static final long TICK_NANOS = TimeUnit.SECONDS.toNanos(5);
  private static final int MAX_TICKS = maxTicks();

  private final Histogram histogram;
  private final Clock clock;
  private final long startTick;

  @GuardedBy("this")
  private final EWMA m1 = EWMA.oneMinuteEWMA();

  @GuardedBy("this")
  private final EWMA m5 = EWMA.fiveMinuteEWMA();

  @GuardedBy("this")
  private final EWMA m15 = EWMA.fifteenMinuteEWMA();

  @GuardedBy("this")
  private long lastTick;

  @GuardedBy("this")
  private long lastCount;

  private HistogramMeter(Histogram histogram, Clock clock) {
    super(clock);
    this.histogram = histogram;
    this.clock = clock;
    this.startTick = clock.getTick();
    this.lastTick = startTick;
  }

  /** A timer over {@code histogram} whose meter is a {@code HistogramMeter}. */
  public static Timer timer(Histogram histogram, Clock clock) {
    return new Timer(new HistogramMeter(histogram, clock), histogram, clock);
  }

  /** Does nothing: the histogram has counted the value. */
  @Override
  public void mark() {
    // counted by the histogram
  }

  /** Does nothing: the histogram has counted the value. */
  @Override
  public void mark(long n) {
    // counted by the histogram
  }

  @Override
  public long getCount() {
    return histogram.getCount();
  }

  @Override
  public double getMeanRate() {
    long count = getCount();
    long elapsed = clock.getTick() - startTick;
    return count == 0 || elapsed <= 0 ? 0 : count / (double) elapsed * TimeUnit.SECONDS.toNanos(1);
  }

  @Override
  public synchronized double getOneMinuteRate() {
    tick();
    return m1.getRate(TimeUnit.SECONDS);
  }

  @Override
  public synchronized double getFiveMinuteRate() {
    tick();
    return m5.getRate(TimeUnit.SECONDS);
  }

  @Override
  public synchronized double getFifteenMinuteRate() {
    tick();
    return m15.getRate(TimeUnit.SECONDS);
  }

  /**
   * Files the values counted since the last tick under the first tick now due, and decays the
   * averages once per tick that passed, as Dropwizard's meter does on its next mark or read: a tick
   * is due once more than 5 s have passed, and after so many idle ticks that even the 15-minute
   * average would have decayed below 0.0001/s the averages are set to zero instead of ticked
   * thousands of times.
   */
  @GuardedBy("this")
  private void tick() {
    long age = clock.getTick() - lastTick;
    if (age <= TICK_NANOS) {
      return;
    }
    long ticks = age / TICK_NANOS;
    lastTick += ticks * TICK_NANOS;
    long count = histogram.getCount();
    long counted = count - lastCount;
    lastCount = count;
    for (EWMA ewma : new EWMA[] {m1, m5, m15}) {
      if (ticks >= MAX_TICKS) {
        ewma.reset();
        continue;
      }
      ewma.update(counted);
      for (long i = 0; i < ticks; i++) {
        ewma.tick();
      }
    }
  }

  /** Dropwizard's bound: the ticks after which the largest count has decayed below 0.0001/s. */
  private static int maxTicks() {
    EWMA ewma = EWMA.fifteenMinuteEWMA();
    ewma.update(Long.MAX_VALUE);
    int ticks = 1;
    do {
      ewma.tick();
      ticks++;
    } while (ewma.getRate(TimeUnit.SECONDS) > 1e-4);
    return ticks;
  }
}
