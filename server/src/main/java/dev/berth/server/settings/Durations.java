package dev.berth.server.settings;

import java.time.Duration;

/**
 * Durations in configuration: the one format of {@link dev.berth.common.Durations} ({@code 500ms},
 * {@code 10s}, {@code 1m30s}, {@code 1h}, or ISO-8601), with errors that name the key.
 */
public final class Durations {
  private Durations() {}

  /** The longest duration any setting takes ({@link dev.berth.common.Durations#MAX}). */
  public static final Duration MAX = dev.berth.common.Durations.MAX;

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
    // What --print-config and a follower's copy of the policy write is whole milliseconds.
    String problem = dev.berth.common.Durations.boundsProblem(d, text);
    if (problem != null) {
      throw new ConfigException(key, problem);
    }
    return d;
  }

  /** Formats a duration the way {@link #parse} reads it, e.g. {@code 10s} or {@code 1m30s}. */
  public static String format(Duration d) {
    return dev.berth.common.Durations.format(d);
  }
}
