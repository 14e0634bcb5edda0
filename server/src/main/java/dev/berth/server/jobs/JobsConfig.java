package dev.berth.server.jobs;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.HostRule;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.settings.ConfigException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * The crawl jobs the broker knows ({@code jobs.<name>.*}) and how a session's job is resolved: the
 * job its hello names, else its principal, else {@value #DEFAULT_JOB}; a name that is not
 * configured runs as {@value #DEFAULT_JOB}, so the set of jobs (and of metric labels) stays the
 * configured one. {@value #DEFAULT_JOB} always exists, with weight 1 and no min or max unless
 * configured.
 *
 * <p>Immutable and thread-safe; built by {@link #newBuilder()}, whose {@code build()} fails with a
 * {@link ConfigException} naming the key and the rule it broke.
 */
public final class JobsConfig {
  /** The job of sessions that name none, or name one that is not configured. */
  public static final String DEFAULT_JOB = "default";

  public static final int MAX_WEIGHT = 1000;
  public static final int MAX_JOBS = 1000;
  public static final int MAX_NAME_LENGTH = 64;
  public static final int MAX_QUOTA = 1_000_000;

  /** The names of the jobs' configuration keys, written once. */
  public static final class Keys {
    public static final String JOBS = "jobs";

    private Keys() {}

    /** {@code jobs.NAME}. */
    public static String job(String name) {
      return JOBS + "." + name;
    }

    /** {@code jobs.NAME.weight}. */
    public static String weight(String name) {
      return job(name) + ".weight";
    }

    /** {@code jobs.NAME.min.KIND}. */
    public static String min(String name, ResourceKind kind) {
      return job(name) + ".min." + lower(kind);
    }

    /** {@code jobs.NAME.max.KIND}. */
    public static String max(String name, ResourceKind kind) {
      return job(name) + ".max." + lower(kind);
    }

    /** {@code jobs.NAME.hosts}. */
    public static String hosts(String name) {
      return job(name) + ".hosts";
    }

    /** The key of one host rule of a job: {@code jobs.NAME.hosts['PATTERN'].rate}. */
    public static String hostRate(String name, String pattern) {
      return hostRule(name, pattern) + ".rate";
    }

    /** The key of one host rule's burst: {@code jobs.NAME.hosts['PATTERN'].burst}. */
    public static String hostBurst(String name, String pattern) {
      return hostRule(name, pattern) + ".burst";
    }

    private static String hostRule(String name, String pattern) {
      return hosts(name) + "['" + pattern + "']";
    }

    static String lower(ResourceKind kind) {
      return kind.name().toLowerCase(Locale.ROOT);
    }
  }

  private static final JobsConfig DEFAULTS = newBuilder().build();

  private final Map<String, JobSettings> jobs;

  private JobsConfig(Map<String, JobSettings> jobs) {
    this.jobs = Collections.unmodifiableMap(jobs);
  }

  /** Only {@value #DEFAULT_JOB}, plain: every session shares one job, as before jobs existed. */
  public static JobsConfig defaults() {
    return DEFAULTS;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** Every job by name, {@value #DEFAULT_JOB} included, in configuration order. */
  public Map<String, JobSettings> jobs() {
    return jobs;
  }

  /** The settings of a configured job, or null. */
  public JobSettings get(String name) {
    return jobs.get(name);
  }

  /** The job a session runs as: {@code requested} when configured, else {@value #DEFAULT_JOB}. */
  public JobSettings resolve(String requested) {
    JobSettings job = jobs.get(requested);
    return job != null ? job : jobs.get(DEFAULT_JOB);
  }

  /** Whether anything beyond a plain {@value #DEFAULT_JOB} is configured. */
  public boolean isDefault() {
    return jobs.size() == 1 && jobs.get(DEFAULT_JOB).equals(JobSettings.plain(DEFAULT_JOB));
  }

  /**
   * Checks the jobs against the pools: for each kind, the jobs' {@code min} may not sum above the
   * pool's limit, since capacity promised to every job at once must exist.
   *
   * @param limit each pool's configured limit
   * @param limitKey the key of each pool's limit, for the error
   * @throws ConfigException naming the {@code min} key of the last job in the sum
   */
  public void checkAgainst(
      ToIntFunction<ResourceKind> limit, Function<ResourceKind, String> limitKey) {
    checkAgainst(limit, limitKey, false);
  }

  /**
   * As {@link #checkAgainst(ToIntFunction, Function)}, but blaming the side that changed: with
   * {@code blameLimit} the error names the pool's limit key and the least limit the mins allow, for
   * a change of limits alone that leaves the jobs as they were.
   *
   * @throws ConfigException naming the pool's limit key when {@code blameLimit}, else the {@code
   *     min} key of the last job in the sum
   */
  public void checkAgainst(
      ToIntFunction<ResourceKind> limit,
      Function<ResourceKind, String> limitKey,
      boolean blameLimit) {
    for (ResourceKind kind : ResourceKind.values()) {
      long sum = 0;
      String last = null;
      StringBuilder parts = new StringBuilder();
      for (JobSettings job : jobs.values()) {
        if (job.min(kind) > 0) {
          sum += job.min(kind);
          last = job.name();
          parts.append(parts.length() == 0 ? "" : ", ").append(job.name()).append(' ');
          parts.append(job.min(kind));
        }
      }
      int max = limit.applyAsInt(kind);
      if (sum <= max) {
        continue;
      }
      if (blameLimit) {
        throw new ConfigException(
            limitKey.apply(kind),
            "must be at least "
                + sum
                + ", the sum of the jobs' min for "
                + kind
                + " ("
                + parts
                + "), got "
                + max);
      }
      throw new ConfigException(
          Keys.min(last, kind),
          "the jobs' min for "
              + kind
              + " sum to "
              + sum
              + " ("
              + parts
              + "), above "
              + limitKey.apply(kind)
              + " "
              + max);
    }
  }

  /**
   * Checks a job name: 1..64 lower-case letters, digits, '_' and '-', starting with a letter or
   * digit. Names are keys ({@code jobs.NAME.weight}) and metric labels, so no dots and no case.
   *
   * @return null when it is a valid name, else the rule it breaks
   */
  public static String nameProblem(String name) {
    if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
      return "must be 1.." + MAX_NAME_LENGTH + " characters";
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
      if (!ok) {
        return "must be lower-case letters, digits, '_' and '-', starting with a letter or digit";
      }
    }
    return null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JobsConfig c && jobs.equals(c.jobs);
  }

  @Override
  public int hashCode() {
    return jobs.hashCode();
  }

  @Override
  public String toString() {
    return jobs.values().toString();
  }

  /** Collects jobs; {@link #build()} validates them. Not thread-safe. */
  public static final class Builder {
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** One job as set so far; null fields take their defaults. */
    private static final class Entry {
      // Longs: a uint32 off the wire above an int's range must reach the range check as itself.
      Long weight;
      final Map<ResourceKind, Long> min = new LinkedHashMap<>();
      final Map<ResourceKind, Long> max = new LinkedHashMap<>();
      final Map<String, HostRule> hosts = new LinkedHashMap<>();
    }

    private int defaultBurst = RateLimitConfig.newBuilder().build().defaultRule().burst();

    private Builder() {}

    /**
     * The burst of a job's host rule that gives none: {@code rate_limit.default_burst} of the
     * policy the jobs go into.
     */
    public Builder defaultBurst(int burst) {
      this.defaultBurst = burst;
      return this;
    }

    /** A builder holding {@code config}'s jobs, for a changed copy. */
    public static Builder from(JobsConfig config) {
      Builder b = new Builder();
      for (JobSettings job : config.jobs.values()) {
        Entry e = b.entry(job.name());
        e.weight = (long) job.weight();
        for (ResourceKind kind : ResourceKind.values()) {
          e.min.put(kind, (long) job.min(kind));
          e.max.put(kind, (long) job.max(kind));
        }
        RateLimitConfig rates = job.hostRates();
        for (HostRule rule : job.hosts().values()) {
          // A rule that gave no burst (0 here) takes rate_limit.default_burst, also a new one.
          boolean inherits = rates.inheritsBurst(rule.pattern());
          e.hosts.put(
              rule.pattern(), inherits ? new HostRule(rule.pattern(), rule.rate(), 0) : rule);
        }
      }
      return b;
    }

    /** Adds job {@code name} (weight 1) if it is not there yet. */
    public Builder job(String name) {
      entry(name);
      return this;
    }

    /** Removes job {@code name}; {@value #DEFAULT_JOB} comes back plain. */
    public Builder remove(String name) {
      entries.remove(name);
      return this;
    }

    public Builder weight(String name, long value) {
      entry(name).weight = value;
      return this;
    }

    public Builder min(String name, ResourceKind kind, long value) {
      entry(name).min.put(kind, value);
      return this;
    }

    public Builder max(String name, ResourceKind kind, long value) {
      entry(name).max.put(kind, value);
      return this;
    }

    /**
     * Sets one of the job's own host rates.
     *
     * @param burst null to take {@link #defaultBurst}
     */
    public Builder host(String name, String pattern, double rate, Long burst) {
      if (burst != null && (burst < 1 || burst > RateLimitConfig.MAX_BURST)) {
        // Checked here: below, 0 stands for "not set", so a bad burst would become the default.
        throw new ConfigException(
            Keys.hostBurst(name, clip(pattern)),
            "must be 1.." + RateLimitConfig.MAX_BURST + ", got " + burst);
      }
      entry(name)
          .hosts
          .put(pattern, new HostRule(pattern, rate, burst == null ? 0 : (int) (long) burst));
      return this;
    }

    /** Removes the job's host rates. */
    public Builder clearHosts(String name) {
      entry(name).hosts.clear();
      return this;
    }

    private Entry entry(String name) {
      return entries.computeIfAbsent(name, n -> new Entry());
    }

    /**
     * Validates and builds.
     *
     * @throws ConfigException naming the first key that breaks its rule
     */
    public JobsConfig build() {
      if (entries.size() > MAX_JOBS) {
        throw new ConfigException(
            Keys.JOBS, "at most " + MAX_JOBS + " jobs, got " + entries.size());
      }
      Map<String, JobSettings> jobs = new LinkedHashMap<>();
      for (Map.Entry<String, Entry> e : entries.entrySet()) {
        String name = e.getKey();
        String problem = nameProblem(name);
        if (problem != null) {
          throw new ConfigException(Keys.JOBS + "['" + clip(name) + "']", "job name " + problem);
        }
        jobs.put(name, settings(name, e.getValue(), defaultBurst));
      }
      jobs.putIfAbsent(DEFAULT_JOB, JobSettings.plain(DEFAULT_JOB));
      return new JobsConfig(jobs);
    }

    private static JobSettings settings(String name, Entry e, int defaultBurst) {
      long weight = e.weight == null ? 1 : e.weight;
      if (weight < 1 || weight > MAX_WEIGHT) {
        throw new ConfigException(
            Keys.weight(name), "must be 1.." + MAX_WEIGHT + ", got " + weight);
      }
      int kinds = ResourceKind.COUNT;
      int[] min = new int[kinds];
      int[] max = new int[kinds];
      for (ResourceKind kind : ResourceKind.values()) {
        min[kind.index()] = quota(Keys.min(name, kind), e.min.getOrDefault(kind, 0L));
        max[kind.index()] = quota(Keys.max(name, kind), e.max.getOrDefault(kind, 0L));
        if (max[kind.index()] > 0 && min[kind.index()] > max[kind.index()]) {
          throw new ConfigException(
              Keys.min(name, kind),
              "must not exceed "
                  + Keys.max(name, kind)
                  + " ("
                  + max[kind.index()]
                  + "), got "
                  + min[kind.index()]);
        }
      }
      return new JobSettings(name, (int) weight, min, max, hostRates(name, e.hosts, defaultBurst));
    }

    private static int quota(String key, long value) {
      if (value < 0 || value > MAX_QUOTA) {
        throw new ConfigException(key, "must be 0 (none).." + MAX_QUOTA + ", got " + value);
      }
      return (int) value;
    }

    /** The job's host rules as a rate-limit configuration, errors named by the job's keys. */
    private static RateLimitConfig hostRates(
        String name, Map<String, HostRule> hosts, int defaultBurst) {
      if (hosts.isEmpty()) {
        return null;
      }
      RateLimitConfig.Builder b = RateLimitConfig.newBuilder().defaultBurst(defaultBurst);
      for (HostRule rule : hosts.values()) {
        if (rule.burst() > 0) {
          b.host(rule.pattern(), rule.rate(), rule.burst());
        } else {
          b.host(rule.pattern(), rule.rate());
        }
      }
      try {
        return b.build();
      } catch (ConfigException e) {
        String key = e.key();
        String renamed =
            key.startsWith(RateLimitConfig.Keys.HOSTS)
                ? Keys.hosts(name) + key.substring(RateLimitConfig.Keys.HOSTS.length())
                : key;
        throw new ConfigException(renamed, e.rule());
      }
    }

    private static String clip(String s) {
      return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
  }

  /** The names of every configured job, for errors and help. */
  public List<String> names() {
    return List.copyOf(jobs.keySet());
  }
}
