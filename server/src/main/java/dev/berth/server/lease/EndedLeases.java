package dev.berth.server.lease;

import java.util.Arrays;

/**
 * How recently ended leases ended, by lease id: the last {@code capacity} ends at most, the oldest
 * forgotten first, for late and repeated releases. An id added twice takes two places, and a lookup
 * answers its newest end (the broker ends a lease once, and does not resume one it remembers as
 * ended).
 *
 * <p>The broker ends a lease on every release, so remembering an end sits on the lease cycle, while
 * a lookup is rare (a release that comes after its lease ended). The ends are kept in order in
 * chunks (of 8,192 ends, fewer for a small capacity), each with its own small open-addressing index
 * (linear probing, half full at most; an entry keeps the rest of the id's hash beside the slot, so
 * a probe past another id reads no column), so remembering an end writes into the newest chunk
 * only, whose columns and index stay in the processor's caches; forgetting the oldest end is a step
 * of a counter; and a chunk whose ends are all forgotten is cleared and reused. A lookup probes
 * each chunk's index, newest first: at most 14 chunks at the default capacity of 100,000, and 18 at
 * any capacity (above 131,072 the chunks grow with it). One index over all the ends, as before,
 * cost two probes per release at random places in a 2 MB array, most of them out of the caches:
 * about 400 ns of the broker lock's hold per release at the median (docs/benchmarks.md).
 *
 * <p>An id in the broker's own form (32 lower-case hex digits, {@code LeaseIds}) is kept as its 128
 * bits in two {@code long} columns, not as the String: keeping every ended lease's id String kept
 * 100,000 young objects alive (about 7 MB with their byte arrays), which each young collection
 * copied. Any other id (a test's, or one a client made up) is kept as it is.
 *
 * <p>Not thread-safe: the broker guards it with its lock.
 */
final class EndedLeases {
  /** Chunks are this long at least (for a capacity of that or more) ... */
  private static final int MIN_CHUNK = 8192;

  /** ... and long enough that at most this many hold the capacity, so a lookup stays bounded. */
  private static final int MAX_FULL_CHUNKS = 16;

  /** The value of each hex digit the broker writes ({@code 0-9a-f}); -1 for any other char. */
  private static final byte[] DIGIT = new byte[128];

  static {
    Arrays.fill(DIGIT, (byte) -1);
    for (int c = '0'; c <= '9'; c++) {
      DIGIT[c] = (byte) (c - '0');
    }
    for (int c = 'a'; c <= 'f'; c++) {
      DIGIT[c] = (byte) (c - 'a' + 10);
    }
  }

  private final int capacity;
  private final int chunkSize;
  private final int shift;

  /**
   * The bits of an index entry that hold {@code slot + 1}; the others hold the same bits of the
   * id's hash (a probe compares those before it reads a slot's columns).
   */
  private final int slotMask;

  /**
   * The chunks in a ring: the end numbered {@code n} (in the order of {@link #add}) lives in {@code
   * chunks[(n >>> shift) % chunks.length]}, at slot {@code n & (chunkSize - 1)}. Enough of them
   * that a chunk is reused only once every end in it is forgotten; made when first needed.
   */
  private final Chunk[] chunks;

  /** The number of the oldest end remembered. */
  private long head;

  /** The number the next end gets; {@code tail - head} are remembered. */
  private long tail;

  /** The bits of the id last read by {@link #read}, when it was in the broker's form. */
  private long high;

  private long low;

  /** A chunk's columns (a slot describes one end) and its index from id to slot. */
  private static final class Chunk {
    final long[] highs;
    final long[] lows;

    /** The id when it is not in the broker's form, else null (its bits are in the columns). */
    final String[] others;

    final String[] sessionIds;
    final LeaseEnd[] ends;
    final RevokeReason[] reasons;
    final long[] endedAt;

    /**
     * By the id's hash: {@code slot + 1} in the bits of {@link #slotMask}, the hash's own bits in
     * the others; 0 for empty. Twice the chunk's length.
     */
    final int[] index;

    Chunk(int size) {
      highs = new long[size];
      lows = new long[size];
      others = new String[size];
      sessionIds = new String[size];
      ends = new LeaseEnd[size];
      reasons = new RevokeReason[size];
      endedAt = new long[size];
      index = new int[2 * size];
    }
  }

