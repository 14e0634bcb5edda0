package dev.berth.server.admission;

import dev.berth.server.config.BrokerConfig;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.CleanupTarget;
import dev.berth.server.memory.FleetMemory;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.performance.DegradationMonitor;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.HostRateLimiter;
import dev.berth.server.ratelimit.HostStatus;
import dev.berth.server.ratelimit.RateLimitConfig;
import java.util.List;
import java.util.function.Supplier;

/**
 * The fleet-wide admission rules beyond plain pool counts: per-host token buckets, memory pressure
 * and degradation-adjusted limits. It gathers the {@link Admission.Facts} for one acquire, takes
 * the host token and charges memory only when a lease is granted (so a refused or waiting acquire
 * costs nothing), and feeds release outcomes back into the per-host rates and the degradation
 * statistics.
 *
 * <p>Not thread-safe: the broker calls it under its lock.
 */
public final class AdmissionController {
  private final HostRateLimiter hosts;
  private final FleetMemory memory;
  private final Jobs jobs;
  private DegradationMonitor performance;

  /**
   * @param jobs the jobs in force, whose guaranteed mins follow the pools' effective limits
   */
  public AdmissionController(
      RateLimitConfig rateLimit,
      MemoryConfig memory,
      PerformanceConfig performance,
      Jobs jobs,
      long nowNanos) {
    this.jobs = jobs;
    this.hosts = new HostRateLimiter(rateLimit);
    this.memory = new FleetMemory(memory);
    this.performance = new DegradationMonitor(performance, nowNanos);
  }

  /** Whether acquires of this kind and host take a host token. */
  public static boolean rateLimited(ResourceKind kind, String host) {
    return kind != ResourceKind.WASM && !host.isEmpty();
  }

  /**
   * The facts the checks of one acquire read: the caller's, with the pool's effective limit, the
   * memory pressure, the host's rate (and the job's own rate for the host, when it has one) and the
   * job's quota added. For an item of a bundle, {@code kindBefore} and {@code hostBefore} count the
   * bundle's earlier items of the same kind and host, which the item is checked as if granted (the
   * caller adds {@code kindBefore} to the usage and session counts it passes), and {@code
   * memoryBeforeMb} sums what its earlier items would charge once granted, which its memory check
   * counts as charged.
   *
   * @param memoryBeforeMb the memory estimates of the bundle's earlier items (a WASM item's only
   *     when it is a new instance), 0 for a single acquire
   * @param heartbeatNanos when a refused worker should ask again about memory
   */
  public Admission.Facts facts(
      BrokerConfig config,
      AcquireSpec spec,
      Admission.BrokerFacts broker,
      Admission.SessionFacts session,
      int inUse,
      int queued,
      Job job,
      int kindBefore,
      int hostBefore,
      long memoryBeforeMb,
      long heartbeatNanos,
      long nowNanos) {
    ResourceKind kind = spec.kind();
    int configured = config.limit(kind);
    int effective = effectiveLimit(kind, configured, broker.heldBack());
    String limitReason = effective == configured ? "" : performance.reason(kind);
    Admission.Memory mem =
        Admission.memoryBound(kind)
            ? memory(spec.sessionId(), heartbeatNanos, memoryBeforeMb)
            : Admission.Memory.NONE;
    Admission.RateFacts rate = Admission.RateFacts.NONE;
    if (rateLimited(kind, spec.host())) {
      rate = rate(spec.host(), job, 1 + hostBefore, nowNanos);
    }
    Admission.JobFacts jobFacts =
        new Admission.JobFacts(
            job.name(),
            job.held(kind) + kindBefore,
            job.settings().max(kind),
            job.guaranteedMin(kind),
            job.settings().min(kind));
    return new Admission.Facts(
        broker,
        session,
        new Admission.PoolFacts(inUse, queued, effective, limitReason),
        mem,
        rate,
        jobFacts);
  }

  /**
   * The rate facts of {@code tokens} tokens of {@code host}: the host's bucket and, when the job
   * has a rule for the host, the job's own; the later of the two decides. Read now, written later:
   * the evaluation that uses them runs under the same lock, at once.
   */
  private Admission.RateFacts rate(String host, Job job, int tokens, long now) {
    long hostWait = hosts.nanosUntilTokens(host, tokens, now);
    HostRateLimiter jobRates = job.hostRates();
    if (jobRates != null && jobRates.covers(host)) {
      long jobWait = jobRates.nanosUntilTokens(host, tokens, now);
      if (jobWait > hostWait) {
        RateRule rule = new RateRule(jobRates, host, job.name(), tokens, now);
        return new Admission.RateFacts(true, jobWait, rule, rule);
      }
    }
    RateRule rule = new RateRule(hosts, host, null, tokens, now);
    return new Admission.RateFacts(true, hostWait, rule, rule);
  }

