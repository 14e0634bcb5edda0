package dev.berth.server.performance;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.Checks;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * The performance monitor's policy: the statistics window, the p95 targets the degradation score
 * measures against, and the AIMD steps that move effective limits. Immutable; built by {@link
 * #newBuilder()}, whose {@code build()} fails fast with a {@link ConfigException} naming the key
 * and the rule it broke.
 */
public final class PerformanceConfig {
  /**
   * The names of this part's configuration keys, written once: the configuration loader defines the
   * keys with them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String WINDOW = "performance.window";
    public static final String TARGET_P95 = "performance.target_p95";
    public static final String THRESHOLD = "performance.threshold";
    public static final String DECREASE_FACTOR = "performance.decrease_factor";
    public static final String INCREASE_STEP = "performance.increase_step";
    public static final String FLOOR = "performance.floor";
    public static final String MIN_SAMPLES = "performance.min_samples";
    public static final String ADJUST_INTERVAL = "performance.adjust_interval";
    public static final String MAX_HOSTS_TRACKED = "performance.max_hosts_tracked";

    private Keys() {}

    /** {@code performance.target_p95.KIND}. */
    public static String targetP95(ResourceKind kind) {
      return TARGET_P95 + "." + kind.name().toLowerCase(Locale.ROOT);
    }
  }

  private final Duration window;
  private final Duration defaultTargetP95;
  private final Map<ResourceKind, Duration> targetP95;
  private final double threshold;
  private final double decreaseFactor;
  private final int increaseStep;
  private final int floor;
  private final int minSamples;
  private final Duration adjustInterval;
  private final int maxHostsTracked;

  private PerformanceConfig(Builder b) {
    this.window = b.window;
    this.defaultTargetP95 = b.targetP95;
    Map<ResourceKind, Duration> targets = new EnumMap<>(ResourceKind.class);
    for (ResourceKind kind : ResourceKind.values()) {
      targets.put(kind, b.targetP95Overrides.getOrDefault(kind, b.targetP95));
    }
    this.targetP95 = Map.copyOf(targets);
    this.threshold = b.threshold;
    this.decreaseFactor = b.decreaseFactor;
    this.increaseStep = b.increaseStep;
    this.floor = b.floor;
    this.minSamples = b.minSamples;
    this.adjustInterval = b.adjustInterval;
    this.maxHostsTracked = b.maxHostsTracked;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** The defaults: 60 s window, p95 target 10 s, threshold 0.5, ×0.75 down, +1 up, floor 1. */
  public static PerformanceConfig defaults() {
    return newBuilder().build();
  }

  /** {@code performance.window}: how far back outcomes count. */
  public Duration window() {
    return window;
  }

  /** {@code performance.target_p95}: the p95 target of kinds without their own. */
  public Duration targetP95() {
    return defaultTargetP95;
  }

  /** {@code performance.target_p95[.kind]}: the p95 duration a healthy kind stays within. */
  public Duration targetP95(ResourceKind kind) {
    return targetP95.get(kind);
  }

  /** {@code performance.threshold}: a score above it lowers the effective limit. */
  public double threshold() {
    return threshold;
  }

  /** {@code performance.decrease_factor}: the multiplicative decrease, in (0, 1). */
  public double decreaseFactor() {
    return decreaseFactor;
  }

  /** {@code performance.increase_step}: slots given back per adjustment while healthy. */
  public int increaseStep() {
    return increaseStep;
  }

  /** {@code performance.floor}: the lowest effective limit degradation may impose. */
  public int floor() {
    return floor;
  }

  /**
   * {@code performance.min_samples}: fewer outcomes in the window score 0 (too little to judge).
   */
  public int minSamples() {
    return minSamples;
  }

  /** {@code performance.adjust_interval}: the least time between two limit adjustments. */
  public Duration adjustInterval() {
    return adjustInterval;
  }

  /** {@code performance.max_hosts_tracked}: hosts with statistics; least recently used go first. */
  public int maxHostsTracked() {
    return maxHostsTracked;
  }

  /** Collects settings; {@link #build()} validates them together. */
  public static final class Builder {
    private Duration window = Duration.ofSeconds(60);
    private Duration targetP95 = Duration.ofSeconds(10);
    private final Map<ResourceKind, Duration> targetP95Overrides =
        new EnumMap<>(ResourceKind.class);
    private double threshold = 0.5;
    private double decreaseFactor = 0.75;
    private int increaseStep = 1;
    private int floor = 1;
    private int minSamples = 20;
    private Duration adjustInterval = Duration.ofSeconds(5);
    private int maxHostsTracked = 1000;

    private Builder() {}

    public Builder window(Duration value) {
      this.window = value;
      return this;
    }

    /** The p95 target of every kind without its own. */
    public Builder targetP95(Duration value) {
      this.targetP95 = value;
      return this;
    }

    /** The p95 target of one kind ({@code performance.target_p95.render} etc.). */
    public Builder targetP95(ResourceKind kind, Duration value) {
      targetP95Overrides.put(kind, value);
      return this;
    }

    public Builder threshold(double value) {
      this.threshold = value;
      return this;
    }

    public Builder decreaseFactor(double value) {
      this.decreaseFactor = value;
      return this;
    }

    public Builder increaseStep(int value) {
      this.increaseStep = value;
      return this;
    }

    public Builder floor(int value) {
      this.floor = value;
      return this;
    }

    public Builder minSamples(int value) {
      this.minSamples = value;
      return this;
    }

    public Builder adjustInterval(Duration value) {
      this.adjustInterval = value;
      return this;
    }

    public Builder maxHostsTracked(int value) {
      this.maxHostsTracked = value;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws ConfigException naming the first key that breaks its rule
     */
    public PerformanceConfig build() {
      Checks.positive(Keys.WINDOW, window);
      // The reservoir keeps ticks as nanos × 256 in a long; a day is far from overflowing it.
      if (window.compareTo(Duration.ofDays(1)) > 0) {
        throw new ConfigException(
            Keys.WINDOW, "must be at most 1d, got " + Durations.format(window));
      }
      Checks.positive(Keys.TARGET_P95, targetP95);
      targetP95Overrides.forEach((kind, value) -> Checks.positive(Keys.targetP95(kind), value));
      if (!(threshold >= 0 && threshold <= 1)) {
        throw new ConfigException(Keys.THRESHOLD, "must be 0..1, got " + threshold);
      }
      if (!(decreaseFactor > 0 && decreaseFactor < 1)) {
        throw new ConfigException(Keys.DECREASE_FACTOR, "must be in (0, 1), got " + decreaseFactor);
      }
      Checks.range(Keys.INCREASE_STEP, increaseStep, 1, 1_000_000);
      Checks.range(Keys.FLOOR, floor, 1, 1_000_000);
      Checks.range(Keys.MIN_SAMPLES, minSamples, 1, OutcomeWindow.CAPACITY);
      Checks.positive(Keys.ADJUST_INTERVAL, adjustInterval);
      Checks.range(Keys.MAX_HOSTS_TRACKED, maxHostsTracked, 0, 1_000_000);
      return new PerformanceConfig(this);
    }
  }
}
