package dev.berth.server.admission;

import dev.berth.server.config.BrokerConfig;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.Durations;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The admission checks of one acquire, in the order of DESIGN §3: draining, memory pressure, the
 * per-host rate, the per-session limit, the pool's effective limit. The first that fails decides. A
 * pure function of the facts it is given, so Acquire and the admin Explain share it and tests need
 * no broker; {@link AdmissionController} gathers the facts.
 */
public final class Admission {
  /** The name of each pool's check, made once (a grant must not build strings). */
  private static final Map<ResourceKind, String> POOL_RULE = new EnumMap<>(ResourceKind.class);

  static {
    for (ResourceKind kind : ResourceKind.values()) {
      POOL_RULE.put(kind, "pool " + kind);
    }
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
    /** The pool is at its effective limit: nobody behind can be granted either. */
    POOL_FULL;

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
      return this == FLEET_MEMORY || this == POOL_FULL;
    }
  }

  /** The outcome of the checks: a refusal (null when granted) and what blocks. */
  public record Verdict(Decision.Refused refusal, Blocker blocker) {
    public static final Verdict GRANT = new Verdict(null, Blocker.NONE);
  }

  /** One check and its verdict, for Explain. */
  public record Step(String rule, boolean passed, String detail) {}

  /**
   * The state the checks read.
   *
   * @param brokerDraining the broker refuses new grants
   * @param sessionDraining the session refuses new grants
   * @param sessionId for details
   * @param holdsWasm the session already holds a WASM instance (returned again)
   * @param heldOfKind leases of the requested kind the session holds
   * @param inUse leases of the requested kind in use fleet-wide
   * @param queued acquires of the requested kind waiting
   * @param effectiveLimit the pool's limit now (lowered while degraded)
   * @param limitReason why the effective limit differs from the configured one, or empty
   * @param memory the memory check's state
   * @param rateWaitNanos nanoseconds until the host has a token; 0 when it has one or is not
   *     rate-limited
   * @param rateLimited the acquire's host has a rate limit
   * @param rateDetail the host rule in words, e.g. {@code host example.com: 2.0/s, next token in
   *     340ms}; built only when a refusal or Explain shows it, since a grant never does
   * @param recoveryNanosLeft after a restart, how long leases of the previous run may still be
   *     re-declared (no new grants until then); 0 otherwise
   */
  public record Facts(
      boolean brokerDraining,
      boolean sessionDraining,
      String sessionId,
      boolean holdsWasm,
      int heldOfKind,
      int inUse,
      int queued,
      int effectiveLimit,
      String limitReason,
      Memory memory,
      long rateWaitNanos,
      boolean rateLimited,
      Supplier<String> rateDetail,
      long recoveryNanosLeft) {}

  /**
   * The memory facts of one acquire.
   *
   * @param fleetBlocked fleet or broker-heap pressure is on
   * @param workerBlocked the acquiring worker's own pressure is on
   * @param detail the trigger in words
   * @param retryAfterNanos when asking again makes sense (the next heartbeat)
   */
  public record Memory(
      boolean fleetBlocked, boolean workerBlocked, String detail, long retryAfterNanos) {
    public static final Memory NONE = new Memory(false, false, "no memory pressure", 0);
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

    boolean draining = facts.brokerDraining() || facts.sessionDraining();
    String drainDetail =
        facts.brokerDraining()
            ? "broker is draining"
            : facts.sessionDraining()
                ? "session " + facts.sessionId() + " is draining"
                : "not draining";
    if (failed(steps, "draining", !draining, () -> drainDetail) != null) {
      return new Verdict(
          new Decision.Refused(
              RefusalReason.DRAINING, config.drainDeadline().toNanos(), drainDetail),
          Blocker.DRAINING);
    }

    if (kind == ResourceKind.WASM && facts.holdsWasm()) {
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
                RefusalReason.MEMORY_PRESSURE, memory.retryAfterNanos(), memory.detail()),
            memory.fleetBlocked() ? Blocker.FLEET_MEMORY : Blocker.WORKER_MEMORY);
      }
    }

    if (facts.rateLimited()) {
      String refused = failed(steps, "host rate", facts.rateWaitNanos() == 0, facts.rateDetail());
      if (refused != null) {
        return new Verdict(
            new Decision.Refused(RefusalReason.RATE_LIMITED, facts.rateWaitNanos(), refused),
            Blocker.RATE_LIMITED);
      }
    }

    long recovery = facts.recoveryNanosLeft();
    String recovering =
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
          new Decision.Refused(RefusalReason.EXHAUSTED, recovery, recovering), Blocker.POOL_FULL);
    }

    int perSession = config.perSessionLimit(kind);
    if (perSession > 0) {
      String refused =
          failed(
              steps,
              "session limit",
              facts.heldOfKind() < perSession,
              () ->
                  "session "
                      + facts.sessionId()
                      + " holds "
                      + facts.heldOfKind()
                      + "/"
                      + perSession
                      + " "
                      + kind);
      if (refused != null) {
        return new Verdict(
            new Decision.Refused(RefusalReason.EXHAUSTED, retryAfter, refused),
            Blocker.SESSION_LIMIT);
      }
    }

    String refused =
        failed(
            steps,
            POOL_RULE.get(kind),
            facts.inUse() < facts.effectiveLimit(),
            () ->
                poolDetail(kind, facts.inUse(), facts.effectiveLimit(), facts.queued())
                    + (facts.limitReason().isEmpty() ? "" : " (" + facts.limitReason() + ")"));
    if (refused != null) {
      return new Verdict(
          new Decision.Refused(RefusalReason.EXHAUSTED, retryAfter, "pool " + refused),
          Blocker.POOL_FULL);
    }
    return Verdict.GRANT;
  }

  /** A pool's state in words, e.g. {@code RENDER 8/8 in use, 3 queued}. */
  public static String poolDetail(ResourceKind kind, int inUse, int limit, int queued) {
    return kind + " " + inUse + "/" + limit + " in use, " + queued + " queued";
  }

  /**
   * Records a check (when {@code steps} is not null); returns its detail when it failed, null when
   * it passed. The detail is written only when a refusal or Explain shows it, so a grant builds no
   * text.
   */
  private static String failed(
      List<Step> steps, String rule, boolean passed, Supplier<String> detail) {
    if (passed && steps == null) {
      return null;
    }
    String text = detail.get();
    if (steps != null) {
      steps.add(new Step(rule, passed, text));
    }
    return passed ? null : text;
  }
}
