package dev.berth.client.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.client.Lease;
import dev.berth.client.RevokedLease;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.WasmInstanceStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The leases a session holds, and the releases it still owes the broker.
 *
 * <p>A revoke push can overtake the answer to the acquire that granted the lease (the push travels
 * on the session stream, the answer on its own call). Revocations of unknown leases are therefore
 * remembered for a while, and a lease registered later is ended at once. A release that failed in
 * transit is owed until the broker answers its retry, and its lease is declared on a resume
 * meanwhile. Thread-safe: one lock guards the tables; listeners are called after it is released.
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

  /**
   * Releases that failed in transit, waiting to be retried while the session lives (Release is
   * idempotent).
   */
  @GuardedBy("lock")
  private final List<OwedRelease> queued = new ArrayList<>();

  /** Queued releases taken for a retry ({@link #takeReleases}) whose answer has not come. */
  @GuardedBy("lock")
  private final List<OwedRelease> retrying = new ArrayList<>();

  /**
   * A release the broker has not answered, queued or being retried. {@code declared} is its lease
   * as a resume declares it, or null when there is nothing to keep the lease for (a release with no
   * outcome, which the broker's ending of an undeclared lease at the resume does as well). Each is
   * a separate entry: compared by identity.
   */
  static final class OwedRelease {
    private final ReleaseRequest request;
    private final HeldLease declared;

    private OwedRelease(ReleaseRequest request, HeldLease declared) {
      this.request = request;
      this.declared = declared;
    }

    ReleaseRequest request() {
      return request;
    }
  }

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
      // The broker ended the session's leases with it: nothing to release, nor to declare.
      Predicate<OwedRelease> ofGeneration =
          r -> r.request.getSessionId().equals(generation.sessionId());
      queued.removeIf(ofGeneration);
      retrying.removeIf(ofGeneration);
    }
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
      queued.clear();
      retrying.clear();
    }
  }

  /**
   * The leases of {@code generation} still held, to declare when resuming it, each once. A lease
   * whose release is unanswered counts as held — its holder's release in flight, or one that failed
   * and waits in the queue for a retry (or is being retried): the broker keeps it for the release,
   * which is sent again with its outcome (a complete declaration that left it out would have the
   * broker end it at the resume, and the outcome would be lost).
   */
  List<HeldLease> held(SessionGeneration generation) {
    Map<String, HeldLease> held = new LinkedHashMap<>();
    synchronized (lock) {
      for (LeaseHandle lease : live.values()) {
        if (lease.generation() == generation && (!lease.isEnded() || lease.isReleasing())) {
          held.put(lease.leaseId(), declaration(lease));
        }
      }
      for (List<OwedRelease> owed : List.of(queued, retrying)) {
        for (OwedRelease release : owed) {
          if (release.declared != null
              && release.request.getSessionId().equals(generation.sessionId())) {
            held.putIfAbsent(release.declared.getLeaseId(), release.declared);
          }
        }
      }
    }
    return new ArrayList<>(held.values());
  }

  /**
   * What a resume hello of {@code generation} declares: its broker leases ({@link #held}) and, when
   * safe mode is on ({@code local} not null), its safe-mode leases ({@link LocalLeases#declare}),
   * each once. A local lease the broker counts is named by both while its release, failed in
   * transit, has been queued here for a retry and the closing thread has not yet let it go there;
   * the broker refuses a hello that names a lease twice.
   */
  List<HeldLease> declare(SessionGeneration generation, LocalLeases local) {
    Map<String, HeldLease> declared = new LinkedHashMap<>();
    for (HeldLease lease : held(generation)) {
      declared.put(lease.getLeaseId(), lease);
    }
    if (local != null) {
      for (HeldLease lease : local.declare(generation, this)) {
        declared.putIfAbsent(lease.getLeaseId(), lease);
      }
    }
    return new ArrayList<>(declared.values());
  }

  /** {@code lease} as a resume hello declares it: as the broker knows it. */
  static HeldLease declaration(Lease lease) {
    HeldLease.Builder declared =
        HeldLease.newBuilder()
            .setLeaseId(lease.leaseId())
            .setFencingToken(lease.fencingToken())
            .setKind(Wire.kind(lease.kind()))
            .setHost(lease.host())
            .setModule(lease.module())
            .setMemoryMb(lease.memoryMb());
    if (lease instanceof LeaseHandle granted) {
      declared.setHeldFor(Wire.duration(Duration.ofNanos(granted.heldNanos())));
    }
    return declared.build();
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

  /**
   * Queues {@code request}, which failed in transit, for a retry; until the broker answers it, a
   * resume declares {@code lease} (see {@link #held}), so that the broker keeps the lease for the
   * release and applies its outcome.
   */
  void queueRelease(ReleaseRequest request, Lease lease) {
    queue(new OwedRelease(request, declaration(lease)));
  }

  /**
   * Queues {@code request}, a release with nothing to keep its lease for (no outcome), for a retry;
   * a resume does not declare its lease.
   */
  void queueRelease(ReleaseRequest request) {
    queue(new OwedRelease(request, null));
  }

  private void queue(OwedRelease release) {
    synchronized (lock) {
      queued.add(release);
    }
  }

  /**
   * Takes every queued release, to be retried; each is still declared until {@link #answered} or
   * {@link #retryLater} says how its retry went.
   */
  List<OwedRelease> takeReleases() {
    synchronized (lock) {
      List<OwedRelease> taken = new ArrayList<>(queued);
      queued.clear();
      retrying.addAll(taken);
      return taken;
    }
  }

  /** The broker answered {@code release}'s retry, or refused it for good: nothing is owed now. */
  void answered(OwedRelease release) {
    synchronized (lock) {
      retrying.remove(release);
    }
  }

  /**
   * {@code release}'s retry failed in a way that may pass: it waits for the next one, unless its
   * session was lost or closed meanwhile (which dropped it).
   */
  void retryLater(OwedRelease release) {
    synchronized (lock) {
      if (retrying.remove(release)) {
        queued.add(release);
      }
    }
  }
}
