package dev.berth.server.memory;

import java.math.BigDecimal;
import java.util.Locale;

/** Formats ratios and figures for triggers that operators read. */
final class Ratios {
  private Ratios() {}

  /** A configured threshold as written: {@code 0.85}, {@code 0.9}, {@code 1}. */
  static String format(double value) {
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }

  /** A measured ratio, to two places: {@code 0.88}. */
  static String measured(double ratio) {
    return String.format(Locale.ROOT, "%.2f", ratio);
  }
}
