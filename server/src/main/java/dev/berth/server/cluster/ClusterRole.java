package dev.berth.server.cluster;

/** The part a node plays in its cluster at one moment. */
public enum ClusterRole {
  /** It leads; it grants once its epoch is committed and while its leader lease holds. */
  LEADER,
  /** It follows a leader, or waits for one to be elected. */
  FOLLOWER,
  /** It stands for election. */
  CANDIDATE,
  /** Its Raft server is not running (not started, closed, or stopped after a fatal failure). */
  STOPPED
}
