package dev.berth.bench.fleet;

import dev.berth.bench.suite.Suite;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * What one fleet run simulates, derived from its options and a seed: the jobs and their weights,
 * the hosts, the timeline (warm-up, the 429 storm on one host, the memory leak), the workers'
 * memory, and the daemon's configuration. Everything here is the experiment's set-up; no figure of
 * the report is computed from it, only the limits the measurements are held against.
 *
 * <p>Immutable and thread-safe.
 */
public final class Scenario {
  /** A crawl job: its name in {@code Hello.job} and its weight in the daemon's {@code jobs}. */
  public record Job(String name, int weight) {}

  /** The three jobs, weights 1 : 2 : 5. Worker {@code i} works for job {@code i % 3}. */
  public static final List<Job> JOBS =
      List.of(new Job("recrawl", 1), new Job("crawl", 2), new Job("urgent", 5));

  static final double DEFAULT_RATE = 3.0;
  static final int DEFAULT_BURST = 5;
  static final double DECREASE_FACTOR = 0.5;

  /** The broker's floor for a slowed host's rate, as a fraction of the storm host's rate. */
  static final double MIN_RATE_FRACTION = 0.25;

  /** Successes it takes the storm host to climb from the floor back to its rate. */
  static final int RECOVERY_SUCCESSES = 20;

  static final long STORM_RETRY_AFTER_MILLIS = 2000;
  static final long FLAKY_RETRY_AFTER_MILLIS = 1000;

  /** The storm host's share of all picks: enough demand to use its whole rate. */
  static final double STORM_PICK = 0.10;

  /** Memory each worker reports with no lease held, in MiB. */
  static final long BASE_MB = 400;

  /** Memory each held lease adds to its worker's report: the daemon's RENDER estimate. */
  static final long PER_LEASE_MB = 300;

  /** The memory limit each worker declares. Leaking workers stay below 3/4 of it. */
  static final long WORKER_LIMIT_MB = 4096;

  /** The most a leaking worker leaks before a cleanup push makes it free memory. */
  static final long LEAK_CAP_MB = 1600;

  /** Fleet usage with the pool full, as a fraction of the fleet limit, outside the leak. */
  static final double NORMAL_FLEET_RATIO = 0.6;

  private final int workers;
  private final int pool;
  private final long duration;
  private final long warmup;
  private final long acquireWait;
  private final List<SimHost> hosts;
  private final long stormStart;
  private final long stormEnd;
  private final long leakStart;
  private final long leakEnd;

  /**
   * @param workers simulated workers, at least one per job
   * @param pool the RENDER pool limit
   * @param hostCount simulated hosts, at least 2 (one of them has the storm)
   * @param durationNanos the whole run; the first tenth (at least 3 s) is warm-up
   * @param acquireWaitNanos how long each acquire may queue at the broker
   * @param seed the hosts' and workers' random draws
   */
  public Scenario(
      int workers, int pool, int hostCount, long durationNanos, long acquireWaitNanos, long seed) {
    if (workers < JOBS.size()) {
      throw new IllegalArgumentException("--workers: at least " + JOBS.size() + ", got " + workers);
    }
    if (pool < 1) {
      throw new IllegalArgumentException("--pool: at least 1, got " + pool);
    }
    if (hostCount < 2) {
      throw new IllegalArgumentException("--hosts: at least 2, got " + hostCount);
    }
    if (durationNanos < TimeUnit.SECONDS.toNanos(5)) {
      throw new IllegalArgumentException("--duration: at least 5s");
    }
    this.workers = workers;
    this.pool = pool;
    this.duration = durationNanos;
    this.warmup = Math.max(TimeUnit.SECONDS.toNanos(3), durationNanos / 10);
    this.acquireWait = acquireWaitNanos;
    long span = durationNanos - warmup;
    this.stormStart = warmup + span * 15 / 100;
    this.stormEnd = warmup + span * 25 / 100;
    this.leakStart = warmup + span * 65 / 100;
    this.leakEnd = warmup + span * 90 / 100;
    this.hosts = hosts(hostCount, pool, new SplittableRandom(seed));
  }

  /**
   * Host 0 has the storm and a rate of its own, set to 80 % of the demand its pick share brings at
   * the pool's throughput, so that it is busy enough to show its recovery. The others take the
   * default limit; one in ten answers 3 % of pages with 429.
   */
  private static List<SimHost> hosts(int n, int pool, SplittableRandom random) {
    double[] median = new double[n];
    double[] sigma = new double[n];
    double[] weight = new double[n];
    double others = 0;
    for (int h = 0; h < n; h++) {
      median[h] = h == 0 ? 200 : 80 * Math.pow(12.5, random.nextDouble()); // 80 ms .. 1 s
      sigma[h] = 0.3 + 0.6 * random.nextDouble();
      weight[h] = Math.exp(0.5 * SimHost.gaussian(random));
      others += h == 0 ? 0 : weight[h];
    }
    double meanMillis = 0;
    double[] pick = new double[n];
    for (int h = 0; h < n; h++) {
      pick[h] = h == 0 ? STORM_PICK : (1 - STORM_PICK) * weight[h] / others;
      meanMillis += pick[h] * median[h] * Math.exp(sigma[h] * sigma[h] / 2);
    }
    double throughput = pool / (meanMillis / 1000);
    double stormRate = round2(0.8 * STORM_PICK * throughput);
    List<SimHost> out = new ArrayList<>();
    for (int h = 0; h < n; h++) {
      boolean storm = h == 0;
      out.add(
          new SimHost(
              storm ? "storm.fleet.invalid" : String.format(Locale.ROOT, "h%03d.fleet.invalid", h),
              median[h],
              sigma[h],
              pick[h],
              storm ? stormRate : DEFAULT_RATE,
              storm ? Math.max(2, (int) Math.round(stormRate / 2)) : DEFAULT_BURST,
              !storm && h % 10 == 5 ? 0.03 : 0,
              storm ? STORM_RETRY_AFTER_MILLIS : FLAKY_RETRY_AFTER_MILLIS,
              storm));
    }
    return List.copyOf(out);
  }

