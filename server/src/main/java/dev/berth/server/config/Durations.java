package dev.berth.server.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses durations as operators write them: {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}. */
public final class Durations {
  private static final Pattern SIMPLE = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {}

  /**
   * Parses {@code text} ({@code 250ms}, {@code 10s}, {@code 2m}, {@code 1h}, {@code 1d}, or
   * ISO-8601 like {@code PT1.5S}).
   *
   * @throws ConfigException naming {@code key} when the text is not a duration
   */
  public static Duration parse(String key, String text) {
    String t = text.trim();
    Matcher m = SIMPLE.matcher(t);
    try {
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
      }
      return Duration.parse(t);
    } catch (ArithmeticException | NumberFormatException | DateTimeParseException e) {
      throw new ConfigException(
          key, "must be a duration like 500ms, 10s, 5m or 1h, got '" + text + "'");
    }
  }

  /** Formats a duration the way {@link #parse} reads it, e.g. {@code 10s} or {@code 250ms}. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 3_600_000 == 0 && ms > 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms > 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }
}
