package dev.berth.server.cluster;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One node's view of its cluster at one moment, for status and metrics. Immutable.
 *
 * @param self this node's id
 * @param role what it does now
 * @param term the Raft term it knows
 * @param leaderId the leader it knows; empty when none
 * @param leaderApi the leader's API address; empty when none
 * @param epoch the fencing epoch in force in its replica
 * @param ready whether it leads and may grant right now (epoch committed, lease held)
 * @param commitIndex the last log index it knows to be committed
 * @param appliedIndex the last log index its replica applied
 * @param uncommittedEntries lease-state changes this leader journaled that the log has not
 *     committed yet (buffered or in flight): what its crash now could lose; 0 on a follower
 * @param members every member as this node sees it
 */
public record ClusterStatus(
    String self,
    ClusterRole role,
    long term,
    String leaderId,
    String leaderApi,
    long epoch,
    boolean ready,
    long commitIndex,
    long appliedIndex,
    long uncommittedEntries,
    List<Member> members) {

  public ClusterStatus {
    members = List.copyOf(members);
  }

  /** How far this node's replica trails what it knows to be committed. */
  public long applyLag() {
    return Math.max(0, commitIndex - appliedIndex);
  }

  /**
   * One member as seen from this node.
   *
   * @param id its id
   * @param api its API address
   * @param commitIndex the commit index it last reported to this node; -1 when unknown
   * @param lag entries it trails this node's commit index; -1 when unknown (only the leader hears
   *     from every member)
   * @param dashboard its dashboard URL; empty when not configured
   * @param unansweredFor on the leader, how long ago the member's latest answer to it was sent
   *     (from the election when none came since); empty on other nodes and for the leader itself
   */
  public record Member(
      String id,
      String api,
      long commitIndex,
      long lag,
      String dashboard,
      Optional<Duration> unansweredFor) {
    public Member {
      requireNonNull(dashboard, "dashboard");
      requireNonNull(unansweredFor, "unansweredFor");
    }

    /** A member whose dashboard URL is not configured, as a node that does not lead sees it. */
    public Member(String id, String api, long commitIndex, long lag) {
      this(id, api, commitIndex, lag, "", Optional.empty());
    }
  }
}
