package dev.berth.server.config;

import dev.berth.server.lease.ResourceKind;
import java.util.Map;

/**
 * One {@code jobs} entry as configured; its fields may arrive one at a time ({@code
 * jobs.NAME.min.render}), so values are checked when the jobs are built.
 *
 * @param weight null for the default (1)
 * @param min per kind; kinds not given have none
 * @param max per kind; kinds not given have none
 * @param hosts the job's own host rates, pattern to rate and burst
 */
public record JobSetting(
    Integer weight,
    Map<ResourceKind, Integer> min,
    Map<ResourceKind, Integer> max,
    Map<String, HostRate> hosts) {

  public JobSetting {
    min = Map.copyOf(min);
    max = Map.copyOf(max);
    hosts = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(hosts));
  }

  static final JobSetting EMPTY = new JobSetting(null, Map.of(), Map.of(), Map.of());
}
