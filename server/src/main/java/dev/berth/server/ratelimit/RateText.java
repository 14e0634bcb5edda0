package dev.berth.server.ratelimit;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;

/** Rates and waits as operators read them in refusal details and status. */
final class RateText {
  private static final MathContext THREE_DIGITS = new MathContext(3);

  private RateText() {}

  /** Three significant digits and at least one decimal: {@code 2.0}, {@code 0.05}, {@code 1.41}. */
  static String number(double value) {
    if (!Double.isFinite(value)) {
      return String.valueOf(value);
    }
    String s = BigDecimal.valueOf(value).round(THREE_DIGITS).stripTrailingZeros().toPlainString();
    return s.indexOf('.') < 0 ? s + ".0" : s;
  }

  /** A rate, e.g. {@code 2.0/s}. */
  static String rate(double perSecond) {
    return number(perSecond) + "/s";
  }

  /**
   * A wait, rounded up so that a client sleeping the shown time is never early: {@code 340ms},
   * {@code 4.2s}, {@code 2m05s}, {@code 1h02m}.
   */
  static String duration(long nanos) {
    if (nanos <= 0) {
      return "0ms";
    }
    if (nanos < 1_000_000_000L) {
      return ceilDiv(nanos, 1_000_000L) + "ms";
    }
    if (nanos < 60_000_000_000L) {
      long tenths = ceilDiv(nanos, 100_000_000L);
      return String.format(Locale.ROOT, "%d.%ds", tenths / 10, tenths % 10);
    }
    long seconds = ceilDiv(nanos, 1_000_000_000L);
    if (seconds < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
    long minutes = ceilDiv(seconds, 60);
    return String.format(Locale.ROOT, "%dh%02dm", minutes / 60, minutes % 60);
  }

  private static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }
}
