package dev.berth.server.ratelimit;

import java.math.BigDecimal;
import java.math.MathContext;

/** Rates and waits as operators read them in refusal details and status. Thread-safe. */
public final class RateText {
  private static final MathContext THREE_DIGITS = new MathContext(3);

  private RateText() {}

  /** Three significant digits and at least one decimal: {@code 2.0}, {@code 0.05}, {@code 1.41}. */
  static String number(double value) {
    Formatted last = lastNumber;
    if (Double.doubleToRawLongBits(last.value) == Double.doubleToRawLongBits(value)) {
      return last.text;
    }
    String text;
    if (!Double.isFinite(value)) {
      text = String.valueOf(value);
    } else {
      String s = BigDecimal.valueOf(value).round(THREE_DIGITS).stripTrailingZeros().toPlainString();
      text = s.indexOf('.') < 0 ? s + ".0" : s;
    }
    lastNumber = new Formatted(value, text);
    return text;
  }

  /** A number and its text: the last one formatted, since refusals repeat their rule's rate. */
  private record Formatted(double value, String text) {}

  /**
   * The number formatted last. A refusal's detail names its rule's rate, the same value refusal
   * after refusal, and its BigDecimal rounding took about a tenth of a refused acquire's profile
   * samples in the daemon.
   */
  private static volatile Formatted lastNumber = new Formatted(Double.NaN, "NaN");

  /** A rate, e.g. {@code 2.0/s}. */
  public static String rate(double perSecond) {
    return number(perSecond) + "/s";
  }

  /**
   * A wait, rounded up so that a client sleeping the shown time is never early: {@code 340ms},
   * {@code 4.2s}, {@code 2m05s}, {@code 1h02m}.
   */
  public static String duration(long nanos) {
    if (nanos <= 0) {
      return "0ms";
    }
    if (nanos < 1_000_000_000L) {
      return ceilDiv(nanos, 1_000_000L) + "ms";
    }
    // Concatenation, not String.format: a refused acquire's detail names its wait, and parsing
    // the format string was most of what the refusal cost after the broker's lock.
    if (nanos < 60_000_000_000L) {
      long tenths = ceilDiv(nanos, 100_000_000L);
      return tenths / 10 + "." + tenths % 10 + "s";
    }
    long seconds = ceilDiv(nanos, 1_000_000_000L);
    if (seconds < 3600) {
      return seconds / 60 + "m" + twoDigits(seconds % 60) + "s";
    }
    long minutes = ceilDiv(seconds, 60);
    return minutes / 60 + "h" + twoDigits(minutes % 60) + "m";
  }

  /** 0..99 with a leading zero below 10, as {@code %02d}. */
  private static String twoDigits(long value) {
    return value < 10 ? "0" + value : Long.toString(value);
  }

  private static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }
}
