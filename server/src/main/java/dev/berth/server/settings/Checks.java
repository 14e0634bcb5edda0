package dev.berth.server.settings;

import java.time.Duration;

/**
 * The validation rules every part of the configuration shares, each failing with a {@link
 * ConfigException} that names the key, the rule and the value found. Durations are shown the way
 * operators write them ({@code 10s}, {@code 250ms}).
 */
public final class Checks {
  private Checks() {}

  /** A duration above zero. */
  public static void positive(String key, Duration value) {
    if (value == null || value.isZero() || value.isNegative()) {
      throw new ConfigException(key, "must be a positive duration, got " + show(value));
    }
  }

  /** A duration of zero or more. */
  public static void nonNegative(String key, Duration value) {
    if (value == null || value.isNegative()) {
      throw new ConfigException(key, "must not be negative, got " + show(value));
    }
  }

  /** A whole number within {@code min..max}. */
  public static void range(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new ConfigException(key, "must be " + min + ".." + max + ", got " + value);
    }
  }

  private static String show(Duration value) {
    return value == null
        ? "nothing"
        : value.isNegative() ? value.toString() : Durations.format(value);
  }
}