  /**
   * The rule and the detail of one acquire's host rate, in one object rather than two lambdas
   * (every rate-limited acquire makes one): the key of the rule that decides, and the capture of
   * the host's state for the detail, both asked for only when the acquire is refused or explained.
   *
   * @param job the job whose own rule for the host decides, or null for the host's rule
   */
  private record RateRule(HostRateLimiter limiter, String host, String job, int tokens, long now)
      implements Admission.DetailCapture, Supplier<String> {
    /**
     * The key of the rule: its rate, or its burst when a bundle needs more tokens at once than the
     * burst holds, so that only a larger burst can let it through.
     */
    @Override
    public String get() {
      boolean aboveBurst = aboveBurst();
      if (job == null) {
        return aboveBurst ? limiter.burstKey(host) : limiter.ruleKey(host);
      }
      String pattern = limiter.patternOf(host);
      return aboveBurst
          ? JobsConfig.Keys.hostBurst(job, pattern)
          : JobsConfig.Keys.hostRate(job, pattern);
    }

    @Override
    public Supplier<String> capture() {
      Supplier<String> state = limiter.capture(host, now);
      String need = tokens == 1 ? "" : need(tokens, limiter.ruleOf(host).burst());
      if (job != null) {
        return () -> "job " + job + " " + state.get() + need;
      }
      return tokens == 1 ? state : () -> state.get() + need;
    }

    /** Whether the bundle needs more tokens at once than the rule's burst (never for one). */
    private boolean aboveBurst() {
      return tokens > 1 && tokens > limiter.ruleOf(host).burst();
    }
  }

  private static String need(int tokens, int burst) {
    String need = " (this bundle needs " + tokens + " of its tokens at once";
    return tokens <= burst
        ? need + ")"
        : need
            + ", more than the burst of "
            + burst
            + ": it can be granted only once the burst is raised)";
  }

  /** The memory facts for one session's RENDER/PDF acquires. */
  public Admission.Memory memory(String sessionId, long retryAfterNanos) {
    return memory(sessionId, retryAfterNanos, 0);
  }

  /**
   * The memory facts for an item of a session's bundle, with {@code beforeMb} estimated for the
   * bundle's earlier items counted as if they were granted: the item is refused when those would
   * turn pressure on, as a single acquire after them would be.
   */
  private Admission.Memory memory(String sessionId, long retryAfterNanos, long beforeMb) {
    boolean fleet = memory.fleetBlocked();
    boolean worker = memory.sessionBlocked(sessionId);
    if (!fleet && !worker) {
      FleetMemory.Crossing crossing =
          beforeMb > 0 ? memory.crossingWith(sessionId, beforeMb) : null;
      if (crossing == null) {
        return Admission.Memory.NONE;
      }
      return new Admission.Memory(
          false, true, crossing.trigger(), retryAfterNanos, MemoryConfig.Keys.PRESSURE_ON);
    }
    String detail = fleet ? memory.trigger() : memory.trigger(sessionId);
    String rule =
        fleet && memory.heapOnly()
            ? MemoryConfig.Keys.BROKER_HEAP_ON
            : MemoryConfig.Keys.PRESSURE_ON;
    return new Admission.Memory(fleet, worker, detail, retryAfterNanos, rule);
  }

  /**
   * A lease was granted to a session of {@code job}: take its host token (and the job's own, when
   * the job has a rule for the host) and charge its memory.
   */
  public void granted(Lease lease, Job job, long nowNanos) {
    if (rateLimited(lease.kind(), lease.host())) {
      hosts.consume(lease.host(), nowNanos);
      HostRateLimiter jobRates = job.hostRates();
      if (jobRates != null && jobRates.covers(lease.host())) {
        jobRates.consume(lease.host(), nowNanos);
      }
    }
    memory.charge(lease.sessionId(), lease.memoryMb());
  }

  /**
   * A lease of the previous broker run was re-admitted after a restart: its memory counts again;
   * its host token was taken when it was first granted.
   */
  public void readmitted(Lease lease) {
    memory.charge(lease.sessionId(), lease.memoryMb());
  }

  /**
   * Nanoseconds until {@code host}'s fleet-wide bucket could give {@code count} tokens to a request
   * queued behind waiters that take {@code ahead} of its tokens first, at the host's current rate;
   * see {@link HostRateLimiter#nanosUntilTaken}.
   */
  public long nanosUntilHostTaken(String host, int ahead, int count, long nowNanos) {
    return hosts.nanosUntilTaken(host, ahead, count, nowNanos);
  }

  /** An acquire was refused; rate-limit refusals count against their host for status. */
  public void refused(AcquireSpec spec, Decision.Refused refusal, long nowNanos) {
    if (refusal.reason() == RefusalReason.RATE_LIMITED) {
      hosts.refused(spec.host(), nowNanos);
    }
  }

