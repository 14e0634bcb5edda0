package dev.berth.server.performance;

import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.Durations;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;

/**
 * The performance monitor: sliding-window statistics of release outcomes per kind and per host, a
 * degradation score per kind, and the effective RENDER and PDF limits it lowers and restores
 * (additive increase, multiplicative decrease). WASM limits are never adjusted.
 *
 * <p>The degradation score of a kind, in [0, 1], is
 *
 * <pre>
 *   score = 0.5 · min(1, failureRate / 0.5) + 0.5 · clamp(p95 / target_p95 − 1, 0, 1)
 * </pre>
 *
 * so half the score is failures (saturating at 50% failed) and half is latency (saturating when p95
 * reaches twice its target); with fewer than {@code min_samples} outcomes in the window the score
 * is 0. Failures alone therefore reach at most 0.5: with the default threshold a limit drops only
 * when latency corroborates them, because lowering concurrency helps overload, not broken sites.
 *
 * <p>{@link #adjust} runs at most once per {@code adjust_interval}. A score above {@code threshold}
 * sets {@code effective = max(floor, ⌊effective · decrease_factor⌋)}; otherwise {@code effective =
 * min(configured, effective + increase_step)}. After a decrease the next one waits until {@code
 * min_samples} outcomes have arrived since, so a burst that stays in the window cannot drive the
 * limit to the floor by itself. The effective limit never exceeds the configured one (a lowered
 * configured limit caps it at once) and never goes below the floor (unless the configured limit is
 * lower still).
 *
 * <p>The monitor reads no clock: every method that takes {@code nowNanos} moves its notion of now
 * forward (never back), and statistics are read at the latest time it was given. The reservoirs
 * read that time through a Dropwizard {@link com.codahale.metrics.Clock} adapter.
 *
 * <p>Not thread-safe: the broker calls it under its single lock.
 */
public final class DegradationMonitor {
  /** The kinds whose effective limit degradation moves. */
  public static final Set<ResourceKind> ADJUSTED_KINDS =
      EnumSet.of(ResourceKind.RENDER, ResourceKind.PDF);

  /** The failure rate at which the failure half of the score is full. */
  static final double FAILURE_RATE_SATURATION = 0.5;

  private final PerformanceConfig config;
  private final LongSupplier clock;
  private long nowNanos;
  private final Map<ResourceKind, OutcomeWindow> byKind = new EnumMap<>(ResourceKind.class);
  private final LinkedHashMap<String, OutcomeWindow> byHost;
  private final Map<ResourceKind, LimitState> limits = new EnumMap<>(ResourceKind.class);
  private boolean adjustedOnce;
  private long lastAdjustNanos;

  /** Where one adjusted kind's effective limit stands. */
  private static final class LimitState {
    /** The lowered limit, or null while the limit follows the configured one. */
    Integer reduced;

    String reason = "";

    /** Outcomes recorded since the last decrease. */
    long samplesSinceDecrease;
  }

  /**
   * A monitor for {@code next} whose statistics start afresh at {@code nowNanos}, keeping this
   * one's lowered limits and their reasons: a changed performance policy must not undo a reduction
   * at once (the renderers are as loaded as before the reload); the limit recovers step by step
   * under the new policy, as it would have under the old one.
   */
  public DegradationMonitor reconfigured(PerformanceConfig next, long nowNanos) {
    DegradationMonitor m = new DegradationMonitor(next, nowNanos);
    for (ResourceKind kind : ADJUSTED_KINDS) {
      LimitState from = limits.get(kind);
      LimitState to = m.limits.get(kind);
      to.reduced = from.reduced;
      to.reason = from.reason;
    }
    return m;
  }

  /**
   * @param nowNanos the current monotonic time; the windows start here
   */
  public DegradationMonitor(PerformanceConfig config, long nowNanos) {
    this.config = Objects.requireNonNull(config, "config");
    this.nowNanos = nowNanos;
    this.clock = () -> this.nowNanos;
    for (ResourceKind kind : ResourceKind.values()) {
      byKind.put(kind, new OutcomeWindow(config.window(), clock));
    }
    for (ResourceKind kind : ADJUSTED_KINDS) {
      limits.put(kind, new LimitState());
    }
    int maxHosts = config.maxHostsTracked();
    this.byHost =
        new LinkedHashMap<>(16, 0.75f, true) {
          private static final long serialVersionUID = 1L;

          @Override
          protected boolean removeEldestEntry(Map.Entry<String, OutcomeWindow> eldest) {
            return size() > maxHosts;
          }
        };
  }

  public PerformanceConfig config() {
    return config;
  }

  /** Moves the monitor's time forward, so statistics read afterwards drop expired outcomes. */
  public void advanceTo(long nowNanos) {
    if (nowNanos - this.nowNanos > 0) {
      this.nowNanos = nowNanos;
    }
  }

  /**
   * Records the outcome of a released lease. The broker records only outcomes workers reported.
   *
   * @param host the lease's host; null or empty keeps no per-host statistics
   */
  public void record(ResourceKind kind, String host, Outcome outcome, long nowNanos) {
    Objects.requireNonNull(kind, "kind");
    advanceTo(nowNanos);
    byKind.get(kind).add(outcome.success(), outcome.durationNanos());
    LimitState state = limits.get(kind);
    if (state != null) {
      state.samplesSinceDecrease++;
    }
    if (host != null && !host.isEmpty() && config.maxHostsTracked() > 0) {
      // get, then put (the same LRU order): a computeIfAbsent lambda captures this, one object
      // per reported outcome
      OutcomeWindow window = byHost.get(host);
      if (window == null) {
        window = new OutcomeWindow(config.window(), clock);
        byHost.put(host, window);
      }
      window.add(outcome.success(), outcome.durationNanos());
    }
  }

