package dev.berth.common;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way Berth writes durations for people, read the same by the daemon's configuration, the
 * CLI, the worker and the benchmarks: one or more number-unit pairs, largest unit first ({@code
 * 250ms}, {@code 10s}, {@code 1m30s}, {@code 2h}, {@code 1d12h}), or ISO-8601 ({@code PT1.5S}).
 *
 * <p>This class is stateless and thread-safe.
 */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d{1,18})(ms|s|m|h|d)");

  /** The rule a caller names in its error, after the name of the field or key at fault. */
  public static final String RULE = "must be a duration like 500ms, 10s, 1m30s or 1h";

  /**
   * The longest duration any setting or option takes: far beyond every use, and far enough below
   * the 292 years a {@code long} of nanoseconds holds that no arithmetic on one overflows. A key or
   * option with a tighter rule checks it besides.
   */
  public static final Duration MAX = Duration.ofDays(3650);

  private Durations() {}

  /**
   * {@code value}, an argument that must be more than zero and at most {@link #MAX} (a timeout, a
   * deadline, a back-off): beyond it, turning it into nanoseconds overflows.
   *
   * @throws IllegalArgumentException {@code name: rule, got value}
   */
  public static Duration requirePositive(String name, Duration value) {
    if (value.isZero() || value.isNegative()) {
      throw new IllegalArgumentException(name + ": must be positive, got " + value);
    }
    if (value.compareTo(MAX) > 0) {
      throw new IllegalArgumentException(
          name + ": must be at most 3650d (ten years), got " + value);
    }
    return value;
  }

  /**
   * What is wrong with {@code d}, read from {@code text}, as a setting or an option: longer than
   * {@link #MAX}, or not whole milliseconds (what Berth writes back is whole milliseconds); null
   * when nothing is. Negative durations are the caller's to refuse, with its own rule.
   */
  public static String boundsProblem(Duration d, String text) {
    if (d.compareTo(MAX) > 0) {
      return "must be at most 3650d (ten years), got '" + text + "'";
    }
    if (d.toNanosPart() % 1_000_000 != 0) {
      return "must be whole milliseconds, got '" + text + "'";
    }
    return null;
  }

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException whose message is {@link #RULE} and the text, e.g. {@code must
   *     be a duration like 500ms, 10s, 1m30s or 1h, got '10'}
   */
  public static Duration parse(String text) {
    String s = text.trim();
    if (s.toUpperCase(Locale.ROOT).startsWith("P") || s.startsWith("-P")) {
      try {
        return Duration.parse(s);
      } catch (DateTimeParseException e) {
        throw invalid(text);
      }
    }
    if (s.isEmpty()) {
      throw invalid(text);
    }
    Matcher m = PART.matcher(s);
    Duration total = Duration.ZERO;
    int at = 0;
    int lastRank = Integer.MAX_VALUE;
    try {
      while (at < s.length()) {
        if (!m.find(at) || m.start() != at) {
          throw invalid(text);
        }
        int rank = rank(m.group(2));
        if (rank >= lastRank) {
          throw invalid(text); // each unit once, largest first: 1m30s, not 30s1m or 1m1m
        }
        lastRank = rank;
        total = total.plus(unit(m.group(2)).multipliedBy(Long.parseLong(m.group(1))));
        at = m.end();
      }
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("is too long, got '" + text + "'", e);
    }
    return total;
  }

  /**
   * Formats {@code d} exactly, so that {@link #parse} reads back the same duration: {@code 0s},
   * {@code 250ms}, {@code 10s}, {@code 1m30s}, {@code 1d2h}, {@code 1s500ms}. Negative durations
   * have a leading minus sign, which {@link #parse} refuses; no setting is negative.
   */
  public static String format(Duration d) {
    if (d.isNegative()) {
      return "-" + format(d.negated());
    }
    if (d.isZero()) {
      return "0s";
    }
    long ms = d.toMillis();
    StringBuilder out = new StringBuilder();
    long days = ms / 86_400_000L;
    ms %= 86_400_000L;
    long hours = ms / 3_600_000L;
    ms %= 3_600_000L;
    long minutes = ms / 60_000L;
    ms %= 60_000L;
    long seconds = ms / 1000;
    ms %= 1000;
    append(out, days, "d");
    append(out, hours, "h");
    append(out, minutes, "m");
    append(out, seconds, "s");
    append(out, ms, "ms");
    return out.length() == 0 ? d.toNanos() + "ns" : out.toString();
  }

  private static void append(StringBuilder out, long n, String unit) {
    if (n != 0) {
      out.append(n).append(unit);
    }
  }

  private static int rank(String unit) {
    return switch (unit) {
      case "ms" -> 0;
      case "s" -> 1;
      case "m" -> 2;
      case "h" -> 3;
      default -> 4;
    };
  }

  private static Duration unit(String unit) {
    return switch (unit) {
      case "ms" -> Duration.ofMillis(1);
      case "s" -> Duration.ofSeconds(1);
      case "m" -> Duration.ofMinutes(1);
      case "h" -> Duration.ofHours(1);
      default -> Duration.ofDays(1);
    };
  }

  private static IllegalArgumentException invalid(String text) {
    return new IllegalArgumentException(RULE + ", got '" + text + "'");
  }
}
