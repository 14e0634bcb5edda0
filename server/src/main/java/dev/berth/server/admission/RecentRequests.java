package dev.berth.server.admission;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A session's recently used request ids and what each was answered, for idempotent Acquire. A
 * request still waiting maps to its {@link Waiter}; an answered one to its {@link Decision}.
 * Bounded: the least recently used ids are forgotten first.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 */
public final class RecentRequests {

  /** What a request id was first asked and, once known, answered. */
  public static final class Entry {
    private final AcquireSpec spec;
    private Waiter pending;
    private Decision decision;

    Entry(AcquireSpec spec) {
      this.spec = spec;
    }

    public AcquireSpec spec() {
      return spec;
    }

    /** The waiter while the first call waits; null once answered. */
    public Waiter pending() {
      return pending;
    }

    /** The first answer, or null while waiting. */
    public Decision decision() {
      return decision;
    }

    public void waiting(Waiter waiter) {
      this.pending = waiter;
    }

    public void answered(Decision decision) {
      this.pending = null;
      this.decision = decision;
    }
  }

  private final LinkedHashMap<String, Entry> entries;

  public RecentRequests(int capacity) {
    this.entries =
        new LinkedHashMap<>(16, 0.75f, true) {
          private static final long serialVersionUID = 1L;

          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
            return size() > capacity;
          }
        };
  }

  /** The entry of a request id, or null. */
  public Entry get(String requestId) {
    return entries.get(requestId);
  }

  /** Remembers a new request id. */
  public Entry remember(String requestId, AcquireSpec spec) {
    Entry entry = new Entry(spec);
    entries.put(requestId, entry);
    return entry;
  }

  /** Forgets a request id whose first call went away unanswered, so a retry starts afresh. */
  public void forget(String requestId, Entry entry) {
    entries.remove(requestId, entry);
  }
}
