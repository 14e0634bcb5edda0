package dev.berth.server.ratelimit;

import dev.berth.server.settings.Checks;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * Per-host politeness: a token bucket per host with a default rate and burst, overrides by host
 * pattern, how idle buckets are forgotten, and how a host's rate adapts to 429/503 answers.
 * Immutable; built by {@link #newBuilder()}, whose {@code build()} fails fast with a {@link
 * ConfigException} naming the {@code rate_limit.*} key and the rule it broke.
 *
 * <p>Patterns are {@code example.com} (that host only) or {@code *.example.com} (that host and
 * every subdomain), lower-case ASCII as {@code HostName} produces them (IDNs in punycode). The most
 * specific pattern wins: an exact pattern beats a wildcard for the same name, and a longer wildcard
 * suffix beats a shorter one.
 */
public final class RateLimitConfig {
  /** The highest rate accepted: one token per nanosecond, the clock's resolution. */
  public static final double MAX_RATE = 1e9;

  /**
   * The slowest rate, one request in about 11.6 days: below it a rate is a block, better said with
   * a pause, and a value such as {@code 4.9e-324} would print as hundreds of digits.
   */
  public static final double MIN_RATE = 1e-6;

  /** The largest burst accepted. */
  public static final int MAX_BURST = 1_000_000;

  /** Without an explicit recovery step, each success restores this share of the host's rate. */
  public static final double DEFAULT_RECOVERY_SHARE = 0.1;

  private static final Duration LONGEST_PAUSE = Duration.ofDays(1);

  /**
   * The names of this part's configuration keys, written once: the configuration loader defines the
   * keys with them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String DEFAULT_RATE = "rate_limit.default_rate";
    public static final String DEFAULT_BURST = "rate_limit.default_burst";
    public static final String HOSTS = "rate_limit.hosts";
    public static final String IDLE_EVICTION = "rate_limit.idle_eviction";
    public static final String MAX_HOSTS = "rate_limit.max_hosts";
    public static final String DECREASE_FACTOR = "rate_limit.decrease_factor";
    public static final String RECOVERY_STEP = "rate_limit.recovery_step";
    public static final String MIN_RATE = "rate_limit.min_rate";
    public static final String DEFAULT_PAUSE = "rate_limit.default_pause";
    public static final String MAX_PAUSE = "rate_limit.max_pause";

    private Keys() {}
  }

  private final HostRule defaultRule;
  private final Map<String, HostRule> hosts;

  /** The patterns whose override gave no burst: they take the default burst, whatever it is. */
  private final Set<String> inheritBurst;

  private final Map<String, HostRule> exact;
  private final Map<String, HostRule> wildcard;
  private final Duration idleEviction;
  private final int maxHosts;
  private final double decreaseFactor;
  private final double recoveryStep;
  private final double minRate;
  private final Duration defaultPause;
  private final Duration maxPause;

  private RateLimitConfig(Builder b, Map<String, HostRule> hosts, Set<String> inheritBurst) {
    this.defaultRule = new HostRule(HostRule.DEFAULT_PATTERN, b.defaultRate, (int) b.defaultBurst);
    this.hosts = Collections.unmodifiableMap(hosts);
    this.inheritBurst = Set.copyOf(inheritBurst);
    Map<String, HostRule> exactRules = new HashMap<>();
    Map<String, HostRule> wildcardRules = new HashMap<>();
    for (HostRule rule : hosts.values()) {
      if (rule.pattern().startsWith("*.")) {
        wildcardRules.put(rule.pattern().substring(2), rule);
      } else {
        exactRules.put(rule.pattern(), rule);
      }
    }
    this.exact = exactRules;
    this.wildcard = wildcardRules;
    this.idleEviction = b.idleEviction;
    this.maxHosts = b.maxHosts;
    this.decreaseFactor = b.decreaseFactor;
    this.recoveryStep = b.recoveryStep;
    this.minRate = b.minRate;
    this.defaultPause = b.defaultPause;
    this.maxPause = b.maxPause;
  }

  /** The defaults: 2/s, burst 4, no overrides, idle eviction 10 min, at most 100,000 hosts. */
  public static RateLimitConfig defaults() {
    return newBuilder().build();
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** A builder holding this config's values, for a changed copy. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.defaultRate = defaultRule.rate();
    b.defaultBurst = defaultRule.burst();
    for (HostRule rule : hosts.values()) {
      // An override that gave no burst keeps following the default burst in the copy.
      Long burst = inheritBurst.contains(rule.pattern()) ? null : (long) rule.burst();
      b.overrides.put(rule.pattern(), new HostOverride(rule.rate(), burst));
    }
    b.idleEviction = idleEviction;
    b.maxHosts = maxHosts;
    b.decreaseFactor = decreaseFactor;
    b.recoveryStep = recoveryStep;
    b.minRate = minRate;
    b.defaultPause = defaultPause;
    b.maxPause = maxPause;
    return b;
  }

