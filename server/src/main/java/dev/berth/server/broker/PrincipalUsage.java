package dev.berth.server.broker;

import dev.berth.server.config.PrincipalCaps;
import java.util.HashMap;
import java.util.Map;

/**
 * Sessions, leases and waiting acquires per principal, for {@link PrincipalCaps}. Not thread-safe:
 * the broker guards it with its lock.
 */
final class PrincipalUsage {
  private static final int SESSIONS = 0;
  private static final int LEASES = 1;
  private static final int QUEUED = 2;

  private final Map<String, int[]> usage = new HashMap<>();

  int sessions(String principal) {
    return get(principal, SESSIONS);
  }

  int leases(String principal) {
    return get(principal, LEASES);
  }

  int queued(String principal) {
    return get(principal, QUEUED);
  }

  void sessionOpened(String principal) {
    add(principal, SESSIONS, 1);
  }

  void sessionEnded(String principal) {
    add(principal, SESSIONS, -1);
  }

  void leaseGranted(String principal) {
    add(principal, LEASES, 1);
  }

  void leaseEnded(String principal) {
    add(principal, LEASES, -1);
  }

  void enqueued(String principal) {
    add(principal, QUEUED, 1);
  }

  void dequeued(String principal) {
    add(principal, QUEUED, -1);
  }

  private int get(String principal, int what) {
    int[] counts = usage.get(principal);
    return counts == null ? 0 : counts[what];
  }

  private void add(String principal, int what, int delta) {
    int[] counts = usage.computeIfAbsent(principal, p -> new int[3]);
    counts[what] += delta;
    if (counts[SESSIONS] == 0 && counts[LEASES] == 0 && counts[QUEUED] == 0) {
      usage.remove(principal); // idle principals cost nothing
    }
  }
}
