package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * Refusal details name rates and waits; their text is pinned to the plain formatting (String.format
 * and BigDecimal rounding) that the faster code replaced.
 */
class RateTextTest {

  @Test
  void duration_eachUnit_roundedUp() {
    assertThat(RateText.duration(0)).isEqualTo("0ms");
    assertThat(RateText.duration(1)).isEqualTo("1ms");
    assertThat(RateText.duration(340_000_000L)).isEqualTo("340ms");
    assertThat(RateText.duration(4_100_000_001L)).isEqualTo("4.2s");
    assertThat(RateText.duration(125_000_000_000L)).isEqualTo("2m05s");
    assertThat(RateText.duration(1_000_000_000_000L)).isEqualTo("16m40s");
    assertThat(RateText.duration(3_720_000_000_000L)).isEqualTo("1h02m");
  }

  @Property(tries = 2000)
  void duration_sameTextAsTheFormatStrings(
      @ForAll @LongRange(min = -1_000_000_000L, max = 400_000_000_000_000L) long nanos) {
    assertThat(RateText.duration(nanos)).isEqualTo(formatted(nanos));
  }

  @Property(tries = 2000)
  void number_sameTextAsUncached_evenWhenRepeatedOrAlternating(
      @ForAll @DoubleRange(min = 0, max = 1e7) double a,
      @ForAll @DoubleRange(min = 0, max = 10) double b) {
    for (double v : new double[] {a, a, b, a, b, b}) {
      assertThat(RateText.number(v)).isEqualTo(plain(v));
    }
  }

  @Test
  void number_notFinite_andRepeated() {
    assertThat(RateText.number(Double.POSITIVE_INFINITY)).isEqualTo("Infinity");
    assertThat(RateText.number(Double.NaN)).isEqualTo("NaN");
    assertThat(RateText.number(2)).isEqualTo("2.0");
    assertThat(RateText.number(2)).isEqualTo("2.0");
    assertThat(RateText.number(0.05)).isEqualTo("0.05");
    assertThat(RateText.number(1.4142)).isEqualTo("1.41");
  }

  /** The formatting RateText.duration had before: String.format per unit. */
  private static String formatted(long nanos) {
    if (nanos <= 0) {
      return "0ms";
    }
    if (nanos < 1_000_000_000L) {
      return -Math.floorDiv(-nanos, 1_000_000L) + "ms";
    }
    if (nanos < 60_000_000_000L) {
      long tenths = -Math.floorDiv(-nanos, 100_000_000L);
      return String.format(Locale.ROOT, "%d.%ds", tenths / 10, tenths % 10);
    }
    long seconds = -Math.floorDiv(-nanos, 1_000_000_000L);
    if (seconds < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
    long minutes = -Math.floorDiv(-seconds, 60);
    return String.format(Locale.ROOT, "%dh%02dm", minutes / 60, minutes % 60);
  }

  /** RateText.number without its memory of the last value. */
  private static String plain(double value) {
    String s =
        BigDecimal.valueOf(value).round(new MathContext(3)).stripTrailingZeros().toPlainString();
    return s.indexOf('.') < 0 ? s + ".0" : s;
  }
}
