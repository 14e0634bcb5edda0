package dev.berth.client.internal;

import java.util.HashSet;
import java.util.Set;

/**
 * What one caller has learned while looking for the leader since it last got through: the members
 * that did not answer (a hint naming one of them is stale: after a leader dies, the survivors name
 * it until they elect another), and how many hints it followed at once (which bounds a ping-pong
 * between members that name each other during an election). See {@link LeaderTargets#afterFailure}.
 *
 * <p>Not thread-safe: each session, and each unary call, keeps its own.
 */
final class LeaderSearch {
  private final Set<String> unreachable = new HashSet<>();
  private int hintsFollowed;

  /** The caller got through: what it learned no longer holds. */
  void reset() {
    unreachable.clear();
    hintsFollowed = 0;
  }

  void unreachable(String target) {
    unreachable.add(target);
  }

  boolean isUnreachable(String target) {
    return unreachable.contains(target);
  }

  Set<String> unreachable() {
    return unreachable;
  }

  /** Counts a hint followed; returns how many were followed before it since the last reset. */
  int followedHint() {
    return hintsFollowed++;
  }
}
