package dev.berth.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.codahale.metrics.Clock;
import com.codahale.metrics.Snapshot;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WindowedHdrReservoirTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  /** A clock the test moves. */
  private static final class ManualClock extends Clock {
    long tick = 1_000 * SECOND;

    @Override
    public long getTick() {
      return tick;
    }
  }

  private final ManualClock clock = new ManualClock();
  private final WindowedHdrReservoir reservoir =
      new WindowedHdrReservoir(60, TimeUnit.SECONDS, clock);

  @Test
  void snapshot_quantilesOfTheRecordedValues_withinOnePercent() {
    for (long v = 1; v <= 10_000; v++) {
      reservoir.update(v * 1_000); // 1 µs .. 10 ms
    }

    Snapshot s = reservoir.getSnapshot();

    assertThat(s.size()).isEqualTo(10_000);
    assertThat(s.getMedian()).isCloseTo(5_000_000, within(50_000.0));
    assertThat(s.get99thPercentile()).isCloseTo(9_900_000, within(99_000.0));
    assertThat(s.getMin()).isCloseTo(1_000, within(10L));
    assertThat(s.getMax()).isCloseTo(10_000_000, within(100_000L));
    assertThat(s.getMean()).isCloseTo(5_000_500, within(50_000.0));
  }

  @Test
  void snapshot_empty_allZero() {
    Snapshot s = reservoir.getSnapshot();

    assertThat(s.size()).isZero();
    assertThat(s.get99thPercentile()).isZero();
    assertThat(s.getMax()).isZero();
    assertThat(s.getMean()).isZero();
    assertThat(s.getValues()).isEmpty();
  }

  @Test
  void values_olderThanTheWindow_dropOut_newerStay() {
    reservoir.update(5_000_000); // seen by a read now: counts from now
    assertThat(reservoir.size()).isEqualTo(1);

    clock.tick += 30 * SECOND;
    reservoir.update(1_000);
    assertThat(reservoir.getSnapshot().getMax()).as("both in the window").isGreaterThan(4_000_000);
    assertThat(reservoir.size()).isEqualTo(2);

    clock.tick += 40 * SECOND; // 70 s after the first, 40 s after the second
    Snapshot s = reservoir.getSnapshot();
    assertThat(s.size()).isEqualTo(1);
    assertThat(s.getMax()).isLessThan(2_000);

    clock.tick += 60 * SECOND;
    assertThat(reservoir.size()).isZero();
  }

  @Test
  void valuesRecordedBetweenReads_countFromTheRead() {
    reservoir.update(7_000);
    clock.tick += 59 * SECOND; // nobody read meanwhile

    assertThat(reservoir.size()).as("filed at this read, in its sixth of the window").isEqualTo(1);
    clock.tick += 50 * SECOND;
    assertThat(reservoir.size()).isEqualTo(1);
    clock.tick += 10 * SECOND;
    assertThat(reservoir.size()).as("its sixth left the window").isZero();
  }

  @Test
  void update_negative_countsAsZero() {
    reservoir.update(-5);

    assertThat(reservoir.getSnapshot().getMin()).isZero();
    assertThat(reservoir.size()).isEqualTo(1);
  }

  @Test
  void getValue_quantileOutsideZeroToOne_refused() {
    Snapshot s = reservoir.getSnapshot();

    assertThatThrownBy(() -> s.getValue(1.5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> s.getValue(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void getValuesAndDump_oneValuePerBucketInUse() {
    reservoir.update(100);
    reservoir.update(100);
    reservoir.update(5_000);

    Snapshot s = reservoir.getSnapshot();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    s.dump(out);

    assertThat(s.getValues()).containsExactly(100, 5_023);
    assertThat(out.toString(StandardCharsets.UTF_8).lines()).containsExactly("100", "5023");
  }
}