  /** The kind's statistics over the window ending at the latest time given. */
  public WindowStats stats(ResourceKind kind) {
    return byKind.get(kind).stats();
  }

  /** One host's statistics over all kinds, or empty when the host is not tracked. */
  public WindowStats stats(String host) {
    OutcomeWindow window = byHost.get(host);
    return window == null ? WindowStats.EMPTY : window.stats();
  }

  /** Hosts with statistics, at most {@code max_hosts_tracked}. */
  public int hostsTracked() {
    return byHost.size();
  }

  /** The kind's degradation score in [0, 1] (see the class comment for the formula). */
  public double score(ResourceKind kind) {
    return score(stats(kind), kind);
  }

  private double score(WindowStats stats, ResourceKind kind) {
    if (stats.samples() < config.minSamples()) {
      return 0.0;
    }
    double failures = Math.min(1.0, stats.failureRate() / FAILURE_RATE_SATURATION);
    double target = config.targetP95(kind).toNanos();
    double latency = Math.min(1.0, Math.max(0.0, stats.p95Nanos() / target - 1.0));
    return 0.5 * failures + 0.5 * latency;
  }

  /**
   * Moves the effective limits of RENDER and PDF by their scores, at most once per {@code
   * adjust_interval}; a call sooner than that changes nothing.
   *
   * @param configuredLimits each kind's configured limit
   * @return the limits that moved
   */
  public List<LimitChange> adjust(long nowNanos, ToIntFunction<ResourceKind> configuredLimits) {
    advanceTo(nowNanos);
    if (adjustedOnce && nowNanos - lastAdjustNanos < config.adjustInterval().toNanos()) {
      return List.of();
    }
    adjustedOnce = true;
    lastAdjustNanos = nowNanos;
    List<LimitChange> changes = new ArrayList<>();
    for (ResourceKind kind : ADJUSTED_KINDS) {
      LimitChange change = adjust(kind, configuredLimits.applyAsInt(kind));
      if (change != null) {
        changes.add(change);
      }
    }
    return changes;
  }

  private LimitChange adjust(ResourceKind kind, int configured) {
    LimitState state = limits.get(kind);
    int before = effectiveLimit(kind, configured);
    WindowStats stats = stats(kind);
    double score = score(stats, kind);
    if (score > config.threshold()) {
      if (state.reduced != null && state.samplesSinceDecrease < config.minSamples()) {
        return null;
      }
      int after = Math.max(lowest(configured), (int) Math.floor(before * config.decreaseFactor()));
      if (after >= before) {
        return null;
      }
      state.reduced = after;
      state.samplesSinceDecrease = 0;
      state.reason =
          "degraded: score "
              + twoPlaces(score)
              + " > "
              + plain(config.threshold())
              + " "
              + evidence(stats, kind)
              + "; limit "
              + before
              + " -> "
              + after;
      return new LimitChange(kind, before, after, score, state.reason);
    }
    if (state.reduced == null) {
      return null;
    }
    int after = Math.min(configured, before + config.increaseStep());
    String why =
        "score "
            + twoPlaces(score)
            + " <= "
            + plain(config.threshold())
            + " "
            + evidence(stats, kind)
            + "; limit "
            + before
            + " -> "
            + after;
    if (after >= configured) {
      state.reduced = null;
      state.reason = "";
      // A lowered configured limit may already have capped the reduction: nothing visible moves.
      return after == before
          ? null
          : new LimitChange(kind, before, after, score, "recovered: " + why);
    }
    state.reduced = after;
    state.reason = "recovering: " + why;
    return new LimitChange(kind, before, after, score, state.reason);
  }

  /**
   * The limit admission enforces for a kind: the configured limit, lowered by degradation for
   * RENDER and PDF, never above {@code configuredLimit} and never below the floor (unless the
   * configured limit is lower still).
   */
  public int effectiveLimit(ResourceKind kind, int configuredLimit) {
    LimitState state = limits.get(kind);
    if (state == null || state.reduced == null) {
      return configuredLimit;
    }
    return Math.max(lowest(configuredLimit), Math.min(configuredLimit, state.reduced));
  }

  /**
   * Why the kind's effective limit stands below its configured limit, e.g. {@code degraded: score
   * 0.72 > 0.5 (failures 40%, p95 14.2s vs target 10s); limit 8 -> 6}; empty when it does not.
   */
  public String reason(ResourceKind kind) {
    LimitState state = limits.get(kind);
    return state == null || state.reduced == null ? "" : state.reason;
  }

  private int lowest(int configured) {
    return Math.min(config.floor(), configured);
  }

  private String evidence(WindowStats stats, ResourceKind kind) {
    if (stats.samples() < config.minSamples()) {
      return "(" + stats.samples() + " samples < min_samples " + config.minSamples() + ")";
    }
    return String.format(
        Locale.ROOT,
        "(failures %.0f%%, p95 %s vs target %s)",
        stats.failureRate() * 100,
        seconds(stats.p95Nanos()),
        Durations.format(config.targetP95(kind)));
  }

  private static String seconds(long nanos) {
    return nanos >= 1_000_000_000L
        ? String.format(Locale.ROOT, "%.1fs", nanos / 1e9)
        : nanos / 1_000_000 + "ms";
  }

  private static String twoPlaces(double value) {
    return String.format(Locale.ROOT, "%.2f", value);
  }

  private static String plain(double value) {
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }
}
