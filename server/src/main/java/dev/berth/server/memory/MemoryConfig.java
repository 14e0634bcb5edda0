package dev.berth.server.memory;

import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import java.time.Duration;

/**
 * The memory-pressure policy: limits, hysteresis thresholds and cleanup pacing. Immutable; built by
 * {@link #newBuilder()}, whose {@code build()} fails fast with a {@link ConfigException} naming the
 * key and the rule it broke.
 *
 * <p>Ratios are fractions of a limit. Pressure turns on when usage reaches {@code pressure_on} and
 * off only when it falls to {@code pressure_off} or below, so a value in between keeps the current
 * state.
 */
public final class MemoryConfig {
  /** Memory figures above this many MB are treated as input errors (a pebibyte). */
  static final long MAX_MB = 1L << 30;

  /**
   * The names of this part's configuration keys, written once: the configuration loader defines the
   * keys with them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String FLEET_LIMIT_MB = "memory.fleet_limit_mb";
    public static final String PRESSURE_ON = "memory.pressure_on";
    public static final String PRESSURE_OFF = "memory.pressure_off";
    public static final String CRITICAL = "memory.critical";
    public static final String CLEANUP_SESSIONS = "memory.cleanup_sessions";
    public static final String CLEANUP_INTERVAL = "memory.cleanup_interval";
    public static final String BROKER_HEAP_ON = "memory.broker_heap_on";
    public static final String BROKER_HEAP_OFF = "memory.broker_heap_off";

    private Keys() {}
  }

  private final long fleetLimitMb;
  private final double pressureOn;
  private final double pressureOff;
  private final double critical;
  private final int cleanupSessions;
  private final Duration cleanupInterval;
  private final double brokerHeapOn;
  private final double brokerHeapOff;

  private MemoryConfig(Builder b) {
    this.fleetLimitMb = b.fleetLimitMb;
    this.pressureOn = b.pressureOn;
    this.pressureOff = b.pressureOff;
    this.critical = b.critical;
    this.cleanupSessions = b.cleanupSessions;
    this.cleanupInterval = b.cleanupInterval;
    this.brokerHeapOn = b.brokerHeapOn;
    this.brokerHeapOff = b.brokerHeapOff;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** The defaults: no fleet limit (sum of worker limits), on 0.85, off 0.75, critical 0.95. */
  public static MemoryConfig defaults() {
    return newBuilder().build();
  }

  /** A builder holding this config's values, for a changed copy. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.fleetLimitMb = fleetLimitMb;
    b.pressureOn = pressureOn;
    b.pressureOff = pressureOff;
    b.critical = critical;
    b.cleanupSessions = cleanupSessions;
    b.cleanupInterval = cleanupInterval;
    b.brokerHeapOn = brokerHeapOn;
    b.brokerHeapOff = brokerHeapOff;
    return b;
  }

  /** {@code memory.fleet_limit_mb}: the fleet's memory limit; 0 means the sum of worker limits. */
  public long fleetLimitMb() {
    return fleetLimitMb;
  }

  /** {@code memory.pressure_on}: the usage ratio at which pressure turns on. */
  public double pressureOn() {
    return pressureOn;
  }

  /** {@code memory.pressure_off}: the usage ratio at or below which pressure turns off again. */
  public double pressureOff() {
    return pressureOff;
  }

  /**
   * These settings with new pressure thresholds, as {@code UpdateLimits} sets them: {@code
   * critical} stays, so an {@code on} above it is refused naming {@code memory.pressure_on}, the
   * key that was set, rather than {@code memory.critical}, which was not.
   *
   * @throws ConfigException naming the key that breaks its rule
   */
  public MemoryConfig withPressure(double on, double off) {
    if (on > critical && on <= 1) {
      throw new ConfigException(
          Keys.PRESSURE_ON,
          "must be at most "
              + Keys.CRITICAL
              + " ("
              + Ratios.format(critical)
              + "), which stays as it is, got "
              + Ratios.format(on));
    }
    return toBuilder().pressureOn(on).pressureOff(off).build();
  }

  /** {@code memory.critical}: the usage ratio at which the level becomes CRITICAL. */
  public double critical() {
    return critical;
  }

  /** {@code memory.cleanup_sessions}: how many of the top memory users get a cleanup push. */
  public int cleanupSessions() {
    return cleanupSessions;
  }

