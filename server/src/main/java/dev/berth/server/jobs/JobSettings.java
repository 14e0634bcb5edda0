package dev.berth.server.jobs;

import static java.util.Objects.requireNonNull;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.RateLimitConfig;
import java.util.Arrays;

/**
 * One crawl job's admission settings: its weight in contended pools, the capacity per kind it is
 * served first for ({@code min}), the most it may hold per kind ({@code max}), and its own per-host
 * rates, which apply on top of the hosts' fleet-wide rates. Immutable and thread-safe; built and
 * validated by {@link JobsConfig.Builder}.
 */
public final class JobSettings {
  private static final int KINDS = ResourceKind.COUNT;

  private final String name;
  private final int weight;
  private final int[] min;
  private final int[] max;
  private final RateLimitConfig hostRates;

  JobSettings(String name, int weight, int[] min, int[] max, RateLimitConfig hostRates) {
    this.name = requireNonNull(name, "name");
    this.weight = weight;
    this.min = min.clone();
    this.max = max.clone();
    this.hostRates = hostRates;
  }

  /** A job with weight 1 and no min, max or host rates: what {@code default} is unless set. */
  static JobSettings plain(String name) {
    return new JobSettings(name, 1, new int[KINDS], new int[KINDS], null);
  }

  public String name() {
    return name;
  }

  /** Its share of a contended pool relative to the other jobs waiting there, 1..1000. */
  public int weight() {
    return weight;
  }

  /** Leases of {@code kind} the job is served first for while it holds fewer; 0 = none. */
  public int min(ResourceKind kind) {
    return min[kind.index()];
  }

  /** The most leases of {@code kind} the job may hold at once; 0 = no quota. */
  public int max(ResourceKind kind) {
    return max[kind.index()];
  }

  /**
   * The job's own per-host rates (only its host patterns matter; hosts no pattern matches have no
   * job rate), or null when it has none.
   */
  public RateLimitConfig hostRates() {
    return hostRates;
  }

  /** The job's host rules by pattern; empty when it has none. */
  public java.util.Map<String, dev.berth.server.ratelimit.HostRule> hosts() {
    return hostRates == null ? java.util.Map.of() : hostRates.hosts();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JobSettings s
        && name.equals(s.name)
        && weight == s.weight
        && Arrays.equals(min, s.min)
        && Arrays.equals(max, s.max)
        && hosts().equals(s.hosts());
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + weight;
  }

  @Override
  public String toString() {
    return name
        + "{weight "
        + weight
        + ", min "
        + Arrays.toString(min)
        + ", max "
        + Arrays.toString(max)
        + "}";
  }
}
