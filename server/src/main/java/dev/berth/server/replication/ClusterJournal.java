package dev.berth.server.replication;

import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.Journal;
import dev.berth.server.cluster.Batcher;
import dev.berth.server.cluster.ClusterSettings;
import dev.berth.server.cluster.RaftNode;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PolicyText;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster member's {@link Journal}: the broker's lease-state changes go to the journal of this
 * node's current leadership ({@link RaftNode#journal}, which drops them when the node does not
 * lead), and a grant of a pool is held back while the node may not grant ({@link
 * RaftNode#canGrant}: not the ready leader, the new-leader wait, a lapsed leader lease) or while K
 * grants of the pool await their commit. A pool's K is {@link
 * ClusterSettings#maxUncommittedGrantsFor} of the smaller of its limit in force and its limit in
 * the policy the cluster agrees on (the replicated one; the one this leader took over with until a
 * change is applied): a raised limit lets the leader run further ahead only once its record is
 * committed, because a new leader holds back K per pool from the policy its replica holds. A live
 * policy change on the leader is replicated whole.
 *
 * <p>Thread-safe; the broker calls it under its lock, and nothing here waits for the network.
 */
final class ClusterJournal implements Journal {
  private volatile boolean policySent;

  /** Whether a policy change of this leader's could not be replicated when it was made. */
  private volatile boolean policyUnsent;

  private static final Logger log = LoggerFactory.getLogger(ClusterJournal.class);

  private final Supplier<RaftNode> node;
  private final ClusterSettings settings;
  private final Supplier<Policy> inForce;

  /** Pool limits of the policy the cluster agrees on, by kind index; null before a leadership. */
  private volatile int[] agreedLimits;

  /** Grants stop while a handoff reads the broker's state and commits it. */
  private volatile boolean paused;

  /**
   * Fencing tokens left in the leader's epoch below which it asks the cluster for the next epoch:
   * 2^32, hours of grants at any rate a broker reaches, so the new epoch is in force long before
   * the old one runs out.
   */
  static final long RENEW_EPOCH_BELOW = 1L << 32;

  /**
   * Fencing tokens left below which grants wait for the next epoch: more than a bundle's most
   * items, so no grant ever needs an epoch the cluster has not committed.
   */
  static final long TOKENS_RESERVED = 16;

  /** Asks the cluster for the next epoch, without waiting (its record commits later). */
  private final Runnable renewEpoch;

  /** Whether the next epoch was asked for and has not come in force yet. */
  private final AtomicBoolean renewing = new AtomicBoolean();

  /**
   * @param inForce the broker's policy in force (read without its lock)
   * @param renewEpoch asks the cluster for this leadership's next fencing epoch; must not block
   */
  ClusterJournal(
      Supplier<RaftNode> node,
      ClusterSettings settings,
      Supplier<Policy> inForce,
      Runnable renewEpoch) {
    this.node = node;
    this.settings = settings;
    this.inForce = inForce;
    this.renewEpoch = renewEpoch;
  }

  /** The broker issues tokens from a new epoch (a new leadership, or this one renewed). */
  void epochInForce() {
    renewing.set(false);
  }

  /**
   * The policy the cluster agrees on changed: the one a new leadership took over with, or a
   * replicated one applied.
   */
  void agreedPolicy(Policy policy) {
    int[] limits = new int[ResourceKind.COUNT];
    for (ResourceKind kind : ResourceKind.values()) {
      limits[kind.index()] = policy.broker().limit(kind);
    }
    agreedLimits = limits;
  }

  /** K of {@code kind} now: see the class comment. */
  int maxUncommitted(ResourceKind kind) {
    int limit = inForce.get().broker().limit(kind);
    int[] agreed = agreedLimits;
    if (agreed != null) {
      limit = Math.min(limit, agreed[kind.index()]);
    }
    return settings.maxUncommittedGrantsFor(limit);
  }

  /** Stops (or lets go again) every grant: this member hands leadership off. */
  void pause(boolean pause) {
    paused = pause;
  }

  @Override
  public boolean handingOff() {
    return paused;
  }

  @Override
  public String holdsBack(ResourceKind kind, int alsoGranting, long tokensLeft, long nowNanos) {
    if (paused) {
      return "this cluster member is handing leadership to another; retry on the new leader";
    }
    if (tokensLeft < RENEW_EPOCH_BELOW) {
      if (renewing.compareAndSet(false, true)) {
        renewEpoch.run();
      }
      if (tokensLeft < TOKENS_RESERVED) {
        return "this leader's fencing-token epoch is used up and the cluster is committing the"
            + " next one; retry in a few milliseconds";
      }
    }
    RaftNode n = node.get();
    if (n == null || !n.canGrant(nowNanos)) {
      return "this cluster member may not grant now (it is not the ready leader, its new-leader"
          + " wait runs, or a majority has not answered it within cluster.leader_lease); retry"
          + " shortly";
    }
    return tailHoldsBack(n.journal(), kind, alsoGranting, maxUncommitted(kind));
  }

  /**
   * Why a grant of {@code kind} (and {@code alsoGranting} more of it) must wait for the leader's
   * uncommitted tail, {@code journal}, else null: its hold-back is not committed yet, or the pool's
   * uncommitted grants would reach {@code maxUncommitted} (its K). Either way the journal is urged
   * to send what waits, so the wait is short.
   */
  static String tailHoldsBack(
      Batcher journal, ResourceKind kind, int alsoGranting, int maxUncommitted) {
    if (journal.holdUncommitted()) {
      journal.urge();
      return "this new leader keeps slots free for grants its predecessor may have made, and that"
          + " hold is not committed to the cluster's log yet; retry in a few milliseconds";
    }
    int uncommitted = journal.uncommitted(FleetCodec.kind(kind));
    if (uncommitted + alsoGranting >= maxUncommitted) {
      // Group commit keeps what waits until the batch in flight commits; the pool needs it sooner.
      journal.urge();
      return uncommitted
          + " "
          + kind
          + " grants await their commit to the cluster's log"
          + (alsoGranting > 0 ? " and this request makes " + alsoGranting + " more" : "")
          + ", the most allowed ("
          + maxUncommitted
          + ": cluster.journal.max_uncommitted_grants, or the pool's limit over"
          + " cluster.journal.uncommitted_limit_divisor when that is more); retry in a few"
          + " milliseconds";
    }
    return null;
  }

  private void add(JournalEntry entry) {
    RaftNode n = node.get();
    if (n != null) {
      n.journal().add(entry);
    }
  }

  @Override
  public void sessionOpened(Fleet.SessionEntry session) {
    add(FleetCodec.opened(session));
  }

  @Override
  public void sessionEnded(String sessionId, String why) {
    add(FleetCodec.sessionEnded(sessionId, why));
  }

  @Override
  public void leaseGranted(Fleet.LeaseEntry lease) {
    add(FleetCodec.granted(lease));
  }

  @Override
  public void leaseEnded(String leaseId, LeaseEnd how, RevokeReason revokeReason) {
    add(FleetCodec.leaseEnded(leaseId, how, revokeReason));
  }

  @Override
  public void hostPenalty(Fleet.HostPenalty penalty) {
    add(FleetCodec.penalized(penalty));
  }

  @Override
  public void holdingBack(Fleet.HoldBack holdBack) {
    add(FleetCodec.holdingBack(holdBack));
  }

  /**
   * Whether this member, leading, has sent a policy to the log: the log then carries a live policy
   * (or soon will), and a handoff must carry the one in force.
   */
  boolean policySent() {
    return policySent;
  }

  /**
   * This member's leadership goes on with a new epoch (a renewal, or a failed transfer resumed): a
   * policy change it made while it could not replicate one is sent now.
   */
  void resendPolicy() {
    if (policyUnsent) {
      policyChanged(inForce.get());
    }
  }

  /** A new leadership of this member took the replica's policy: an earlier unsent one is gone. */
  void forgetUnsentPolicy() {
    policyUnsent = false;
  }

  @Override
  public void policyChanged(Policy policy) {
    RaftNode n = node.get();
    if (n == null) {
      return;
    }
    if (!n.replicatesPolicy()) {
      if (n.transferring()) {
        // Sent if the transfer fails and this leadership goes on (resendPolicy); lost if it
        // succeeds after the handoff record was read, like a change the leader made just before
        // it died.
        policyUnsent = true;
        log.warn("a policy change during a leadership transfer is in force on this member only");
      }
      return; // a follower's own reload: the leader's policy replaces it when this member leads
    }
    policyUnsent = false;
    policySent = true;
    var unused =
        n.replicatePolicy(PolicyText.encode(policy))
            .whenComplete(
                (index, error) -> {
                  if (error != null) {
                    log.warn(
                        "replicating the policy change failed; it is in force on this leader only"
                            + " and is lost if another member leads: {}",
                        error.toString());
                  } else {
                    log.info("policy change replicated at log index {}", index);
                  }
                });
  }
}
