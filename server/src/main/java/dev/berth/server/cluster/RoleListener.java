package dev.berth.server.cluster;

import java.util.Optional;

/**
 * Hears what this node's role in the cluster is. Calls arrive in order on one thread of the cluster
 * layer, never on a Raft thread, so a slow listener delays later notifications but never Raft. A
 * listener that throws is logged and keeps receiving.
 */
public interface RoleListener {

  /**
   * This node won the election for {@code term}. It must not grant yet: it first commits a new
   * epoch ({@link #leaderReady}).
   */
  default void elected(long term) {}

  /**
   * This node leads {@code term} and its epoch record is applied: every record of earlier terms has
   * been handed to the {@link ReplicaSink}, and fencing tokens of this leadership start with {@code
   * epoch}. May come again within one term when the epoch advances.
   */
  void leaderReady(long term, long epoch);

  /**
   * This node does not lead (any more): it follows {@code leader}, or no leader is known yet
   * (empty) while an election runs.
   */
  void following(Optional<Peer> leader);

  /**
   * Raft stopped this node by itself (after a JVM pause longer than {@code pause_fatal_after}, a
   * log it cannot write, or a record its replica could not apply). The node serves nothing from now
   * on; the daemon should exit so that a supervisor restarts it.
   */
  void fatal(String reason, Throwable cause);
}
