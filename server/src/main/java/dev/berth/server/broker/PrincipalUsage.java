package dev.berth.server.broker;

import dev.berth.server.config.PrincipalCaps;
import java.util.HashMap;
import java.util.Map;

/**
 * Sessions, leases and waiting requests per principal, for {@link PrincipalCaps}: a waiting bundle
 * is one request (one place against the queued cap) asking for several leases (each counted against
 * the lease cap). Not thread-safe: the broker guards it with its lock.
 */
final class PrincipalUsage {
  private static final int SESSIONS = 0;
  private static final int LEASES = 1;
  private static final int QUEUED = 2;
  private static final int QUEUED_ITEMS = 3;

  private final Map<String, int[]> usage = new HashMap<>();

  int sessions(String principal) {
    return get(principal, SESSIONS);
  }

  int leases(String principal) {
    return get(principal, LEASES);
  }

  /** Requests waiting, each once. */
  int queued(String principal) {
    return get(principal, QUEUED);
  }

  /** Leases the waiting requests ask for. */
  int queuedItems(String principal) {
    return get(principal, QUEUED_ITEMS);
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

  /** A request asking for {@code items} leases started waiting. */
  void enqueued(String principal, int items) {
    add(principal, QUEUED, 1);
    add(principal, QUEUED_ITEMS, items);
  }

  void dequeued(String principal, int items) {
    add(principal, QUEUED, -1);
    add(principal, QUEUED_ITEMS, -items);
  }

  private int get(String principal, int what) {
    int[] counts = usage.get(principal);
    return counts == null ? 0 : counts[what];
  }

  private void add(String principal, int what, int delta) {
    int[] counts = usage.computeIfAbsent(principal, p -> new int[4]);
    counts[what] += delta;
    if (counts[SESSIONS] == 0
        && counts[LEASES] == 0
        && counts[QUEUED] == 0
        && counts[QUEUED_ITEMS] == 0) {
      usage.remove(principal); // idle principals cost nothing
    }
  }
}
