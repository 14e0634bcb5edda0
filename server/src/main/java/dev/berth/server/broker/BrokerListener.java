package dev.berth.server.broker;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.performance.LimitChange;

/**
 * Observes what the broker decides, for metrics, statistics and the admin event stream. Called
 * outside the broker's lock, on the thread that caused the event; implementations must be quick and
 * must not block or throw.
 *
 * <p>The broker calls the overloads that name the job (the job the session runs as); by default
 * they forward to the overloads without it, so a listener overrides whichever it needs.
 */
public interface BrokerListener {

  default void granted(Lease lease, String workerId) {}

  /** A lease was granted to a session of {@code job}. */
  default void granted(Lease lease, String workerId, String job) {
    granted(lease, workerId);
  }

  /**
   * A lease a resuming worker re-declared after a restart or failover was kept with its id and
   * token (no new grant); by default reported as {@link #granted(Lease, String, String)}.
   */
  default void readmitted(Lease lease, String workerId, String job) {
    granted(lease, workerId, job);
  }

  default void refused(AcquireSpec spec, Decision.Refused refusal) {}

  /**
   * A request of a session of {@code job} was refused; for a bundle, {@code spec} is the item that
   * decided.
   */
  default void refused(AcquireSpec spec, Decision.Refused refusal, String job) {
    refused(spec, refusal);
  }

  /** A lease ended; {@code outcome} is what the holder reported, or UNKNOWN. */
  default void ended(Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome) {}

  /** A lease of a session of {@code job} ended; see the overload without the job. */
  default void ended(
      Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome, String job) {
    ended(lease, how, revokeReason, outcome);
  }

  default void sessionOpened(String sessionId, String workerId, boolean resumed) {}

  /** A session of {@code job} opened, or was resumed. */
  default void sessionOpened(String sessionId, String workerId, boolean resumed, String job) {
    sessionOpened(sessionId, workerId, resumed);
  }

  /** A session ended by expiry ({@code expired}) or goodbye. */
  default void sessionEnded(String sessionId, String workerId, boolean expired) {}

  /** A session of {@code job} ended; see the overload without the job. */
  default void sessionEnded(String sessionId, String workerId, boolean expired, String job) {
    sessionEnded(sessionId, workerId, expired);
  }

  /** Memory pressure moved, fleet-wide or for some workers. */
  default void pressureChanged(PressureChange change) {}

  /** Degradation moved a pool's effective limit. */
  default void limitChanged(LimitChange change) {}

  /**
   * An operator changed the policy: an {@code UpdateLimits} call, or a configuration reload that
   * changed keys; {@code detail} says what, in words.
   */
  default void limitsUpdated(String detail) {}

  /**
   * This broker started to lead its cluster ({@code leads}, with the fencing {@code epoch} it
   * grants from) or stopped leading it; {@code detail} says so in words.
   */
  default void leadershipChanged(boolean leads, long epoch, String detail) {}
}
