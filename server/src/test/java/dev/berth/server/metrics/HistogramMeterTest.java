package dev.berth.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.codahale.metrics.Clock;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Timer;
import com.codahale.metrics.UniformReservoir;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HistogramMeterTest {
  private static final class ManualClock extends Clock {
    long tick = 1_000_000_000L;

    @Override
    public long getTick() {
      return tick;
    }

    void advance(long seconds) {
      tick += TimeUnit.SECONDS.toNanos(seconds);
    }
  }

  private final ManualClock clock = new ManualClock();

  /** Dropwizard's own timer, whose meter marks every value: the rates the new one must match. */
  private final Timer dropwizard = new Timer(new UniformReservoir(), clock);

  private final Timer timer = HistogramMeter.timer(new Histogram(new UniformReservoir()), clock);

  private void record(int values) {
    for (int i = 0; i < values; i++) {
      dropwizard.update(i, TimeUnit.MILLISECONDS);
      timer.update(i, TimeUnit.MILLISECONDS);
    }
  }

  private void assertSameRates() {
    assertThat(timer.getCount()).isEqualTo(dropwizard.getCount());
    assertThat(timer.getOneMinuteRate()).isCloseTo(dropwizard.getOneMinuteRate(), within(1e-9));
    assertThat(timer.getFiveMinuteRate()).isCloseTo(dropwizard.getFiveMinuteRate(), within(1e-9));
    assertThat(timer.getFifteenMinuteRate())
        .isCloseTo(dropwizard.getFifteenMinuteRate(), within(1e-9));
    assertThat(timer.getMeanRate()).isCloseTo(dropwizard.getMeanRate(), within(1e-9));
  }

  @Test
  void rates_readEveryTick_matchDropwizardsMeter() {
    int[] perTick = {100, 0, 250, 3, 0, 0, 1000, 7};
    for (int values : perTick) {
      record(values);
      clock.advance(5);
      assertSameRates();
    }
    assertThat(timer.getOneMinuteRate()).isPositive();
  }

  @Test
  void rates_readAfterAnIdleGap_decayOncePerTickThatPassed() {
    record(500);
    clock.advance(6);
    assertSameRates();
    double busy = timer.getOneMinuteRate();
    clock.advance(600); // 120 ticks with nothing recorded
    assertSameRates();
    assertThat(timer.getOneMinuteRate()).isPositive().isLessThan(busy * 1e-3);
  }

  @Test
  void rates_afterADayIdle_areZeroAndStartAgainAsDropwizards() {
    record(500);
    clock.advance(6);
    assertSameRates();
    clock.advance(TimeUnit.DAYS.toSeconds(1));
    assertSameRates();
    assertThat(timer.getFifteenMinuteRate()).isCloseTo(0, within(1e-12));
    record(10);
    clock.advance(6);
    assertSameRates();
  }

  @Test
  void rates_beforeTheFirstTick_areZeroAsDropwizards() {
    record(42);
    clock.advance(4);
    assertThat(timer.getOneMinuteRate()).isZero();
    assertSameRates();
  }

  @Test
  void count_isTheHistogramsAndMarkingAddsNothing() {
    record(3);
    timer.time().stop(); // a marked value still counts once, through the histogram
    assertThat(timer.getCount()).isEqualTo(4);
    assertThat(timer.getSnapshot().size()).isEqualTo(4);
  }
}