  EndedLeases(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity < 1: " + capacity);
    }
    this.capacity = capacity;
    this.chunkSize =
        Math.min(
            powerOfTwoAtLeast(capacity),
            Math.max(MIN_CHUNK, powerOfTwoAtLeast(capacity / MAX_FULL_CHUNKS)));
    this.shift = Integer.numberOfTrailingZeros(chunkSize);
    this.slotMask = (2 * chunkSize) - 1; // slot + 1 <= chunkSize, and the index has 2 * chunkSize
    this.chunks = new Chunk[capacity / chunkSize + 2];
  }

  /** How many ends are remembered. */
  int size() {
    return (int) (tail - head);
  }

  /** Remembers how {@code id} ended, forgetting the oldest end when {@code capacity} are kept. */
  void add(String id, String sessionId, LeaseEnd end, RevokeReason reason, long endedAtNanos) {
    if (tail - head == capacity) {
      forgetOldest();
    }
    int slot = (int) tail & (chunkSize - 1);
    Chunk c = slot == 0 ? fresh(tail) : chunkOf(tail);
    boolean own = read(id);
    c.highs[slot] = high;
    c.lows[slot] = low;
    c.others[slot] = own ? null : id;
    c.sessionIds[slot] = sessionId;
    c.ends[slot] = end;
    c.reasons[slot] = reason;
    c.endedAt[slot] = endedAtNanos;
    int[] index = c.index;
    int mask = index.length - 1;
    int hash = hash(id, own);
    int tag = hash & ~slotMask;
    int p = hash & mask;
    // An earlier end of the same id in this chunk gives its entry up: the newest end answers.
    for (int e = index[p]; e != 0 && !holds(c, e, tag, id, own); e = index[p]) {
      p = (p + 1) & mask;
    }
    index[p] = tag | (slot + 1);
    tail++;
  }

  /**
   * How many strings (session ids and ids not in the broker's form) the chunks still hold, for
   * tests: the remembered ends' and, at most, those of the forgotten ends in the oldest chunk.
   */
  int heldStrings() {
    int held = 0;
    for (Chunk c : chunks) {
      for (int i = 0; c != null && i < chunkSize; i++) {
        held += (c.sessionIds[i] != null ? 1 : 0) + (c.others[i] != null ? 1 : 0);
      }
    }
    return held;
  }

  /** How {@code id} last ended, or null when it is unknown or forgotten. */
  LeaseTable.Ended get(String id) {
    if (tail == head) {
      return null;
    }
    boolean own = read(id);
    int hash = hash(id, own);
    int tag = hash & ~slotMask;
    for (long k = (tail - 1) >>> shift; k >= head >>> shift; k--) {
      Chunk c = chunks[(int) (k % chunks.length)];
      int[] index = c.index;
      int mask = index.length - 1;
      for (int p = hash & mask; index[p] != 0; p = (p + 1) & mask) {
        if (holds(c, index[p], tag, id, own)) {
          int slot = (index[p] & slotMask) - 1;
          if ((k << shift) + slot < head) {
            return null; // forgotten; any older end of it too
          }
          return new LeaseTable.Ended(
              c.sessionIds[slot], c.ends[slot], c.reasons[slot], c.endedAt[slot]);
        }
      }
    }
    return null;
  }

  /** Forgets, oldest first, the ends before {@code cutoffNanos}. */
  void forgetBefore(long cutoffNanos) {
    while (tail > head && chunkOf(head).endedAt[(int) head & (chunkSize - 1)] < cutoffNanos) {
      forgetOldest();
    }
  }

  /**
   * Forgets the oldest end: a step of {@link #head}. Its strings are let go when its whole chunk is
   * forgotten, in one sequential sweep, not one end at a time: the oldest end sits in the coldest
   * chunk, and clearing its two slots on every release took two cache misses under the broker's
   * lock. A forgotten end is never read again ({@link #get} stops at it), so the strings of at most
   * one chunk outlive their ends.
   */
  private void forgetOldest() {
    head++;
    if (((int) head & (chunkSize - 1)) == 0) {
      Chunk left = chunkOf(head - 1);
      Arrays.fill(left.others, null);
      Arrays.fill(left.sessionIds, null);
    }
  }

  private Chunk chunkOf(long n) {
    return chunks[(int) ((n >>> shift) % chunks.length)];
  }

  /** The chunk that end {@code n}, the first of its chunk, goes in: new, or reused and emptied. */
  private Chunk fresh(long n) {
    int at = (int) ((n >>> shift) % chunks.length);
    Chunk c = chunks[at];
    if (c == null) {
      c = new Chunk(chunkSize);
      chunks[at] = c;
    } else {
      Arrays.fill(c.index, 0); // every end in it was forgotten (see chunks)
    }
    return c;
  }

  /**
   * Whether index entry {@code entry} of {@code c} is {@code id}'s (whose bits {@link #read} just
   * read, and whose hash has {@code tag} outside {@link #slotMask}). An entry of another tag is
   * another id's, told without a read of its slot: columns at random slots are cache misses.
   */
  private boolean holds(Chunk c, int entry, int tag, String id, boolean own) {
    if ((entry & ~slotMask) != tag) {
      return false;
    }
    int slot = (entry & slotMask) - 1;
    String other = c.others[slot];
    return own ? other == null && c.highs[slot] == high && c.lows[slot] == low : id.equals(other);
  }

  /**
   * Whether {@code id} has the form the broker gives its ids (32 lower-case hex digits); if so its
   * bits are left in {@link #high} and {@link #low}, else both are 0.
   */
  private boolean read(String id) {
    high = 0;
    low = 0;
    if (id.length() != 32) {
      return false;
    }
    long h = 0;
    long l = 0;
    int bad = 0;
    for (int i = 0; i < 16; i++) {
      int d = digit(id.charAt(i));
      int e = digit(id.charAt(16 + i));
      bad |= d | e;
      h = h << 4 | d;
      l = l << 4 | e;
    }
    if (bad < 0) {
      return false;
    }
    high = h;
    low = l;
    return true;
  }

  private static int powerOfTwoAtLeast(int n) {
    return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
  }

  private static int digit(char c) {
    return c < DIGIT.length ? DIGIT[c] : -1;
  }

  /** Whether {@code id} has the form the broker gives its ids: 32 lower-case hex digits. */
  static boolean isOwnForm(String id) {
    return new EndedLeases(1).read(id);
  }

  private int hash(String id, boolean own) {
    if (own) {
      // Both halves through a multiply and a shift each (SplitMix64's finaliser): ids are random,
      // but a mix in which the halves can cancel (high ^ low * k) collides for ids built alike.
      long h = high * 0xBF58476D1CE4E5B9L ^ low;
      h = (h ^ (h >>> 31)) * 0x94D049BB133111EBL;
      return (int) (h ^ (h >>> 32));
    }
    int h = id.hashCode() * 0x9E3779B9; // other callers' ids may not be random
    return h ^ (h >>> 16);
  }
}
