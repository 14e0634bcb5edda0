package dev.berth.server.admission;

import dev.berth.server.config.BrokerConfig;
import dev.berth.server.lease.ResourceKind;
import java.util.List;

/**
 * The admission checks of one acquire, in the order of DESIGN §3; the first that fails decides. A
 * pure function of the facts it is given, so Acquire and the admin Explain share it and tests need
 * no broker.
 */
public final class Admission {
  private Admission() {}

  /** What stops a grant now, and whether waiting in the queue can help. */
  public enum Blocker {
    /** Nothing: grant. */
    NONE(false),
    /** The broker or the session is draining; waiting does not help. */
    DRAINING(false),
    /** The session holds its per-session limit; it waits for its own releases. */
    SESSION_LIMIT(true),
    /** The fleet-wide pool is full; wait in the queue. */
    POOL_FULL(true);

    private final boolean waitable;

    Blocker(boolean waitable) {
      this.waitable = waitable;
    }

    public boolean waitable() {
      return waitable;
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
   */
  public record Facts(
      boolean brokerDraining,
      boolean sessionDraining,
      String sessionId,
      boolean holdsWasm,
      int heldOfKind,
      int inUse,
      int queued) {}

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
    if (step(steps, "draining", !draining, drainDetail)) {
      return new Verdict(
          new Decision.Refused(
              RefusalReason.DRAINING, config.drainDeadline().toNanos(), drainDetail),
          Blocker.DRAINING);
    }

    if (kind == ResourceKind.WASM && facts.holdsWasm()) {
      step(steps, "wasm one-per-session", true, "the session's WASM instance is returned again");
      return Verdict.GRANT;
    }

    int perSession = config.perSessionLimit(kind);
    if (perSession > 0) {
      String detail =
          "session "
              + facts.sessionId()
              + " holds "
              + facts.heldOfKind()
              + "/"
              + perSession
              + " "
              + kind;
      if (step(steps, "session limit", facts.heldOfKind() < perSession, detail)) {
        return new Verdict(
            new Decision.Refused(RefusalReason.EXHAUSTED, retryAfter, detail),
            Blocker.SESSION_LIMIT);
      }
    }

    int limit = config.limit(kind);
    String poolDetail = poolDetail(kind, facts.inUse(), limit, facts.queued());
    if (step(steps, "pool " + kind, facts.inUse() < limit, poolDetail)) {
      return new Verdict(
          new Decision.Refused(RefusalReason.EXHAUSTED, retryAfter, "pool " + poolDetail),
          Blocker.POOL_FULL);
    }
    return Verdict.GRANT;
  }

  /** A pool's state in words, e.g. {@code RENDER 8/8 in use, 3 queued}. */
  public static String poolDetail(ResourceKind kind, int inUse, int limit, int queued) {
    return kind + " " + inUse + "/" + limit + " in use, " + queued + " queued";
  }

  /** Records a check; returns true when it failed. */
  private static boolean step(List<Step> steps, String rule, boolean passed, String detail) {
    if (steps != null) {
      steps.add(new Step(rule, passed, detail));
    }
    return !passed;
  }
}