  /** {@code memory.cleanup_interval}: the least time between two cleanup pushes to one session. */
  public Duration cleanupInterval() {
    return cleanupInterval;
  }

  /**
   * {@code memory.broker_heap_on}: the broker's heap ratio (of max heap) that turns pressure on.
   */
  public double brokerHeapOn() {
    return brokerHeapOn;
  }

  /** {@code memory.broker_heap_off}: the broker's heap ratio at or below which it turns off. */
  public double brokerHeapOff() {
    return brokerHeapOff;
  }

  /** Collects settings; {@link #build()} validates them together. */
  public static final class Builder {
    private long fleetLimitMb = 0;
    private double pressureOn = 0.85;
    private double pressureOff = 0.75;
    private double critical = 0.95;
    private int cleanupSessions = 3;
    private Duration cleanupInterval = Duration.ofSeconds(10);
    private double brokerHeapOn = 0.90;
    private double brokerHeapOff = 0.80;

    private Builder() {}

    public Builder fleetLimitMb(long value) {
      this.fleetLimitMb = value;
      return this;
    }

    public Builder pressureOn(double value) {
      this.pressureOn = value;
      return this;
    }

    public Builder pressureOff(double value) {
      this.pressureOff = value;
      return this;
    }

    public Builder critical(double value) {
      this.critical = value;
      return this;
    }

    public Builder cleanupSessions(int value) {
      this.cleanupSessions = value;
      return this;
    }

    public Builder cleanupInterval(Duration value) {
      this.cleanupInterval = value;
      return this;
    }

    public Builder brokerHeapOn(double value) {
      this.brokerHeapOn = value;
      return this;
    }

    public Builder brokerHeapOff(double value) {
      this.brokerHeapOff = value;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws ConfigException naming the first key that breaks its rule
     */
    public MemoryConfig build() {
      if (fleetLimitMb < 0 || fleetLimitMb > MAX_MB) {
        throw new ConfigException(
            Keys.FLEET_LIMIT_MB,
            "must be 0 (sum of worker limits) .. " + MAX_MB + ", got " + fleetLimitMb);
      }
      ratio(Keys.PRESSURE_ON, pressureOn);
      ratio(Keys.PRESSURE_OFF, pressureOff);
      if (pressureOff >= pressureOn) {
        throw new ConfigException(
            Keys.PRESSURE_OFF,
            "must be below "
                + Keys.PRESSURE_ON
                + " ("
                + Ratios.format(pressureOn)
                + "), got "
                + Ratios.format(pressureOff));
      }
      ratio(Keys.CRITICAL, critical);
      if (critical < pressureOn) {
        throw new ConfigException(
            Keys.CRITICAL,
            "must be at least "
                + Keys.PRESSURE_ON
                + " ("
                + Ratios.format(pressureOn)
                + "), got "
                + Ratios.format(critical));
      }
      if (cleanupSessions < 0 || cleanupSessions > 100_000) {
        throw new ConfigException(
            Keys.CLEANUP_SESSIONS, "must be 0..100000, got " + cleanupSessions);
      }
      if (cleanupInterval == null || cleanupInterval.isZero() || cleanupInterval.isNegative()) {
        throw new ConfigException(
            Keys.CLEANUP_INTERVAL,
            "must be a positive duration, got "
                + (cleanupInterval == null ? "null" : Durations.format(cleanupInterval)));
      }
      ratio(Keys.BROKER_HEAP_ON, brokerHeapOn);
      ratio(Keys.BROKER_HEAP_OFF, brokerHeapOff);
      if (brokerHeapOff >= brokerHeapOn) {
        throw new ConfigException(
            Keys.BROKER_HEAP_OFF,
            "must be below "
                + Keys.BROKER_HEAP_ON
                + " ("
                + Ratios.format(brokerHeapOn)
                + "), got "
                + Ratios.format(brokerHeapOff));
      }
      return new MemoryConfig(this);
    }

    /** A ratio of a limit: above 0 (else pressure never turns off) and at most 1. */
    private static void ratio(String key, double value) {
      if (!(value > 0 && value <= 1)) {
        throw new ConfigException(key, "must be a ratio in (0, 1], got " + value);
      }
    }
  }
}
