package dev.berth.server.wasm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * When each live WASM lease was last used, on the broker's monotonic clock. A lease counts as used
 * when it is granted (or asked for again) and whenever its worker's running call count changes
 * between heartbeats. The worker's own {@code last_used} timestamp is not trusted: its clock is not
 * the broker's.
 *
 * <p>Not thread-safe: the broker guards it with its lock.
 */
public final class IdleTracker {
  private static final class Use {
    long calls;
    long lastUsedNanos;

    Use(long lastUsedNanos) {
      this.lastUsedNanos = lastUsedNanos;
    }
  }

  private final Map<String, Use> uses = new HashMap<>();

  /** A WASM lease was granted, or its holder asked for it again: that is a use. */
  public void used(String leaseId, long nowNanos) {
    Use use = uses.get(leaseId);
    if (use == null) {
      uses.put(leaseId, new Use(nowNanos));
    } else {
      use.lastUsedNanos = nowNanos;
    }
  }

  /** The worker reported its running call count; a change means the instance was used. */
  public void reported(String leaseId, long calls, long nowNanos) {
    Use use = uses.get(leaseId);
    if (use != null && use.calls != calls) {
      use.calls = calls;
      use.lastUsedNanos = nowNanos;
    }
  }

  /** The lease ended; forget it. */
  public void ended(String leaseId) {
    uses.remove(leaseId);
  }

  /** Leases last used before {@code cutoffNanos}. */
  public List<String> idleSince(long cutoffNanos) {
    List<String> idle = new ArrayList<>();
    for (Map.Entry<String, Use> e : uses.entrySet()) {
      if (e.getValue().lastUsedNanos - cutoffNanos < 0) {
        idle.add(e.getKey());
      }
    }
    return idle;
  }

  /** When the lease was last used, or {@code Long.MIN_VALUE} when it is not tracked. */
  public long lastUsedNanos(String leaseId) {
    Use use = uses.get(leaseId);
    return use == null ? Long.MIN_VALUE : use.lastUsedNanos;
  }

  public int size() {
    return uses.size();
  }
}
