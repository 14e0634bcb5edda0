package dev.berth.server.replication;

import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.Journal;
import dev.berth.server.cluster.Batcher;
import dev.berth.server.cluster.RaftNode;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PolicyText;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster member's {@link Journal}: the broker's lease-state changes go to the journal of this
 * node's current leadership ({@link RaftNode#journal}, which drops them when the node does not
 * lead), and a grant of a pool is held back while the node may not grant ({@link
 * RaftNode#canGrant}: not the ready leader, the new-leader wait, a lapsed leader lease) or while K
 * grants of the pool await their commit ({@code cluster.journal.max_uncommitted_grants}). A live
 * policy change on the leader is replicated whole.
 *
 * <p>Thread-safe; the broker calls it under its lock, and nothing here waits for the network.
 */
final class ClusterJournal implements Journal {
  private static final Logger log = LoggerFactory.getLogger(ClusterJournal.class);

  private final Supplier<RaftNode> node;
  private final int maxUncommitted;

  /** Grants stop while a handoff reads the broker's state and commits it. */
  private volatile boolean paused;

  ClusterJournal(Supplier<RaftNode> node, int maxUncommitted) {
    this.node = node;
    this.maxUncommitted = maxUncommitted;
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
  public String holdsBack(ResourceKind kind, int alsoGranting, long nowNanos) {
    if (paused) {
      return "this cluster member is handing leadership to another; retry on the new leader";
    }
    RaftNode n = node.get();
    if (n == null || !n.canGrant(nowNanos)) {
      return "this cluster member may not grant now (it is not the ready leader, its new-leader"
          + " wait runs, or a majority has not answered it within cluster.leader_lease); retry"
          + " shortly";
    }
    Batcher journal = n.journal();
    int uncommitted = journal.uncommitted(FleetCodec.kind(kind));
    if (uncommitted + alsoGranting >= maxUncommitted) {
      return uncommitted
          + " "
          + kind
          + " grants await their commit to the cluster's log"
          + (alsoGranting > 0 ? " and this request makes " + alsoGranting + " more" : "")
          + ", the most allowed (cluster.journal.max_uncommitted_grants "
          + maxUncommitted
          + "); retry in a few milliseconds";
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
  public void policyChanged(Policy policy) {
    RaftNode n = node.get();
    if (n == null || n.leaderEpoch() == 0) {
      return; // a follower's own reload: the leader's policy replaces it when this member leads
    }
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
