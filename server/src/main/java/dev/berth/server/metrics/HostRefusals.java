package dev.berth.server.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Refusals per host with bounded cardinality: the first {@code series} hosts refused get a counter
 * of their own ({@code berth_host_refusals_total{host="a.example"}}) and keep it until restart;
 * every other host counts under {@code host="other"}. Each series only grows, so {@code rate()}
 * works on every one of them, and a flood of distinct hosts costs one map lookup each, never a new
 * series.
 *
 * <p>Thread-safe.
 */
final class HostRefusals {
  static final String FAMILY = "berth_host_refusals";
  static final String OTHER = "other";
  private static final String HELP =
      "Acquires refused per host (any reason); hosts past metrics.host_series count as other";

  private final MetricRegistry registry;
  private final MetricFamilies families;
  private final int series;
  private final Map<String, Counter> byHost = new ConcurrentHashMap<>();
  private final Counter other;

  /**
   * Set once every series is taken: from then on a host without one counts as other without taking
   * this object's monitor, which a flood of refusals for new hosts would otherwise queue on.
   */
  private volatile boolean full;

  HostRefusals(MetricRegistry registry, MetricFamilies families, int series) {
    this.registry = registry;
    this.families = families;
    this.series = series;
    this.other = register(OTHER);
  }

  void refused(String host) {
    Counter counter = byHost.get(host);
    if (counter == null) {
      counter = full ? other : admit(host);
    }
    counter.inc();
  }

  private synchronized Counter admit(String host) {
    Counter counter = byHost.get(host);
    if (counter != null) {
      return counter;
    }
    if (byHost.size() >= series) {
      full = true;
      return other;
    }
    if (host.equals(OTHER) || families.taken(name(host))) {
      return other; // the host's sanitised name collides with another series
    }
    counter = register(host);
    byHost.put(host, counter);
    full = byHost.size() >= series;
    return counter;
  }

  private Counter register(String host) {
    families.add(name(host), FAMILY, HELP, "host", host);
    return registry.counter(name(host));
  }

  /** Ends in {@code .count} so a host like {@code a.info} does not end in a reserved suffix. */
  private static String name(String host) {
    return "berth.refusals.host." + host + ".count";
  }
}