  /** The rule for hosts no pattern matches ({@code rate_limit.default_rate}/{@code _burst}). */
  public HostRule defaultRule() {
    return defaultRule;
  }

  /** The host overrides by pattern, in the order they were configured. */
  public Map<String, HostRule> hosts() {
    return hosts;
  }

  /**
   * Whether the override for {@code pattern} gave no burst of its own, so that its burst is {@code
   * rate_limit.default_burst} and follows it when that changes.
   */
  public boolean inheritsBurst(String pattern) {
    return inheritBurst.contains(pattern);
  }

  /**
   * The rule that governs {@code host}: its exact pattern, else the longest matching wildcard, else
   * the default.
   *
   * @param host a normalised host, as {@code HostName.of} returns it
   */
  public HostRule ruleFor(String host) {
    HostRule rule = exact.get(host);
    if (rule != null) {
      return rule;
    }
    if (!wildcard.isEmpty() && !host.startsWith("[")) {
      String suffix = host;
      while (true) {
        rule = wildcard.get(suffix);
        if (rule != null) {
          return rule;
        }
        int dot = suffix.indexOf('.');
        if (dot < 0) {
          break;
        }
        suffix = suffix.substring(dot + 1);
      }
    }
    return defaultRule;
  }

  /** A host's bucket idle this long, and back to its default state, is forgotten. */
  public Duration idleEviction() {
    return idleEviction;
  }

  /** The most hosts tracked at once; beyond it the least recently used is forgotten. */
  public int maxHosts() {
    return maxHosts;
  }

  /** A 429/503 multiplies the host's current rate by this (0 &lt; f &lt; 1). */
  public double decreaseFactor() {
    return decreaseFactor;
  }

  /**
   * The additive increase per success configured as {@code rate_limit.recovery_step}, in requests
   * per second; empty when unset, in which case each host recovers by {@link
   * #DEFAULT_RECOVERY_SHARE} of its own configured rate per success.
   */
  public OptionalDouble recoveryStep() {
    return recoveryStep > 0 ? OptionalDouble.of(recoveryStep) : OptionalDouble.empty();
  }

  /** The rate a success adds back to a host whose configured rate is {@code configuredRate}. */
  public double recoveryStepFor(double configuredRate) {
    return recoveryStep > 0 ? recoveryStep : configuredRate * DEFAULT_RECOVERY_SHARE;
  }

  /**
   * The floor a decrease stops at. A host configured below it keeps its configured rate as the
   * floor, so an override is never raised by the floor.
   */
  public double minRate() {
    return minRate;
  }

  /** The pause after a 429/503 when the site sent no Retry-After. */
  public Duration defaultPause() {
    return defaultPause;
  }

  /** The longest pause a site's Retry-After can impose. */
  public Duration maxPause() {
    return maxPause;
  }

  @Override
  public String toString() {
    return "RateLimitConfig{default="
        + defaultRule.rate()
        + "/s burst "
        + defaultRule.burst()
        + ", hosts="
        + hosts.values()
        + ", idleEviction="
        + Durations.format(idleEviction)
        + ", maxHosts="
        + maxHosts
        + "}";
  }

  /** An override as given; a null burst inherits the default burst. */
  private record HostOverride(double rate, Long burst) {}

  /**
   * Collects settings; {@link #build()} validates them together. Defaults: 2 requests/s with a
   * burst of 4, idle eviction 10 min, 100,000 hosts, decrease factor 0.5, recovery 10% of the
   * configured rate per success, min rate 0.05/s, default pause 5 s, max pause 10 min.
   */
  public static final class Builder {
    private double defaultRate = 2.0;
    private long defaultBurst = 4;
    private final Map<String, HostOverride> overrides = new LinkedHashMap<>();
    private Duration idleEviction = Duration.ofMinutes(10);
    private int maxHosts = 100_000;
    private double decreaseFactor = 0.5;
    private double recoveryStep = 0; // 0: DEFAULT_RECOVERY_SHARE of each host's configured rate
    private double minRate = 0.05;
    private Duration defaultPause = Duration.ofSeconds(5);
    private Duration maxPause = Duration.ofMinutes(10);

    private Builder() {}

