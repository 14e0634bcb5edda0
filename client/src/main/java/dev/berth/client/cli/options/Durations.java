package dev.berth.client.cli.options;

import java.time.Duration;

/**
 * Durations shown to people, in a short human form rounded for reading. Options are read in Berth's
 * one exact format ({@link dev.berth.common.Durations}, through {@link
 * dev.berth.common.DurationConverter}); this form is for output only.
 */
public final class Durations {
  private Durations() {}

  /** A short human form: {@code 0s}, {@code 250ms}, {@code 1.5s}, {@code 4m05s}, {@code 2h03m}. */
  public static String format(Duration d) {
    if (d.isNegative()) {
      return "-" + format(d.negated());
    }
    if (d.isZero()) {
      return "0s";
    }
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms == 0 ? "<1ms" : ms + "ms";
    }
    if (ms < 10_000) {
      long tenths = ms / 100;
      return tenths % 10 == 0 ? (tenths / 10) + "s" : (tenths / 10) + "." + (tenths % 10) + "s";
    }
    long s = d.toSeconds();
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return String.format("%dm%02ds", s / 60, s % 60);
    }
    if (s < 86_400) {
      return String.format("%dh%02dm", s / 3600, (s % 3600) / 60);
    }
    return String.format("%dd%02dh", s / 86_400, (s % 86_400) / 3600);
  }
}
