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
 * <p>An id in the broker's own form (32 lower-case hex digits, {@code LeaseIds}) is kept as its 128
 * bits in two {@code long} columns, not as the String: a ring that kept every ended lease's id
 * String kept 100,000 young objects alive (with their byte arrays, about 7 MB), which each young
 * collection copied, and which more than doubled the collector's pauses under a steady lease cycle
 * (docs/benchmarks.md). Any other id (a test's, or one a client made up) is kept as it is.
 *
 * <p>Not thread-safe: the broker guards it with its lock.
 */
final class EndedLeases {
  private static final int INITIAL = 1024;

  private final int capacity;

  // The ring, oldest at head; a slot's columns describe one ended lease.
  /** The id's first 64 bits, when it is in the broker's form ({@link #others} null there). */
  private long[] highs;

  /** The id's last 64 bits, likewise. */
  private long[] lows;

  /** The id itself when it is not in the broker's form, else null. */
  private String[] others;

  private int[] hashes;
  private String[] sessionIds;

  private LeaseEnd[] ends;
  private RevokeReason[] reasons;

  private long[] endedAt;
  private int head;
  private int size;

  /**
   * By the id's hash: {@code hash << 32 | (ring slot + 1)}, 0 for empty; a power of two at least
   * twice the ring. The hash is kept in the entry so a probe reads one array and compares ids only
   * when the hashes match: dereferencing the ids of a large ring, most of them long out of the
   * CPU's caches, is what an index without them pays.
   */
  private long[] index;

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
    boolean own = isOwnForm(id);
    long high = own ? bits(id, 0) : 0;
    long low = own ? bits(id, 16) : 0;
    int hash = own ? hash(high, low) : hash(id);
    int at = find(id, own, high, low, hash);
    int slot;
    if (at >= 0) {
      slot = slotAt(at);
    } else {
      if (size == capacityNow()) {
        if (capacityNow() < capacity) {
          grow();
        } else {
          forgetOldest();
        }
        at = find(id, own, high, low, hash); // the index changed under it
      }
      slot = wrap(head + size);
      size++;
      highs[slot] = high;
      lows[slot] = low;
      others[slot] = own ? null : id;
      hashes[slot] = hash;
      index[-at - 1] = entry(hash, slot);
    }
    sessionIds[slot] = sessionId;
    ends[slot] = end;
    reasons[slot] = reason;
    endedAt[slot] = endedAtNanos;
  }

  /** How {@code id} ended, or null when it is unknown or forgotten. */
  LeaseTable.Ended get(String id) {
    boolean own = isOwnForm(id);
    long high = own ? bits(id, 0) : 0;
    long low = own ? bits(id, 16) : 0;
    int at = find(id, own, high, low, own ? hash(high, low) : hash(id));
    if (at < 0) {
      return null;
    }
    int slot = slotAt(at);
    return new LeaseTable.Ended(sessionIds[slot], ends[slot], reasons[slot], endedAt[slot]);
  }

  /** Forgets, oldest first, the leases that ended before {@code cutoffNanos}. */
  void forgetBefore(long cutoffNanos) {
    while (size > 0 && endedAt[head] < cutoffNanos) {
      forgetOldest();
    }
  }

  private void forgetOldest() {
    int mask = index.length - 1;
    long entry = entry(hashes[head], head);
    int p = hashes[head] & mask;
    while (index[p] != entry) {
      p = (p + 1) & mask;
    }
    unindex(p);
    others[head] = null;
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
  private int find(String id, boolean own, long high, long low, int hash) {
    int mask = index.length - 1;
    for (int p = hash & mask; ; p = (p + 1) & mask) {
      long e = index[p];
      if (e == 0) {
        return -p - 1;
      }
      if ((int) (e >>> 32) == hash && holds(slotOf(e), id, own, high, low)) {
        return p;
      }
    }
  }

  /** Whether ring slot {@code slot} holds the id given as {@code id} and its bits. */
  private boolean holds(int slot, String id, boolean own, long high, long low) {
    String other = others[slot];
    return own ? other == null && highs[slot] == high && lows[slot] == low : id.equals(other);
  }

  /** Whether {@code id} has the form the broker gives its ids: 32 lower-case hex digits. */
  static boolean isOwnForm(String id) {
    if (id.length() != 32) {
      return false;
    }
    for (int i = 0; i < 32; i++) {
      char c = id.charAt(i);
      if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }

  /** The 64 bits written by the 16 hex digits of {@code id} from {@code from}. */
  private static long bits(String id, int from) {
    long v = 0;
    for (int i = from; i < from + 16; i++) {
      char c = id.charAt(i);
      v = v << 4 | (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
  }

  /**
   * Empties index position {@code p}, moving back each later entry of its probe run that would no
   * longer be found past the gap (backward-shift deletion: no tombstones to wear the table down).
   */
  private void unindex(int p) {
    int mask = index.length - 1;
    int gap = p;
    for (int j = (p + 1) & mask; index[j] != 0; j = (j + 1) & mask) {
      int h = (int) (index[j] >>> 32) & mask;
      // The entry at j stays only if its home lies cyclically in (gap, j].
      boolean stays = gap <= j ? gap < h && h <= j : gap < h || h <= j;
      if (!stays) {
        index[gap] = index[j];
        gap = j;
      }
    }
    index[gap] = 0;
  }

  private static int hash(String id) {
    int h = id.hashCode() * 0x9E3779B9; // lease ids are random, but other callers' may not be
    return h ^ (h >>> 16);
  }

  private static int hash(long high, long low) {
    long h = (high ^ low * 0x9E3779B97F4A7C15L) * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }

  private static long entry(int hash, int slot) {
    return ((long) hash << 32) | (slot + 1);
  }

  private static int slotOf(long entry) {
    return (int) entry - 1;
  }

  private int slotAt(int p) {
    return slotOf(index[p]);
  }

  private int wrap(int slot) {
    return slot >= hashes.length ? slot - hashes.length : slot;
  }

  /** The ring's length now (it grows up to {@link #capacity}). */
  private int capacityNow() {
    return hashes.length;
  }

  /** Doubles the ring (up to the capacity), oldest first from slot 0, and rebuilds the index. */
  private void grow() {
    long[] oldHighs = highs;
    long[] oldLows = lows;
    String[] oldOthers = others;
    int[] oldHashes = hashes;
    String[] oldSessions = sessionIds;
    LeaseEnd[] oldEnds = ends;
    RevokeReason[] oldReasons = reasons;
    long[] oldAt = endedAt;
    int oldHead = head;
    int n = size;
    allocate((int) Math.min(capacity, 2L * oldHashes.length));
    int mask = index.length - 1;
    for (int i = 0; i < n; i++) {
      int from = (oldHead + i) % oldHashes.length;
      highs[i] = oldHighs[from];
      lows[i] = oldLows[from];
      others[i] = oldOthers[from];
      hashes[i] = oldHashes[from];
      sessionIds[i] = oldSessions[from];
      ends[i] = oldEnds[from];
      reasons[i] = oldReasons[from];
      endedAt[i] = oldAt[from];
      int p = hashes[i] & mask;
      while (index[p] != 0) {
        p = (p + 1) & mask;
      }
      index[p] = entry(hashes[i], i);
    }
    size = n;
  }

  private void allocate(int length) {
    highs = new long[length];
    lows = new long[length];
    others = new String[length];
    hashes = new int[length];
    sessionIds = new String[length];
    ends = new LeaseEnd[length];
    reasons = new RevokeReason[length];
    endedAt = new long[length];
    index = new long[Integer.highestOneBit(Math.max(2, length - 1)) << 2];
    head = 0;
    size = 0;
  }
}
