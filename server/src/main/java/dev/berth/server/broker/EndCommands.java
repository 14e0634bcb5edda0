package dev.berth.server.broker;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AdmissionController;
import dev.berth.server.broker.Broker.EndResult;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.LeaseTable;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.settings.Durations;

/**
 * Ending single leases: a worker's release, an operator's revoke, and the broker's own revokes (max
 * hold, idle WASM). The freed capacity goes to the lease's queue at once. Every method is called
 * with the lock held.
 */
final class EndCommands {
  private final BrokerState state;
  private final AcquireCommands acquires;

  EndCommands(BrokerState state, AcquireCommands acquires) {
    this.state = state;
    this.acquires = acquires;
  }

  /** See {@link Broker#release}; the holder's session has been expired first if it was due. */
  @GuardedBy("state.lock")
  EndResult release(
      String sessionId, String leaseId, String principal, Outcome outcome, long now, Effects fx) {
    Lease lease = state.leases.get(leaseId);
    if (lease == null) {
      return alreadyEnded(leaseId, sessionId);
    }
    if (!lease.sessionId().equals(sessionId)) {
      throw BrokerException.denied("lease_id: lease " + leaseId + " belongs to another session");
    }
    Session session = state.sessions.get(sessionId);
    if (session != null && !session.principal().equals(principal)) {
      throw BrokerException.denied(
          "session_id: session " + sessionId + " belongs to another principal");
    }
    end(lease, LeaseEnd.RELEASED, null, outcome, now, fx);
    return new EndResult(true, LeaseEnd.RELEASED, null);
  }

  /**
   * Ends a live lease of a resumed session that its worker's complete declaration leaves out: the
   * worker released it (the release never reached the broker, or its end was never committed before
   * a change of leader), so it ends as released, with no outcome.
   */
  @GuardedBy("state.lock")
  void endUndeclared(Lease lease, long now, Effects fx) {
    end(lease, LeaseEnd.RELEASED, null, Outcome.UNKNOWN, now, fx);
  }

  /** See {@link Broker#revoke}. */
  @GuardedBy("state.lock")
  EndResult revoke(String leaseId, RevokeReason reason, long graceNanos, long now, Effects fx) {
    Lease lease = state.leases.get(leaseId);
    if (lease == null) {
      return alreadyEnded(leaseId, null);
    }
    LeaseEnd how = revoke(lease, reason, graceNanos, now, fx);
    return new EndResult(true, how, reason);
  }

  /**
   * How a lease that is no longer live ended.
   *
   * @param sessionId the asking session, or null for an operator
   */
  @GuardedBy("state.lock")
  private EndResult alreadyEnded(String leaseId, String sessionId) {
    LeaseTable.Ended ended = state.leases.ended(leaseId);
    if (ended == null) {
      throw BrokerException.notFound(
          "lease_id: no lease "
              + leaseId
              + " (never granted, or ended more than "
              + Durations.format(state.config.endedLeaseMemory())
              + " ago)");
    }
    if (sessionId != null && !ended.sessionId().equals(sessionId)) {
      throw BrokerException.denied("lease_id: lease " + leaseId + " belongs to another session");
    }
    return new EndResult(false, ended.end(), ended.revokeReason());
  }

  /** Ends a lease on the broker's initiative and tells its holder; returns how it ended. */
  @GuardedBy("state.lock")
  LeaseEnd revoke(Lease lease, RevokeReason reason, long graceNanos, long now, Effects fx) {
    LeaseEnd how = reason == RevokeReason.MAX_HOLD ? LeaseEnd.MAX_HOLD : LeaseEnd.REVOKED;
    end(lease, how, reason, Outcome.UNKNOWN, now, fx);
    Session session = state.sessions.get(lease.sessionId());
    if (session != null && session.channel() != null) {
      SessionChannel channel = session.channel();
      long commandId = session.nextCommandId();
      fx.add(() -> channel.revoke(commandId, lease.id(), reason, graceNanos));
    }
    return how;
  }

  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  private void end(
      Lease lease, LeaseEnd how, RevokeReason reason, Outcome outcome, long now, Effects fx) {
    state.leases.end(lease.id(), how, reason, now);
    state.journalEnded(lease, how, reason);
    Session holder = state.sessions.get(lease.sessionId());
    String job = "";
    if (holder != null) {
      state.usage.leaseEnded(holder.principal());
      holder.job().leaseEnded(lease.kind());
      job = holder.job().name();
    }
    state.wasmUse.ended(lease.id());
    // Identity: UNKNOWN stands for "none reported", and a reported outcome may equal it in value
    // (a success with no duration or status), which still counts.
    @SuppressWarnings("ReferenceEquality")
    boolean reported = outcome != Outcome.UNKNOWN;
    boolean slowed = false;
    if (reported) {
      state.admission.reported(lease, outcome, now);
      int status = outcome.httpStatus();
      if ((status == 429 || status == 503)
          && AdmissionController.rateLimited(lease.kind(), lease.host())) {
        slowed = true;
        Fleet.HostPenalty penalty =
            new Fleet.HostPenalty(
                lease.host(),
                status,
                outcome.retryAfterNanos() / 1_000_000,
                state.time.wallTime().toEpochMilli());
        state.penalties.remove(lease.host()); // re-inserted last: the most recent
        state.penalties.put(lease.host(), penalty);
        if (state.journaling) {
          state.journal.hostPenalty(penalty);
        }
      }
    }
    String jobName = job;
    state.tell(l -> l.ended(lease, how, reason, outcome, jobName), fx);
    acquires.pump(lease.kind(), now, fx);
    if (slowed) {
      // The host's bucket is shared by RENDER and PDF: the other kind's waiters for it may now
      // see their token only after their wait ends, and are answered at once (AcquireCommands).
      for (ResourceKind kind : ResourceKind.values()) {
        if (kind != lease.kind() && AdmissionController.rateLimited(kind, lease.host())) {
          acquires.pump(kind, now, fx);
        }
      }
    }
  }
}
