package dev.berth.server.broker;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.CleanupTarget;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionChannel;

/**
 * The periodic sweep: sessions past their TTL, leases past their max hold, idle WASM instances,
 * memory pressure and cleanup requests, degradation-adjusted limits, and forgetting ended leases.
 * Called with the lock held.
 */
final class Housekeeping {
  private final BrokerState state;
  private final SessionCommands sessions;
  private final AcquireCommands acquires;
  private final EndCommands ends;

  Housekeeping(
      BrokerState state, SessionCommands sessions, AcquireCommands acquires, EndCommands ends) {
    this.state = state;
    this.sessions = sessions;
    this.acquires = acquires;
    this.ends = ends;
  }

  /** Ends what is due and re-evaluates pressure and limits; see {@link Broker#sweep}. */
  // Lock held: sessions, ends and acquires share this BrokerState, so their state.lock is the lock
  // held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  void sweep(long now, Effects fx) {
    sessions.expireOverdue(now, fx);
    for (Lease lease : state.leases.expiredAt(now)) {
      ends.revoke(lease, RevokeReason.MAX_HOLD, 0, now, fx);
    }
    revokeIdle(now, fx);
    checkMemory(now, fx);
    for (LimitChange change : state.admission.tick(state.config, now)) {
      state.tell(l -> l.limitChanged(change), fx);
      if (change.to() > change.from()) {
        acquires.pump(change.kind(), now, fx);
      }
    }
    state.leases.forgetEndedBefore(now - state.config.endedLeaseMemory().toNanos());
  }

  /**
   * Re-evaluates memory pressure (the broker's heap included): announces transitions, lets waiting
   * acquires go when pressure lifts, and asks the heaviest workers to free memory while it lasts.
   */
  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  private void checkMemory(long now, Effects fx) {
    PressureChange change =
        state.admission.evaluateMemory(now, state.heap.usedBytes(), state.heap.maxBytes());
    if (change.changed()) {
      state.tell(l -> l.pressureChanged(change), fx);
      if (change.turnedOff() || change.workers().stream().anyMatch(w -> w.turnedOff())) {
        acquires.pumpMemoryBound(now, fx);
      }
    }
    // A bundle held by its items' memory fits again without any level changing, e.g. when a
    // worker's hello raised the fleet's limit or an ended session's usage left it.
    acquires.pumpIfBundlesHeldByMemory(now, fx);
    for (CleanupTarget target : state.admission.cleanupTargets(now)) {
      Session session = state.sessions.get(target.sessionId());
      SessionChannel channel = session != null ? session.channel() : null;
      if (channel != null) {
        long commandId = session.nextCommandId();
        fx.add(() -> channel.cleanup(commandId, target.targetFreeMb(), target.reason()));
      }
    }
  }

  /**
   * Revokes WASM leases unused for longer than the idle timeout — the original resource manager's
   * stale-instance cleanup. The holder is told (reason IDLE) and may acquire again when it next
   * needs an instance.
   */
  // Lock held: ends shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  private void revokeIdle(long now, Effects fx) {
    long timeout = state.modules.idleTimeout().toNanos();
    if (timeout <= 0) {
      return;
    }
    for (String leaseId : state.wasmUse.idleSince(now - timeout)) {
      Lease lease = state.leases.get(leaseId);
      if (lease == null) {
        state.wasmUse.ended(leaseId);
      } else {
        ends.revoke(lease, RevokeReason.IDLE, state.config.revokeGrace().toNanos(), now, fx);
      }
    }
  }
}
