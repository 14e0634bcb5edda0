package dev.berth.client.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.client.RevokedLease;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.WasmInstanceStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The leases a session holds, and the releases it still owes the broker.
 *
 * <p>A revoke push can overtake the answer to the acquire that granted the lease (the push travels
 * on the session stream, the answer on its own call). Revocations of unknown leases are therefore
 * remembered for a while, and a lease registered later is ended at once. Thread-safe: one lock
 * guards the table; listeners are called after it is released.
 */
final class LeaseRegistry {
  private static final int EARLY_REVOKES_REMEMBERED = 256;

  private final Object lock = new Object();
  private final Listeners listeners;

  @GuardedBy("lock")
  private final Map<String, LeaseHandle> live = new HashMap<>();

  @GuardedBy("lock")
  private final Map<String, RevokedLease> earlyRevokes =
      new LinkedHashMap<>() {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, RevokedLease> eldest) {
          return size() > EARLY_REVOKES_REMEMBERED;
        }
      };

  /** Whether the session closed ({@link #endAll}): a lease granted since is ended at once. */
  @GuardedBy("lock")
  private boolean closed;

  /** Releases that failed in transit; retried while the session lives (Release is idempotent). */
  private final ConcurrentLinkedQueue<ReleaseRequest> pendingReleases =
      new ConcurrentLinkedQueue<>();

  LeaseRegistry(Listeners listeners) {
    this.listeners = listeners;
  }

  /**
   * Adds a freshly granted lease. A repeated WASM grant of a lease still held returns the handle
   * already given out, so that closing either closes the one lease.
   */
  LeaseHandle register(LeaseHandle fresh) {
    LeaseHandle ended = null;
    synchronized (lock) {
      if (closed) {
        // Granted as the session closed: the goodbye released it at the broker.
        fresh.endWithSession();
        return fresh;
      }
      LeaseHandle existing = live.get(fresh.leaseId());
      if (existing != null && !existing.isEnded()) {
        return existing;
      }
      live.put(fresh.leaseId(), fresh);
      RevokedLease early = earlyRevokes.remove(fresh.leaseId());
      if (early == null && fresh.generation().isLost()) {
        early = fresh.notResumed(); // granted just before its session was lost
      }
      if (early != null && fresh.endByBroker(early)) {
        live.remove(fresh.leaseId());
        ended = fresh;
      }
    }
    if (ended != null) {
      listeners.revoked(ended);
    }
    return fresh;
  }

  /** The broker ended a lease (a revoke push, or a lease not resumed). */
  void endByBroker(RevokedLease event) {
    LeaseHandle lease;
    synchronized (lock) {
      lease = live.remove(event.leaseId());
      if (lease == null) {
        earlyRevokes.put(event.leaseId(), event);
        return;
      }
      if (!lease.endByBroker(event)) {
        return; // its holder closed it first
      }
    }
    listeners.revoked(lease);
  }

  /**
   * Ends every lease of a generation the broker no longer has. Returns those this call ended, for
   * the caller to report after the session loss itself.
   */
  List<LeaseHandle> endGeneration(SessionGeneration generation) {
    List<LeaseHandle> ended = new ArrayList<>();
    synchronized (lock) {
      for (Iterator<LeaseHandle> it = live.values().iterator(); it.hasNext(); ) {
        LeaseHandle lease = it.next();
        if (lease.generation() == generation) {
          it.remove();
          if (lease.endByBroker(lease.notResumed())) {
            ended.add(lease);
          }
        }
      }
    }
    pendingReleases.removeIf(r -> r.getSessionId().equals(generation.sessionId()));
    return ended;
  }

  /**
   * Ends every lease quietly: the session said goodbye, which released them all. A lease whose
   * grant is registered after this is ended as it is registered.
   */
  void endAll() {
    synchronized (lock) {
      closed = true;
      for (LeaseHandle lease : live.values()) {
        lease.endWithSession();
      }
      live.clear();
      earlyRevokes.clear();
    }
    pendingReleases.clear();
  }

  /**
   * The leases of {@code generation} still held, to declare when resuming it. A lease whose release
   * is still unanswered counts as held: the broker keeps it for the release, which is sent again on
   * the resumed stream with its outcome (a complete declaration that left it out would have the
   * broker end it at the resume, and the outcome would be lost).
   */
  List<HeldLease> held(SessionGeneration generation) {
    List<HeldLease> held = new ArrayList<>();
    synchronized (lock) {
      for (LeaseHandle lease : live.values()) {
        if (lease.generation() == generation && (!lease.isEnded() || lease.isReleasing())) {
          held.add(
              HeldLease.newBuilder()
                  .setLeaseId(lease.leaseId())
                  .setFencingToken(lease.fencingToken())
                  .setKind(Wire.kind(lease.kind()))
                  .setHost(lease.host())
                  .setModule(lease.module())
                  .setMemoryMb(lease.memoryMb())
                  .build());
        }
      }
    }
    return held;
  }

  /** What the next heartbeat reports about the WASM instances run under {@code generation}. */
  List<WasmInstanceStats> wasmStats(SessionGeneration generation) {
    List<WasmInstanceStats> stats = new ArrayList<>(1);
    synchronized (lock) {
      for (LeaseHandle lease : live.values()) {
        if (lease.generation() == generation && !lease.isEnded()) {
          WasmInstanceStats s = lease.wasmStats();
          if (s != null) {
            stats.add(s);
          }
        }
      }
    }
    return stats;
  }

  /** Number of leases held, for tests and logs. */
  int size() {
    synchronized (lock) {
      return live.size();
    }
  }

  /** The holder closed {@code lease}; stop tracking it. */
  void forget(LeaseHandle lease) {
    synchronized (lock) {
      live.remove(lease.leaseId(), lease);
    }
  }

  void queueRelease(ReleaseRequest request) {
    pendingReleases.add(request);
  }

  /** Removes and returns every queued release, to be retried. */
  List<ReleaseRequest> takeReleases() {
    List<ReleaseRequest> taken = new ArrayList<>();
    for (ReleaseRequest r; (r = pendingReleases.poll()) != null; ) {
      taken.add(r);
    }
    return taken;
  }
}