  /**
   * A lease ended with an outcome its holder reported: feed the per-host rate (429/503 slow the
   * host down) and the degradation statistics.
   */
  public void reported(Lease lease, Outcome outcome, long nowNanos) {
    if (rateLimited(lease.kind(), lease.host())) {
      hosts.onOutcome(
          lease.host(),
          outcome.httpStatus(),
          outcome.retryAfterNanos(),
          outcome.success(),
          nowNanos);
    }
    performance.record(lease.kind(), lease.host(), outcome, nowNanos);
  }

  /**
   * A site's 429 or 503 that another broker saw {@code ageNanos} ago (the cluster's previous
   * leader, or this broker's previous run): lower the host's rate, and pause it for what is left of
   * the pause that answer earned (see {@link HostRateLimiter#carried}).
   *
   * @param retryAfterNanos the site's Retry-After, 0 when none
   */
  public void penalized(
      String host, int httpStatus, long retryAfterNanos, long ageNanos, long nowNanos) {
    hosts.carried(host, httpStatus, retryAfterNanos, ageNanos, nowNanos);
  }

  /**
   * This broker starts to lead its cluster: every host's bucket starts empty now (see {@link
   * HostRateLimiter#startEmpty}), so a host its predecessor drained gets no second burst.
   */
  public void hostsStartEmpty(long nowNanos) {
    hosts.startEmpty(nowNanos);
  }

  /** A worker's heartbeat reported its memory. */
  public void heartbeat(
      String sessionId, String workerId, long usedMb, long limitMb, long nowNanos) {
    memory.report(sessionId, workerId, usedMb, limitMb, nowNanos);
  }

  /** A session ended; its memory no longer counts. */
  public void forget(String sessionId) {
    memory.forget(sessionId);
  }

  /** Re-evaluates memory pressure, including the broker's own heap. */
  public PressureChange evaluateMemory(long nowNanos, long heapUsedBytes, long heapMaxBytes) {
    return memory.evaluate(nowNanos, heapUsedBytes, heapMaxBytes);
  }

  /** Sessions that should free memory now, with how much; rate-limited per session. */
  public List<CleanupTarget> cleanupTargets(long nowNanos) {
    return memory.cleanupTargets(nowNanos);
  }

  /** The pressure a worker should be told in its heartbeat ack: its own or the fleet's. */
  public PressureLevel pressureFor(String sessionId) {
    PressureLevel fleet = memory.level();
    PressureLevel own = memory.level(sessionId);
    return own.compareTo(fleet) > 0 ? own : fleet;
  }

  /** Periodic upkeep: adapt effective limits to degradation, evict idle host buckets. */
  public List<LimitChange> tick(BrokerConfig config, long nowNanos) {
    hosts.evictIdle(nowNanos);
    return performance.adjust(nowNanos, config::limit);
  }

  /** Applies a new rate, memory and performance policy; host and memory state are kept. */
  public void update(
      RateLimitConfig rateLimit, MemoryConfig memoryConfig, PerformanceConfig perf, long nowNanos) {
    if (rateLimit != hosts.config()) {
      hosts.update(rateLimit, nowNanos);
    }
    if (memoryConfig != memory.config()) {
      memory.reconfigure(memoryConfig);
    }
    if (perf != performance.config()) {
      // Statistics restart with the policy; lowered limits carry over and recover as usual.
      performance = performance.reconfigured(perf, nowNanos);
    }
  }

  // ---------------------------------------------------------------- views

  /**
   * The limit admission enforces for {@code kind} now (lowered while degraded), with every job's
   * guaranteed min of the kind brought in line with the part of it that can be granted ({@link
   * Jobs#guarantee}): whoever reads the limit — the checks, the fair queue's pump, Explain, status
   * — sees the mins that go with it.
   *
   * @param heldBack slots of the pool a new cluster leader holds back now (see {@link
   *     Admission.BrokerFacts#heldBack}); the mins scale to the effective limit less these, the
   *     pool's usable part, and grow back as the hold-back shrinks or ends
   */
  public int effectiveLimit(ResourceKind kind, int configured, int heldBack) {
    int effective = performance.effectiveLimit(kind, configured);
    jobs.guarantee(kind, Math.max(0, effective - heldBack), configured);
    return effective;
  }

  public String limitReason(ResourceKind kind) {
    return performance.reason(kind);
  }

  public double degradationScore(ResourceKind kind) {
    return performance.score(kind);
  }

  public PressureLevel pressure() {
    return memory.level();
  }

  public long fleetUsedMb() {
    return memory.fleetUsedMb();
  }

  public long fleetLimitMb() {
    return memory.fleetLimitMb();
  }

  public String pressureTrigger() {
    return memory.trigger();
  }

  public List<HostStatus> hottestHosts(int n, long nowNanos) {
    return hosts.hottest(n, nowNanos);
  }

  public int hostsTracked() {
    return hosts.size();
  }
}
