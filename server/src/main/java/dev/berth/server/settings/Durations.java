package dev.berth.server.settings;

import java.time.Duration;

/**
 * Durations in configuration: the one format of {@link dev.berth.common.Durations} ({@code 500ms},
 * {@code 10s}, {@code 1m30s}, {@code 1h}, or ISO-8601), with errors that name the key.
 */
public final class Durations {
  private Durations() {}

  /**
   * The longest duration any setting takes: far beyond every key's use, and far enough below the
   * 292 years a {@code long} of nanoseconds holds that no arithmetic on a setting overflows. A key
   * with a tighter rule checks it besides.
   */
  public static final Duration MAX = Duration.ofDays(3650);

  /**
   * Parses {@code text}: a duration of whole milliseconds, at most {@link #MAX}.
   *
   * @throws ConfigException naming {@code key} when the text is not such a duration
   */
  public static Duration parse(String key, String text) {
    Duration d;
    try {
      d = dev.berth.common.Durations.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
    if (d.compareTo(MAX) > 0) {
      throw new ConfigException(key, "must be at most 3650d (ten years), got '" + text + "'");
    }
    if (d.toNanosPart() % 1_000_000 != 0) {
      // What --print-config and a follower's copy of the policy write is whole milliseconds.
      throw new ConfigException(key, "must be whole milliseconds, got '" + text + "'");
    }
    return d;
  }

  /** Formats a duration the way {@link #parse} reads it, e.g. {@code 10s} or {@code 1m30s}. */
  public static String format(Duration d) {
    return dev.berth.common.Durations.format(d);
  }
}