    /** {@code rate_limit.default_rate}: requests per second for hosts without an override. */
    public Builder defaultRate(double value) {
      this.defaultRate = value;
      return this;
    }

    /** {@code rate_limit.default_burst}: bucket size for hosts without an override. */
    public Builder defaultBurst(long value) {
      this.defaultBurst = value;
      return this;
    }

    /** {@code rate_limit.hosts['pattern']}: an override; a pattern given again replaces it. */
    public Builder host(String pattern, double rate, long burst) {
      overrides.put(pattern, new HostOverride(rate, burst));
      return this;
    }

    /** An override that keeps {@code rate_limit.default_burst}. */
    public Builder host(String pattern, double rate) {
      overrides.put(pattern, new HostOverride(rate, null));
      return this;
    }

    /** Removes every host override. */
    public Builder clearHosts() {
      overrides.clear();
      return this;
    }

    public Builder idleEviction(Duration value) {
      this.idleEviction = value;
      return this;
    }

    public Builder maxHosts(int value) {
      this.maxHosts = value;
      return this;
    }

    public Builder decreaseFactor(double value) {
      this.decreaseFactor = value;
      return this;
    }

    /** A fixed additive increase per success, in requests per second, for every host. */
    public Builder recoveryStep(double value) {
      this.recoveryStep = value;
      return this;
    }

    public Builder minRate(double value) {
      this.minRate = value;
      return this;
    }

    public Builder defaultPause(Duration value) {
      this.defaultPause = value;
      return this;
    }

    public Builder maxPause(Duration value) {
      this.maxPause = value;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws ConfigException naming the first key that breaks its rule
     */
    public RateLimitConfig build() {
      rate(Keys.DEFAULT_RATE, defaultRate);
      burst(Keys.DEFAULT_BURST, defaultBurst);
      Map<String, HostRule> hosts = new LinkedHashMap<>();
      Set<String> inheritBurst = new HashSet<>();
      for (Map.Entry<String, HostOverride> e : overrides.entrySet()) {
        String pattern = e.getKey();
        String key = Keys.HOSTS + "['" + clip(String.valueOf(pattern)) + "']";
        String problem = HostPatterns.problem(pattern);
        if (problem != null) {
          throw new ConfigException(key, problem);
        }
        HostOverride o = e.getValue();
        rate(key + ".rate", o.rate());
        long burst = o.burst() == null ? defaultBurst : o.burst();
        if (o.burst() == null) {
          inheritBurst.add(pattern);
        }
        burst(key + ".burst", burst);
        hosts.put(pattern, new HostRule(pattern, o.rate(), (int) burst));
      }
      Checks.positive(Keys.IDLE_EVICTION, idleEviction);
      if (maxHosts < 1 || maxHosts > 10_000_000) {
        throw new ConfigException(Keys.MAX_HOSTS, "must be 1..10000000, got " + maxHosts);
      }
      if (!(decreaseFactor > 0 && decreaseFactor < 1)) {
        throw new ConfigException(
            Keys.DECREASE_FACTOR, "must be between 0 and 1 (exclusive), got " + decreaseFactor);
      }
      if (recoveryStep != 0) {
        rate(Keys.RECOVERY_STEP, recoveryStep);
      }
      rate(Keys.MIN_RATE, minRate);
      Checks.positive(Keys.DEFAULT_PAUSE, defaultPause);
      Checks.positive(Keys.MAX_PAUSE, maxPause);
      if (maxPause.compareTo(LONGEST_PAUSE) > 0) {
        throw new ConfigException(
            Keys.MAX_PAUSE, "must be at most 1d, got " + Durations.format(maxPause));
      }
      if (defaultPause.compareTo(maxPause) > 0) {
        throw new ConfigException(
            Keys.DEFAULT_PAUSE,
            "must not exceed "
                + Keys.MAX_PAUSE
                + " ("
                + Durations.format(maxPause)
                + "), got "
                + Durations.format(defaultPause));
      }
      return new RateLimitConfig(this, hosts, inheritBurst);
    }

    private static void rate(String key, double value) {
      if (!(value >= MIN_RATE) || value > MAX_RATE) {
        throw new ConfigException(
            key, "must be a rate in requests/s from 1e-6 to 1e9, got " + value);
      }
    }

    /** Checked as a long: a uint32 off the wire above an int's range must read as itself. */
    private static void burst(String key, long value) {
      if (value < 1 || value > MAX_BURST) {
        throw new ConfigException(key, "must be 1.." + MAX_BURST + ", got " + value);
      }
    }

    private static String clip(String s) {
      return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
  }
}
