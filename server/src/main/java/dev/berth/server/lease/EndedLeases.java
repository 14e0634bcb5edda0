package dev.berth.server.lease;

/**
 * How recently ended leases ended, by lease id: at most {@code capacity}, the oldest forgotten
 * first. A ring of columns in the order the leases ended, and an open-addressing index (linear
 * probing, backward-shift deletion) from id to ring slot; once grown, remembering an end allocates
 * nothing and forgetting the oldest is a few array writes. The broker ends a lease on every
 * release, so this sits on the lease cycle: a {@code LinkedHashMap} of up to {@code
 * leases.ended_remembered} (100,000) entries cost an entry, an {@link LeaseTable.Ended} record and
 * an eviction per release. The ring starts small and doubles up to {@code capacity}, so a quiet
 * broker does not pay for the bound.
 *
 * <p>Not thread-safe: the broker guards it with its lock.
 */
final class EndedLeases {
  private static final int INITIAL = 1024;

  private final int capacity;

  // The ring, oldest at head; a slot's columns describe one ended lease.
  private String[] ids;
  private String[] sessionIds;
  private LeaseEnd[] ends;
  private RevokeReason[] reasons;
  private long[] endedAt;
  private int head;
  private int size;

  /** Ring slot + 1 by the id's hash, 0 for empty; a power of two at least twice the ring. */
  private int[] index;

  EndedLeases(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity < 1: " + capacity);
    }
    this.capacity = capacity;
    allocate(Math.min(capacity, INITIAL));
  }

  /** How many ended leases are remembered. */
  int size() {
    return size;
  }

  /**
   * Remembers how {@code id} ended, forgetting the oldest when full. An id already remembered keeps
   * its place and takes the new facts, as a re-put into an insertion-ordered map would.
   */
  void add(String id, String sessionId, LeaseEnd end, RevokeReason reason, long endedAtNanos) {
    int at = find(id);
    int slot;
    if (at >= 0) {
      slot = index[at] - 1;
    } else {
      if (size == ids.length) {
        if (ids.length < capacity) {
          grow();
        } else {
          forgetOldest();
        }
        at = find(id); // the index changed under it
      }
      slot = wrap(head + size);
      size++;
      ids[slot] = id;
      index[-at - 1] = slot + 1;
    }
    sessionIds[slot] = sessionId;
    ends[slot] = end;
    reasons[slot] = reason;
    endedAt[slot] = endedAtNanos;
  }

  /** How {@code id} ended, or null when it is unknown or forgotten. */
  LeaseTable.Ended get(String id) {
    int at = find(id);
    if (at < 0) {
      return null;
    }
    int slot = index[at] - 1;
    return new LeaseTable.Ended(sessionIds[slot], ends[slot], reasons[slot], endedAt[slot]);
  }

  /** Forgets, oldest first, the leases that ended before {@code cutoffNanos}. */
  void forgetBefore(long cutoffNanos) {
    while (size > 0 && endedAt[head] < cutoffNanos) {
      forgetOldest();
    }
  }

  private void forgetOldest() {
    String id = ids[head];
    unindex(find(id));
    ids[head] = null;
    sessionIds[head] = null;
    ends[head] = null;
    reasons[head] = null;
    head = wrap(head + 1);
    size--;
  }

  /**
   * The index position holding {@code id}, or {@code -(p + 1)} for the empty position {@code p}
   * where it would go.
   */
  private int find(String id) {
    int mask = index.length - 1;
    for (int p = home(id, mask); ; p = (p + 1) & mask) {
      int e = index[p];
      if (e == 0) {
        return -p - 1;
      }
      if (ids[e - 1].equals(id)) {
        return p;
      }
    }
  }

  /**
   * Empties index position {@code p}, moving back each later entry of its probe run that would no
   * longer be found past the gap (backward-shift deletion: no tombstones to wear the table down).
   */
  private void unindex(int p) {
    int mask = index.length - 1;
    int gap = p;
    for (int j = (p + 1) & mask; index[j] != 0; j = (j + 1) & mask) {
      int h = home(ids[index[j] - 1], mask);
      // The entry at j stays only if its home lies cyclically in (gap, j].
      boolean stays = gap <= j ? gap < h && h <= j : gap < h || h <= j;
      if (!stays) {
        index[gap] = index[j];
        gap = j;
      }
    }
    index[gap] = 0;
  }

  private static int home(String id, int mask) {
    int h = id.hashCode() * 0x9E3779B9; // lease ids are random, but other callers' may not be
    return (h ^ (h >>> 16)) & mask;
  }

  private int wrap(int slot) {
    return slot >= ids.length ? slot - ids.length : slot;
  }

  /** Doubles the ring (up to the capacity), oldest first from slot 0, and rebuilds the index. */
  private void grow() {
    String[] oldIds = ids;
    String[] oldSessions = sessionIds;
    LeaseEnd[] oldEnds = ends;
    RevokeReason[] oldReasons = reasons;
    long[] oldAt = endedAt;
    int oldHead = head;
    int n = size;
    allocate((int) Math.min(capacity, 2L * oldIds.length));
    for (int i = 0; i < n; i++) {
      int from = (oldHead + i) % oldIds.length;
      ids[i] = oldIds[from];
      sessionIds[i] = oldSessions[from];
      ends[i] = oldEnds[from];
      reasons[i] = oldReasons[from];
      endedAt[i] = oldAt[from];
      index[-find(ids[i]) - 1] = i + 1;
    }
    size = n;
  }

  private void allocate(int length) {
    ids = new String[length];
    sessionIds = new String[length];
    ends = new LeaseEnd[length];
    reasons = new RevokeReason[length];
    endedAt = new long[length];
    index = new int[Integer.highestOneBit(Math.max(2, length - 1)) << 2];
    head = 0;
    size = 0;
  }
}
