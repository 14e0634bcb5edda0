package dev.berth.server.admission;

import dev.berth.server.lease.Lease;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * A session's recently used request ids and what each was answered, for idempotent acquires and
 * bundles (one namespace: an id used for an acquire cannot name a bundle). A request still waiting
 * maps to its {@link Waiter}; an answered one to its answer. Bounded: the least recently used
 * answered ids are forgotten first. An id still waiting is kept beyond the bound (the queue caps
 * bound those): forgotten, a retry of it would wait a second time, and be granted twice.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 */
public final class RecentRequests {

  /**
   * What a request id was first asked and, once known, answered.
   *
   * @param <A> the answer of its request
   */
  public static final class Entry<A> {
    private final Request<A> request;
    private Waiter<A> pending;
    private A answer;
    private boolean claimed;

    Entry(Request<A> request) {
      this.request = request;
    }

    public Request<A> request() {
      return request;
    }

    /** The waiter while the first call waits; null once answered. */
    public Waiter<A> pending() {
      return pending;
    }

    /** The first answer, or null while waiting. */
    public A answer() {
      return answer;
    }

    /** The leases its answer granted, in item order; empty while waiting or when refused. */
    public List<Lease> grantedLeases() {
      if (answer instanceof Decision.Granted g) {
        return List.of(g.lease());
      }
      if (answer instanceof BundleDecision.Granted g) {
        return g.leases();
      }
      return List.of();
    }

    /** A repeat of the request was given its answer (or joined its wait). */
    public void claim() {
      claimed = true;
    }

    /** Whether a repeat of the request was given its answer (or joined its wait). */
    public boolean claimed() {
      return claimed;
    }

    public void waiting(Waiter<A> waiter) {
      this.pending = waiter;
    }

    public void answered(A value) {
      this.pending = null;
      this.answer = value;
    }

    /**
     * This entry typed for {@code repeat}, which must ask for the same thing ({@link
     * Request#sameRequestAs}), hence be of the same class and answered alike.
     */
    @SuppressWarnings("unchecked") // an AcquireSpec is answered by a Decision, a BundleSpec by a
    // BundleDecision: the same request class means the same answer type
    public <B> Entry<B> as(Request<B> repeat) {
      if (repeat.getClass() != request.getClass()) {
        throw new IllegalArgumentException("a different kind of request");
      }
      return (Entry<B>) this;
    }
  }

  private final int capacity;

  /**
   * Made at the session's first request: most sessions of a large fleet only heartbeat, and an
   * empty map would cost each of them 64 bytes (G5 in docs/benchmarks.md).
   */
  private LinkedHashMap<String, Entry<?>> entries;

  public RecentRequests(int capacity) {
    this.capacity = capacity;
  }

  private Map<String, Entry<?>> entries() {
    if (entries == null) {
      entries = new LinkedHashMap<>(16, 0.75f, true);
    }
    return entries;
  }

  /** The entry of a request id, or null. */
  public Entry<?> get(String requestId) {
    return entries == null ? null : entries.get(requestId);
  }

  /** Remembers a new request id. */
  public <A> Entry<A> remember(String requestId, Request<A> request) {
    Entry<A> entry = new Entry<>(request);
    Map<String, Entry<?>> all = entries();
    all.put(requestId, entry);
    if (all.size() > capacity) {
      // The least recently used answered id goes; ids still waiting (at the front while they wait
      // unasked) are stepped over.
      for (Iterator<Entry<?>> it = all.values().iterator(); it.hasNext(); ) {
        Entry<?> oldest = it.next();
        if (oldest != entry && oldest.pending() == null) {
          it.remove();
          break;
        }
      }
    }
    return entry;
  }

  /** Calls {@code action} with each remembered request id and its entry, least recent first. */
  public void forEach(BiConsumer<String, Entry<?>> action) {
    if (entries != null) {
      entries.forEach(action);
    }
  }

  /** Forgets a request id whose first call went away unanswered, so a retry starts afresh. */
  public void forget(String requestId, Entry<?> entry) {
    if (entries != null) {
      entries.remove(requestId, entry);
    }
  }
}