  private static double round2(double v) {
    return Math.max(0.01, Math.round(v * 100) / 100.0);
  }

  /** The daemon's flags: the pool, the jobs, host limits, back-off, memory; no caps. */
  public List<String> daemonArgs(boolean withJobs) {
    SimHost storm = hosts.get(0);
    List<String> a = Suite.berthServer();
    a.addAll(
        List.of(
            "--pools.render.limit",
            Integer.toString(pool),
            "--rate_limit.default_rate",
            Double.toString(DEFAULT_RATE),
            "--rate_limit.default_burst",
            Integer.toString(DEFAULT_BURST),
            "--rate_limit.hosts",
            "{" + storm.name() + ": {rate: " + storm.rate() + ", burst: " + storm.burst() + "}}",
            "--rate_limit.decrease_factor",
            Double.toString(DECREASE_FACTOR),
            "--rate_limit.recovery_step",
            Double.toString(recoveryStep()),
            "--rate_limit.min_rate",
            Double.toString(minRate()),
            "--memory.fleet_limit_mb",
            Long.toString(fleetLimitMb()),
            "--memory.cleanup_sessions",
            Integer.toString(Math.max(3, workers / 30)),
            "--memory.cleanup_interval",
            "5s",
            "--caps.sessions_per_principal",
            "0",
            "--caps.leases_per_principal",
            "0",
            "--caps.queued_per_principal",
            "0"));
    if (withJobs) {
      StringBuilder jobs = new StringBuilder("{");
      for (Job j : JOBS) {
        jobs.append(jobs.length() > 1 ? ", " : "")
            .append(j.name())
            .append(": {weight: ")
            .append(j.weight())
            .append('}');
      }
      a.addAll(List.of("--jobs", jobs.append('}').toString()));
    }
    return a;
  }

  /**
   * What each success adds back to a slowed host's rate: a twentieth of the storm host's rate, so
   * that its recovery takes seconds, long enough to see and short enough to fit a run.
   */
  public double recoveryStep() {
    return round2(stormHost().rate() / RECOVERY_SUCCESSES);
  }

  /**
   * The broker's floor for a slowed host's rate: a quarter of the storm host's rate (at most half
   * the default rate, so the other hosts slow down on a 429 too), so that a long storm leaves it at
   * a rate it climbs back from in seconds; the broker's default floor, 0.05/s, would take minutes
   * at this step.
   */
  public double minRate() {
    return round2(Math.min(stormHost().rate() * MIN_RATE_FRACTION, DEFAULT_RATE / 2));
  }

  /** The fleet limit: the usage of every worker with the pool full is 60 % of it. */
  public long fleetLimitMb() {
    return (long) Math.ceil((workers * BASE_MB + pool * PER_LEASE_MB) / NORMAL_FLEET_RATIO);
  }

  /** Worker {@code i}'s job. */
  public int jobOf(int worker) {
    return worker % JOBS.size();
  }

  /** Whether worker {@code i} leaks memory during the leak: one in four. */
  public boolean leaks(int worker) {
    return worker % 4 == 3;
  }

  /** MiB per second a leaking worker leaks: its cap in 30 % of the leak. */
  public double leakMbPerSecond() {
    return LEAK_CAP_MB / (0.3 * (leakEnd - leakStart) / 1e9);
  }

  /** The sum of every job's weight. */
  public static int totalWeight() {
    return JOBS.stream().mapToInt(Job::weight).sum();
  }

  public int workers() {
    return workers;
  }

  public int pool() {
    return pool;
  }

  public List<SimHost> hosts() {
    return hosts;
  }

  public SimHost stormHost() {
    return hosts.get(0);
  }

  public long duration() {
    return duration;
  }

  public long warmup() {
    return warmup;
  }

  public long acquireWait() {
    return acquireWait;
  }

  public long stormStart() {
    return stormStart;
  }

  public long stormEnd() {
    return stormEnd;
  }

  public long leakStart() {
    return leakStart;
  }

  public long leakEnd() {
    return leakEnd;
  }

  public boolean inStorm(long t) {
    return t >= stormStart && t < stormEnd;
  }
}
