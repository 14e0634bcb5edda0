package dev.berth.server.lease;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The live leases, indexed by id, by session and by kind, plus a bounded memory of how recently
 * ended leases ended. Capacity accounting is derived from this table alone, so it cannot drift from
 * the leases that exist: {@link #inUse(ResourceKind)} is the number of live leases of that kind.
 *
 * <p>Not thread-safe: the broker guards it with its lock.
 */
public final class LeaseTable {

  /**
   * How an ended lease ended, kept for late or repeated Releases.
   *
   * @param revokeReason set when {@code end} is {@link LeaseEnd#REVOKED}
   */
  public record Ended(
      String sessionId, LeaseEnd end, RevokeReason revokeReason, long endedAtNanos) {}

  private final Map<String, Lease> live = new HashMap<>();

  /**
   * Each session's live lease ids, oldest first: the id itself while the session holds one lease
   * (most hold one at a time, and a set per grant was a tenth of the broker's lease cycle), a
   * {@code LinkedHashSet<String>} from the second on.
   */
  private final Map<String, Object> bySession = new HashMap<>();

  /** Live leases by {@link ResourceKind#index()}: counted on every grant and end, so no boxing. */
  private final int[] inUse = new int[ResourceKind.values().length];

  private final PriorityQueue<Lease> byExpiry =
      new PriorityQueue<>((a, b) -> Long.compare(a.expiresAtNanos(), b.expiresAtNanos()));
  private final EndedLeases ended;

  public LeaseTable(int endedCapacity) {
    this.ended = new EndedLeases(endedCapacity);
  }

  /** Adds a newly granted lease. */
  public void add(Lease lease) {
    if (live.putIfAbsent(lease.id(), lease) != null) {
      throw new IllegalStateException("duplicate lease id " + lease.id());
    }
    Object held = bySession.putIfAbsent(lease.sessionId(), lease.id());
    if (held instanceof String only) {
      Set<String> ids = new LinkedHashSet<>();
      ids.add(only);
      ids.add(lease.id());
      bySession.put(lease.sessionId(), ids);
    } else if (held != null) {
      setOf(held).add(lease.id());
    }
    inUse[lease.kind().index()]++;
    byExpiry.add(lease);
  }

  /** The live lease with this id, or null. */
  public Lease get(String leaseId) {
    return live.get(leaseId);
  }

  /** How a lease that is no longer live ended, or null when it is unknown or forgotten. */
  public Ended ended(String leaseId) {
    return ended.get(leaseId);
  }

  /**
   * Ends a live lease exactly once: it leaves every index and is remembered as ended.
   *
   * @return the lease, or null when it was not live (nothing changes then)
   */
  public Lease end(String leaseId, LeaseEnd how, RevokeReason revokeReason, long nowNanos) {
    Lease lease = live.remove(leaseId);
    if (lease == null) {
      return null;
    }
    Object held = bySession.get(lease.sessionId());
    if (held instanceof String) {
      bySession.remove(lease.sessionId());
    } else {
      Set<String> ids = setOf(held);
      ids.remove(leaseId);
      if (ids.isEmpty()) {
        bySession.remove(lease.sessionId());
      }
    }
    inUse[lease.kind().index()]--;
    // Removal from a heap is linear, so ended leases leave byExpiry lazily; compacting once it
    // holds twice the live leases keeps it bounded at amortised constant cost per end.
    if (byExpiry.size() > 2 * live.size() + 64) {
      byExpiry.removeIf(l -> !isLive(l));
    }
    ended.add(leaseId, lease.sessionId(), how, revokeReason, nowNanos);
    return lease;
  }

  /** Live leases of a kind. */
  public int inUse(ResourceKind kind) {
    return inUse[kind.index()];
  }

  /** Live leases in total. */
  public int size() {
    return live.size();
  }

  /** The ids of a session's live leases, oldest first; a copy. */
  public List<String> idsOf(String sessionId) {
    return new ArrayList<>(heldBy(sessionId));
  }

  /** The ids of a session's live leases, oldest first; a view, empty when it holds none. */
  private Collection<String> heldBy(String sessionId) {
    Object held = bySession.get(sessionId);
    if (held == null) {
      return List.of();
    }
    return held instanceof String only ? List.of(only) : setOf(held);
  }

  /** The set of an entry of {@link #bySession} that holds two or more ids. */
  @SuppressWarnings("unchecked") // only add() puts a set there, and only a Set<String>
  private static Set<String> setOf(Object held) {
    return (Set<String>) held;
  }

  /** How many live leases of a kind a session holds. */
  public int countOf(String sessionId, ResourceKind kind) {
    int n = 0;
    for (String id : heldBy(sessionId)) {
      if (live.get(id).kind() == kind) {
        n++;
      }
    }
    return n;
  }

  /** The session's live lease of a kind, or null; used for WASM, of which a session holds one. */
  public Lease firstOf(String sessionId, ResourceKind kind) {
    for (String id : heldBy(sessionId)) {
      Lease lease = live.get(id);
      if (lease.kind() == kind) {
        return lease;
      }
    }
    return null;
  }

  /** Live leases whose max hold has passed at {@code nowNanos}; they stay live until ended. */
  public List<Lease> expiredAt(long nowNanos) {
    List<Lease> due = new ArrayList<>();
    while (!byExpiry.isEmpty() && byExpiry.peek().expiresAtNanos() <= nowNanos) {
      Lease lease = byExpiry.poll();
      if (isLive(lease)) {
        due.add(lease);
      }
    }
    return due;
  }

  /**
   * Whether an entry of {@code byExpiry} is the live lease itself rather than a stale entry of an
   * ended one. Identity, not equals: the question is whether this very object is the one the live
   * index holds, not whether a lease with equal fields is.
   */
  @SuppressWarnings("ReferenceEquality")
  private boolean isLive(Lease entry) {
    return live.get(entry.id()) == entry;
  }

  /** Forgets ended leases that ended before {@code cutoffNanos}. */
  public void forgetEndedBefore(long cutoffNanos) {
    ended.forgetBefore(cutoffNanos);
  }

  /** A read-only view of the live leases, for listings. */
  public Collection<Lease> all() {
    return Collections.unmodifiableCollection(live.values());
  }
}
