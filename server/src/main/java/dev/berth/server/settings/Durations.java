package dev.berth.server.settings;

import java.time.Duration;

/**
 * Durations in configuration: the one format of {@link dev.berth.common.Durations} ({@code 500ms},
 * {@code 10s}, {@code 1m30s}, {@code 1h}, or ISO-8601), with errors that name the key.
 */
public final class Durations {
  private Durations() {}

  /**
   * Parses {@code text}.
   *
   * @throws ConfigException naming {@code key} when the text is not a duration
   */
  public static Duration parse(String key, String text) {
    try {
      return dev.berth.common.Durations.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  /** Formats a duration the way {@link #parse} reads it, e.g. {@code 10s} or {@code 1m30s}. */
  public static String format(Duration d) {
    return dev.berth.common.Durations.format(d);
  }
}
