package dev.berth.server.admission;

import dev.berth.server.jobs.JobSettings;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The jobs in force and their runtime {@link Job}s, one per configured job, {@code default}
 * included. A session's job is resolved by name ({@link JobsConfig#resolve}), so the set of jobs is
 * bounded by the configuration however many names workers send.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 */
public final class Jobs {
  private JobsConfig config;
  private final Map<String, Job> byName = new LinkedHashMap<>();

  private static final int UNCONFIGURED_REMEMBERED = 1000;

  /**
   * Names sessions asked for that are not configured, told once each (see {@link #firstHeardOf}).
   */
  private final Set<String> unconfiguredHeard = new HashSet<>();

  /**
   * Per kind, the usable and configured limits the jobs' guaranteed mins were last scaled to; -1
   * when they are the plain {@code min}s (new settings), so the next {@link #guarantee} scales.
   */
  private final int[] scaledUsable = new int[ResourceKind.COUNT];

  private final int[] scaledConfigured = new int[ResourceKind.COUNT];

  public Jobs(JobsConfig config) {
    this.config = config;
    for (JobSettings settings : config.jobs().values()) {
      byName.put(settings.name(), new Job(settings));
    }
    unscaled();
  }

  public JobsConfig config() {
    return config;
  }

  /** The job a session naming {@code requested} runs as. */
  public Job resolve(String requested) {
    Job job = byName.get(requested);
    return job != null ? job : byName.get(JobsConfig.DEFAULT_JOB);
  }

  /**
   * Whether {@code requested}, a job name that is not configured, is heard of for the first time
   * since the jobs last changed: so that the broker says once per name, not once per session, that
   * sessions naming it run as {@value JobsConfig#DEFAULT_JOB}. Remembers at most {@value
   * #UNCONFIGURED_REMEMBERED} names; past that, it answers false.
   */
  public boolean firstHeardOf(String requested) {
    return unconfiguredHeard.size() < UNCONFIGURED_REMEMBERED && unconfiguredHeard.add(requested);
  }

  /** Every job, in configuration order. */
  public Collection<Job> all() {
    return Collections.unmodifiableCollection(byName.values());
  }

  /**
   * Puts new settings in force. A job that stays keeps its {@link Job} (its virtual times, counters
   * and host buckets); a removed job is forgotten, a new one starts fresh. The caller re-resolves
   * every session and re-counts what jobs hold and wait for ({@link #resetCounts}).
   */
  public void update(JobsConfig next, long nowNanos) {
    Map<String, Job> old = new LinkedHashMap<>(byName);
    byName.clear();
    for (JobSettings settings : next.jobs().values()) {
      Job job = old.get(settings.name());
      if (job == null) {
        job = new Job(settings);
      } else {
        job.settings(settings, nowNanos);
      }
      byName.put(settings.name(), job);
    }
    config = next;
    unconfiguredHeard.clear();
    unscaled();
  }

  private void unscaled() {
    Arrays.fill(scaledUsable, -1);
    Arrays.fill(scaledConfigured, -1);
  }

  /**
   * Brings every job's guaranteed min of {@code kind} ({@link Job#guaranteedMin}) in line with the
   * pool's limits, by {@link ScaledMins}: the one place the fair queue's order and admission's
   * facts get them from. Cheap when the limits are those of the last call: the mins are scaled
   * again only when {@code usable} or {@code configured} changed.
   *
   * @param usable the part of the pool that can be granted: its effective limit (lowered while
   *     degraded) less the slots a new cluster leader holds back
   * @param configured the pool's configured limit
   */
  public void guarantee(ResourceKind kind, int usable, int configured) {
    int k = kind.index();
    if (scaledUsable[k] == usable && scaledConfigured[k] == configured) {
      return;
    }
    int[] mins = new int[byName.size()];
    int i = 0;
    for (Job job : byName.values()) {
      mins[i++] = job.settings().min(kind);
    }
    int[] scaled = ScaledMins.scale(mins, usable, configured);
    i = 0;
    for (Job job : byName.values()) {
      job.guaranteedMin(kind, scaled[i++]);
    }
    scaledUsable[k] = usable;
    scaledConfigured[k] = configured;
  }

  /**
   * Every job's own host buckets start empty at {@code nowNanos} (see {@link
   * dev.berth.server.ratelimit.HostRateLimiter#startEmpty}), when this broker starts to lead its
   * cluster: its predecessor's buckets are not handed over.
   */
  public void hostsStartEmpty(long nowNanos) {
    for (Job job : byName.values()) {
      if (job.hostRates() != null) {
        job.hostRates().startEmpty(nowNanos);
      }
    }
  }

  /** Zeroes every job's held and waiting counts, before the broker counts them again. */
  public void resetCounts() {
    for (Job job : byName.values()) {
      job.resetCounts();
    }
  }
}
