package dev.berth.server.admission;

import dev.berth.server.config.BrokerConfig;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.Durations;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The admission checks of one acquire, in the order docs/admission.md gives: draining, memory
 * pressure, the per-host rate, the per-session limit, the job's quota, the pool's effective limit.
 * The first that fails decides, and its refusal names the rule ({@link Decision.Refused#rule}):
 * this is the one place that names them. A pure function of the facts it is given, so Acquire,
 * bundles and the admin Explain share it and tests need no broker; {@link AdmissionController}
 * gathers the facts.
 */
public final class Admission {
  /** The name of each pool's check, made once (a grant must not build strings). */
  private static final Map<ResourceKind, String> POOL_RULE = new EnumMap<>(ResourceKind.class);

  /** The rule (key) of each pool's limit and per-session limit, made once. */
  private static final Map<ResourceKind, String> POOL_KEY = new EnumMap<>(ResourceKind.class);

  private static final Map<ResourceKind, String> SESSION_KEY = new EnumMap<>(ResourceKind.class);

  static {
    for (ResourceKind kind : ResourceKind.values()) {
      POOL_RULE.put(kind, "pool " + kind);
      POOL_KEY.put(kind, BrokerConfig.Keys.limit(kind));
      SESSION_KEY.put(kind, BrokerConfig.Keys.perSessionLimit(kind));
    }
  }

  /**
   * The rules that are checks rather than settings, as {@link Decision.Refused#rule} names them.
   */
  public static final class Rules {
    public static final String DRAINING = "draining";
    public static final String RESTART_RECOVERY = "restart_recovery";
    public static final String REPLICATION = "replication";
    public static final String TIMEOUT = "timeout";

    private Rules() {}
  }

  private Admission() {}

  /** What stops a grant now, and how waiting in the queue can help. */
  public enum Blocker {
    /** Nothing: grant. */
    NONE,
    /** The broker or the session is draining; waiting does not help. */
    DRAINING,
    /**
     * The fleet (or the broker's heap) is under memory pressure: no RENDER/PDF grant for anyone.
     */
    FLEET_MEMORY,
    /** This worker is under memory pressure; others may still be granted. */
    WORKER_MEMORY,
    /** The host has no token until {@code retry_after}; other hosts may still be granted. */
    RATE_LIMITED,
    /** The session holds its per-session limit; it waits for its own releases. */
    SESSION_LIMIT,
    /** The session's job holds its {@code max} of the kind; it waits for its job's releases. */
    JOB_MAX,
    /** The pool is at its effective limit: nobody behind can be granted either. */
    POOL_FULL,
    /**
     * A cluster leader holds grants of the pool back for a few milliseconds (earlier grants await
     * their commit, or its leader lease is being renewed): nobody behind can be granted either, and
     * the queue is woken at {@code retry_after}.
     */
    REPLICATING;

    /**
     * Whether an acquire willing to wait {@code waitNanos} should queue rather than be refused. A
     * rate-limited acquire queues only when its host's token arrives <em>before</em> the wait runs
     * out: a waiter is dead from its deadline on, so one whose wait equals {@code retry_after}
     * could only time out at the instant its token arrives, and is better told at once.
     */
    public boolean waitable(long waitNanos, Decision.Refused refusal) {
      return switch (this) {
        case NONE, DRAINING -> false;
        case RATE_LIMITED -> waitNanos > refusal.retryAfterNanos();
        default -> waitNanos > 0;
      };
    }

    /** Whether waiters queued behind one blocked this way cannot be granted either. */
    public boolean blocksQueue() {
      return this == FLEET_MEMORY || this == POOL_FULL || this == REPLICATING;
    }

    /** Whether the queue must be woken at {@code retry_after}: nothing else will wake it. */
    public boolean wakesAtRetryAfter() {
      return this == RATE_LIMITED || this == REPLICATING;
    }
  }

  /**
   * The outcome of the checks: a refusal (null when granted), what blocks, and for a request of
   * several items (a bundle) the index of the item refused (0 for a single acquire).
   */
  public record Verdict(Decision.Refused refusal, Blocker blocker, int item) {
    public static final Verdict GRANT = new Verdict(null, Blocker.NONE, 0);

    public Verdict(Decision.Refused refusal, Blocker blocker) {
      this(refusal, blocker, 0);
    }

    /** This verdict as that of item {@code index} of a bundle. */
    public Verdict forItem(int index) {
      return index == item ? this : new Verdict(refusal, blocker, index);
    }
  }

  /** One check and its verdict, for Explain. */
  public record Step(String rule, boolean passed, String detail) {}

  /**
   * The state the checks read, grouped by where it comes from, so that a fact of one group cannot
   * be passed for one of another.
   *
   * @param broker the broker's state
   * @param session the acquiring session's
   * @param pool the requested kind's pool
   * @param memory the memory check's state
   * @param rate the acquire's host rate
   * @param job the session's job
   */
  public record Facts(
      BrokerFacts broker,
      SessionFacts session,
      PoolFacts pool,
      Memory memory,
      RateFacts rate,
      JobFacts job) {}

  /**
   * The session's job, for the quota check and Explain.
   *
   * @param name the job the session runs as
   * @param held leases of the requested kind the job holds (with the earlier items of a bundle)
   * @param max its {@code max} of the kind, 0 for none
   * @param min its guaranteed min of the kind: its {@code min} scaled to the pool's usable part,
   *     the effective limit less the slots held back ({@link ScaledMins}), the one the fair queue
   *     serves first below; 0 for none
   * @param configuredMin its {@code min} of the kind as configured, 0 for none
   */
  public record JobFacts(String name, int held, int max, int min, int configuredMin) {
    public static final JobFacts DEFAULT = new JobFacts(JobsConfig.DEFAULT_JOB, 0, 0, 0, 0);
  }

  /**
   * The broker's facts.
   *
   * @param draining the broker refuses new grants
   * @param recoveryNanosLeft after a restart, how long leases of the previous run may still be
   *     re-declared (no new grants until then); 0 otherwise
   * @param replicated the broker leads a cluster: its grants are journaled (Explain shows the
   *     replication check)
   * @param heldBack slots of the requested pool a new cluster leader keeps free for leases its
   *     predecessor may have granted without their journal entry being committed; 0 otherwise
   * @param journalHold why a cluster leader may not grant of the pool now (for milliseconds); null
   *     when it may
   * @param journalRetryNanos when asking again after a {@code journalHold} makes sense
   */
  public record BrokerFacts(
      boolean draining,
      long recoveryNanosLeft,
      boolean replicated,
      int heldBack,
      String journalHold,
      long journalRetryNanos) {
    public static final BrokerFacts SERVING = new BrokerFacts(false, 0);

    /** A lone broker's facts: nothing held back for a cluster. */
    public BrokerFacts(boolean draining, long recoveryNanosLeft) {
      this(draining, recoveryNanosLeft, false, 0, null, 0);
    }
  }

  /**
   * The acquiring session's facts.
   *
   * @param id for details
   * @param draining the session refuses new grants
   * @param holdsWasm the session already holds a WASM instance (returned again)
   * @param heldOfKind leases of the requested kind the session holds
   */
  public record SessionFacts(String id, boolean draining, boolean holdsWasm, int heldOfKind) {}

  /**
   * The requested kind's pool: how much of it is taken and its limit in force. One flat record, not
   * a usage and a limit in a pool: the facts are made for every acquire, and each record is one
   * more object the JIT does not remove.
   *
   * @param inUse leases of the kind in use fleet-wide
   * @param queued acquires of the kind waiting
   * @param effective the limit now (lowered while degraded)
   * @param reason why it differs from the configured one, or empty
   */
  public record PoolFacts(int inUse, int queued, int effective, String reason) {}

  /**
   * The acquire's host rate.
   *
   * @param limited the acquire's host has a rate limit
   * @param waitNanos nanoseconds until the host has a token; 0 when it has one or is not limited
   * @param detail captures the host rule's state, to be written as text later, e.g. {@code host
   *     example.com: 2.0/s, next token in 340ms}; called only when a refusal or Explain shows it,
   *     since a grant never does
   * @param rule the key of the host rule that decides, e.g. {@code rate_limit.default_rate}; built
   *     only for a refusal
   */
  public record RateFacts(
      boolean limited, long waitNanos, DetailCapture detail, Supplier<String> rule) {
    public static final RateFacts NONE = new RateFacts(false, 0, () -> () -> "", () -> "");
  }

  /**
   * Reads, when called (under the broker's lock), the facts a detail needs, and returns the text to
   * write from them: a supplier of values only, run after the lock is released.
   */
  @FunctionalInterface
  public interface DetailCapture {
    Supplier<String> capture();
  }

  /**
   * The memory facts of one acquire.
   *
   * @param fleetBlocked fleet or broker-heap pressure is on
   * @param workerBlocked the acquiring worker's own pressure is on, or, for an item of a bundle,
   *     the memory estimates of the bundle's earlier items would turn pressure (the worker's or the
   *     fleet's) on: a refusal of this request alone, which others behind it in the queue may pass
   * @param detail the trigger in words
   * @param retryAfterNanos when asking again makes sense (the next heartbeat)
   * @param rule the key of the threshold that holds pressure on ({@code memory.pressure_on}, or
   *     {@code memory.broker_heap_on} when only the broker's heap does)
   */
  public record Memory(
      boolean fleetBlocked,
      boolean workerBlocked,
      String detail,
      long retryAfterNanos,
      String rule) {
    public static final Memory NONE = new Memory(false, false, "no memory pressure", 0, "");
  }

  /** Whether a kind is held back by memory pressure (WASM continues under pressure). */
  public static boolean memoryBound(ResourceKind kind) {
    return kind != ResourceKind.WASM;
  }

  /**
   * Runs the checks.
   *
   * @param steps when not null, every check evaluated is appended, passed or not
   */
  public static Verdict evaluate(
      BrokerConfig config, AcquireSpec spec, Facts facts, List<Step> steps) {
    ResourceKind kind = spec.kind();
    long retryAfter = config.exhaustedRetryAfter().toNanos();

    SessionFacts session = facts.session();
    boolean draining = facts.broker().draining() || session.draining();
    String drainDetail =
        facts.broker().draining()
            ? "broker is draining"
            : session.draining() ? "session " + session.id() + " is draining" : "not draining";
    if (failed(steps, "draining", !draining, () -> drainDetail) != null) {
      return new Verdict(
          new Decision.Refused(
              RefusalReason.DRAINING,
              config.drainDeadline().toNanos(),
              drainDetail,
              Rules.DRAINING),
          Blocker.DRAINING);
    }

    if (kind == ResourceKind.WASM && session.holdsWasm()) {
      failed(
          steps,
          "wasm one-per-session",
          true,
          () -> "the session's WASM instance is returned again");
      return Verdict.GRANT;
    }

    if (memoryBound(kind)) {
      Memory memory = facts.memory();
      boolean blocked = memory.fleetBlocked() || memory.workerBlocked();
      if (failed(steps, "memory pressure", !blocked, memory::detail) != null) {
        return new Verdict(
            new Decision.Refused(
                RefusalReason.MEMORY_PRESSURE,
                memory.retryAfterNanos(),
                memory.detail(),
                memory.rule()),
            memory.fleetBlocked() ? Blocker.FLEET_MEMORY : Blocker.WORKER_MEMORY);
      }
    }

    RateFacts rate = facts.rate();
    if (rate.limited() && (rate.waitNanos() > 0 || steps != null)) {
      // The host's state is read now (it changes once the lock is released) and written later.
      Supplier<String> captured = rate.detail().capture();
      Supplier<String> refused = failed(steps, "host rate", rate.waitNanos() == 0, captured);
      if (refused != null) {
        return new Verdict(
            Decision.Refused.deferred(
                RefusalReason.RATE_LIMITED, rate.waitNanos(), refused, rate.rule().get()),
            Blocker.RATE_LIMITED);
      }
    }

    long recovery = facts.broker().recoveryNanosLeft();
    Supplier<String> recovering =
        failed(
            steps,
            "restart recovery",
            recovery == 0,
            () ->
                recovery > 0
                    ? "broker restarted: leases of its previous run may be re-declared for another "
                        + Durations.format(Duration.ofMillis((recovery + 999_999) / 1_000_000))
                        + " (one session_ttl); no new grants until then"
                    : "no restart recovery in progress");
    if (recovering != null) {
      return new Verdict(
          Decision.Refused.deferred(
              RefusalReason.EXHAUSTED, recovery, recovering, Rules.RESTART_RECOVERY),
          Blocker.POOL_FULL);
    }

    String hold = facts.broker().journalHold();
    if (hold != null || (steps != null && facts.broker().replicated())) {
      Supplier<String> held =
          failed(
              steps,
              "replication",
              hold == null,
              () -> hold != null ? hold : "this broker may grant: nothing awaits its commit");
      if (held != null) {
        return new Verdict(
            Decision.Refused.deferred(
                RefusalReason.EXHAUSTED,
                facts.broker().journalRetryNanos(),
                held,
                Rules.REPLICATION),
            Blocker.REPLICATING);
      }
    }

    int perSession = config.perSessionLimit(kind);
    if (perSession > 0) {
      Supplier<String> refused =
          failed(
              steps,
              "session limit",
              session.heldOfKind() < perSession,
              () ->
                  "session "
                      + session.id()
                      + " holds "
                      + session.heldOfKind()
                      + "/"
                      + perSession
                      + " "
                      + kind);
      if (refused != null) {
        return new Verdict(
            Decision.Refused.deferred(
                RefusalReason.EXHAUSTED, retryAfter, refused, SESSION_KEY.get(kind)),
            Blocker.SESSION_LIMIT);
      }
    }

    JobFacts job = facts.job();
    if (job.max() > 0 || steps != null) {
      Supplier<String> refused =
          failed(
              steps,
              "job quota",
              job.max() == 0 || job.held() < job.max(),
              () -> jobDetail(kind, job, facts.pool().effective(), facts.broker().heldBack()));
      if (refused != null) {
        return new Verdict(
            Decision.Refused.deferred(
                RefusalReason.EXHAUSTED,
                retryAfter,
                refused,
                JobsConfig.Keys.max(job.name(), kind)),
            Blocker.JOB_MAX);
      }
    }

    PoolFacts pool = facts.pool();
    int heldBack = facts.broker().heldBack();
    Supplier<String> refused =
        failed(
            steps,
            POOL_RULE.get(kind),
            pool.inUse() + heldBack < pool.effective(),
            () ->
                poolDetail(kind, pool.inUse(), pool.effective(), pool.queued())
                    + (pool.reason().isEmpty() ? "" : " (" + pool.reason() + ")")
                    + (heldBack == 0
                        ? ""
                        : "; "
                            + heldBack
                            + " held back after a change of cluster leader, for leases the"
                            + " earlier leader may have granted, until their workers re-declare"
                            + " them or one session_ttl passes"));
    if (refused != null) {
      return new Verdict(
          Decision.Refused.deferred(
              RefusalReason.EXHAUSTED,
              retryAfter,
              () -> "pool " + refused.get(),
              POOL_KEY.get(kind)),
          Blocker.POOL_FULL);
    }
    return Verdict.GRANT;
  }

  /**
   * The job's standing for one kind in words, e.g. {@code job recrawl holds 6/6 RENDER
   * (jobs.recrawl.max.render)}, {@code job urgent holds 1 RENDER, no max; below its min 2: served
   * first when a slot frees}, or, while the pool's limit is lowered, {@code job urgent holds 2
   * RENDER, no max; at or above its min 2 (jobs.urgent.min.render 4 scaled to the effective limit
   * 4)}, or, while a new cluster leader holds slots back, {@code job urgent holds 0 RENDER, no max;
   * below its min 2 (jobs.urgent.min.render 4 scaled to 4 usable: the effective limit 8 less 4 held
   * back after a change of cluster leader): served first when a slot frees}.
   *
   * @param effective the pool's effective limit, named when it scaled the job's min
   * @param heldBack slots of the pool held back after a change of cluster leader, named when they
   *     scaled the job's min
   */
  static String jobDetail(ResourceKind kind, JobFacts job, int effective, int heldBack) {
    StringBuilder s = new StringBuilder("job ").append(job.name()).append(" holds ");
    s.append(job.held());
    if (job.max() > 0) {
      s.append('/').append(job.max()).append(' ').append(kind);
      s.append(" (").append(JobsConfig.Keys.max(job.name(), kind)).append(')');
    } else {
      s.append(' ').append(kind).append(", no max");
    }
    if (job.configuredMin() > 0) {
      s.append(job.held() < job.min() ? "; below its min " : "; at or above its min ");
      s.append(job.min());
      if (job.min() != job.configuredMin()) {
        s.append(" (").append(JobsConfig.Keys.min(job.name(), kind)).append(' ');
        s.append(job.configuredMin());
        if (heldBack == 0) {
          s.append(" scaled to the effective limit ").append(effective);
        } else {
          s.append(" scaled to ").append(Math.max(0, effective - heldBack)).append(" usable: the");
          s.append(" effective limit ").append(effective).append(" less ").append(heldBack);
          s.append(" held back after a change of cluster leader");
        }
        s.append(')');
      }
      if (job.held() < job.min()) {
        s.append(": served first when a slot frees");
      }
    }
    return s.toString();
  }

  /** A pool's state in words, e.g. {@code RENDER 8/8 in use, 3 queued}. */
  public static String poolDetail(ResourceKind kind, int inUse, int limit, int queued) {
    return kind + " " + inUse + "/" + limit + " in use, " + queued + " queued";
  }

  /**
   * Records a check (when {@code steps} is not null); returns its detail when it failed, null when
   * it passed. The detail is written only when a refusal or Explain shows it, so a grant builds no
   * text; for a refusal alone, not even then: the returned detail is written when the refusal's
   * {@link Decision.Refused#detail} is first read, after the broker's lock is released. So {@code
   * detail} must read only values captured when it was made, never live state.
   */
  private static Supplier<String> failed(
      List<Step> steps, String rule, boolean passed, Supplier<String> detail) {
    if (steps == null) {
      return passed ? null : detail;
    }
    String text = detail.get();
    steps.add(new Step(rule, passed, text));
    return passed ? null : () -> text;
  }
}
