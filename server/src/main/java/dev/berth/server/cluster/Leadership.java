package dev.berth.server.cluster;

/**
 * What this node's current leadership allows, as one immutable value that {@link RaftNode} swaps
 * whole, so that the grant check reads it without a lock.
 *
 * @param term the Raft term led; -1 when the node does not lead
 * @param phase where the leadership stands
 * @param electedAtNanos when this node learnt it had won the term
 * @param epoch the fencing epoch of this leadership; 0 before the first epoch record is applied
 * @param grantsFromNanos the first instant at which it may grant (after the new-leader wait)
 * @param journal the journal of this leadership; a closed one before it is ready
 * @param writer what this leadership appends with (null when not leading): one per leadership,
 *     closed when it ends, so that no record of an ended leadership is written in a later one
 */
record Leadership(
    long term,
    Phase phase,
    long electedAtNanos,
    long epoch,
    long grantsFromNanos,
    Batcher journal,
    OwnLogWriter writer) {

  /** The stages of one leadership. */
  enum Phase {
    /** Not leading. */
    NONE,
    /** Won the election; its epoch record is not applied yet. Grants nothing. */
    ELECTED,
    /** Its epoch is applied: it grants from {@code grantsFromNanos}, while the lease holds. */
    READY,
    /** Handing off or transferring leadership. Grants nothing again until a new epoch. */
    TRANSFERRING,
    /** Waiting for a new epoch record of the same term to be applied. Grants nothing. */
    REEPOCHING,
    /** Its journal failed; it steps down. Grants nothing. */
    FAILED
  }

  static Leadership none(Batcher closedJournal) {
    return new Leadership(-1, Phase.NONE, 0, 0, 0, closedJournal, null);
  }

  /** Whether its phase and the new-leader wait let it grant at {@code nowNanos}. */
  boolean allowsGrants(long nowNanos) {
    return phase == Phase.READY && nowNanos - grantsFromNanos >= 0;
  }

  Leadership with(Phase next) {
    return new Leadership(term, next, electedAtNanos, epoch, grantsFromNanos, journal, writer);
  }

  Leadership ready(long newEpoch, long grantsFrom, Batcher readyJournal) {
    return new Leadership(
        term, Phase.READY, electedAtNanos, newEpoch, grantsFrom, readyJournal, writer);
  }
}
