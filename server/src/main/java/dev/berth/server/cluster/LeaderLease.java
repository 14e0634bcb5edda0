package dev.berth.server.cluster;

import java.util.Arrays;

/**
 * The leader-lease rule, a pure function of when the leader's acknowledged messages were sent.
 *
 * <p>A follower that answers a message resets its election timer when the message arrives, which is
 * after the leader sent it; from then on it refuses to help elect anyone else for at least the
 * minimum election timeout. So once a majority (the leader counts itself) answered messages sent at
 * or after instant {@code s}, no other leader can be elected before {@code s +
 * election_timeout_min}, and a leader that grants only while {@code now < s + lease}, with the
 * lease shorter than that timeout, grants only while it is the only leader. docs/cluster.md has the
 * whole argument, including the case this rule alone does not cover and the wait that does.
 */
final class LeaderLease {
  private LeaderLease() {}

  /**
   * Nanoseconds the lease still runs at {@code nowNanos} (zero or less: it has lapsed).
   *
   * @param ackSentNanos for each follower, when the latest message it answered was sent
   * @param members voting members, the leader included
   */
  static long remainingNanos(long nowNanos, long[] ackSentNanos, int members, long leaseNanos) {
    int needed = members / 2; // followers that, with the leader, make a majority
    if (needed == 0) {
      return leaseNanos;
    }
    if (ackSentNanos.length < needed) {
      return Long.MIN_VALUE;
    }
    // Ages rather than instants, so that nanoTime's wrap-around cannot reorder them.
    long[] ages = new long[ackSentNanos.length];
    for (int i = 0; i < ages.length; i++) {
      ages[i] = nowNanos - ackSentNanos[i];
    }
    Arrays.sort(ages);
    return leaseNanos - ages[needed - 1];
  }

  /** Whether the lease runs at {@code nowNanos}. */
  static boolean holds(long nowNanos, long[] ackSentNanos, int members, long leaseNanos) {
    return remainingNanos(nowNanos, ackSentNanos, members, leaseNanos) > 0;
  }
}
