package dev.berth.client.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.RefusalReason;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokeReason;
import dev.berth.client.RevokedLease;
import dev.berth.client.SafeMode;
import dev.berth.client.SafeModeCounts;
import dev.berth.client.Ticker;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.ReleaseRequest;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * One session's safe-mode leases: grants them within the per-kind budget and per-host rate of its
 * {@link SafeMode} while the broker is out of reach, declares those still held when the session
 * resumes, and takes the broker's answer (each counted by the broker, or refused and kept
 * local-only until released). One the broker counts is declared again at every later resume until
 * its release is answered or queued for a retry (which then declares it), since a resume's
 * declaration is complete and the broker ends what it leaves out. Thread-safe: acquires come from
 * any thread, declarations from the session's thread.
 */
final class LocalLeases {
  private static final System.Logger log = System.getLogger(LocalLeases.class.getName());
  private static final long SECOND = 1_000_000_000L;

  /**
   * How a local lease the broker counts is released there once its holder closes it: sent, or
   * queued for a retry through the session's {@link LeaseRegistry} (which then declares it on a
   * resume). Never throws. The session's {@code releaseCounted}.
   */
  @FunctionalInterface
  interface CountedRelease {
    void release(LocalLease lease, dev.berth.client.Outcome outcome, long heldNanos);
  }

  private final SafeMode config;
  private final Ticker ticker;
  private final Listeners listeners;
  private final CountedRelease release;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final Map<String, LocalLease> held = new LinkedHashMap<>();

  @GuardedBy("lock")
  private final Map<ResourceKind, Integer> counts = new EnumMap<>(ResourceKind.class);

  /** Per host: the tokens it had at {@code [1]} nanos, as {@code [0]} (a token bucket). */
  @GuardedBy("lock")
  private final Map<String, double[]> buckets = new HashMap<>();

  /**
   * Leases the broker counts that their holder closed, while the release is on its way: declared on
   * a resume meanwhile, so that the broker keeps the lease for the release and its outcome.
   */
  @GuardedBy("lock")
  private final Map<String, LocalLease> releasing = new HashMap<>();

  /**
   * The ids of the leases the last hello declared for the broker to count, answered by the next
   * opened.
   */
  @GuardedBy("lock")
  private final List<String> declared = new ArrayList<>();

  @GuardedBy("lock")
  private long granted;

  @GuardedBy("lock")
  private long adopted;

  @GuardedBy("lock")
  private long refused;

  LocalLeases(SafeMode config, Ticker ticker, Listeners listeners, CountedRelease release) {
    this.config = config;
    this.ticker = ticker;
    this.listeners = listeners;
    this.release = release;
  }

  /** Whether the broker has been out of reach long enough for acquires to be answered here. */
  boolean applies(long unreachableNanos) {
    return unreachableNanos > 0 && unreachableNanos >= config.after().toNanos();
  }

  /** Grants a local lease within the budget and the host's rate, or refuses at once. */
  AcquireResult acquire(AcquireOptions options, SessionGeneration generation) {
    ResourceKind kind = options.kind();
    String host = hostOf(options.url());
    long now = ticker.nanoTime();
    LocalLease lease;
    synchronized (lock) {
      int budget = config.budget(kind);
      int holding = counts.getOrDefault(kind, 0);
      if (holding >= budget) {
        return new AcquireResult.Refused(
            RefusalReason.EXHAUSTED,
            Duration.ofSeconds(1),
            "safe mode (broker out of reach): "
                + holding
                + " of a local budget of "
                + budget
                + " "
                + kind
                + " held");
      }
      if (!host.isEmpty()) {
        double[] bucket =
            buckets.computeIfAbsent(host, h -> new double[] {config.hostBurst(), now});
        double tokens =
            Math.min(
                config.hostBurst(), bucket[0] + (now - bucket[1]) * config.hostRate() / SECOND);
        bucket[0] = tokens;
        bucket[1] = now;
        if (tokens < 1) {
          long waitNanos = (long) Math.ceil((1 - tokens) * SECOND / config.hostRate());
          return new AcquireResult.Refused(
              RefusalReason.RATE_LIMITED,
              Duration.ofNanos(waitNanos),
              "safe mode (broker out of reach): host "
                  + host
                  + " at its local rate of "
                  + config.hostRate()
                  + "/s");
        }
        bucket[0] = tokens - 1;
      }
      lease =
          new LocalLease(
              "local-" + UUID.randomUUID().toString().replace("-", ""),
              kind,
              host,
              options.memoryEstimateMb(),
              generation,
              now,
              config.maxHold().toNanos(),
              ticker,
              this);
      held.put(lease.leaseId(), lease);
      counts.merge(kind, 1, Integer::sum);
      granted++;
    }
    log.log(Level.INFO, "safe mode: {0} granted locally for {1}", lease, host);
    return new AcquireResult.Granted(lease);
  }

  /**
   * The local leases of {@code generation} for a resume hello: those the broker does not count yet,
   * for it to count or refuse, and those it counts (still held, or closed with the release on its
   * way), as it knows them, so that a complete declaration keeps them. A lease declared in an
   * earlier hello whose answer never came (the stream dropped, or the answer was late) and closed
   * since is given back through {@code registry}'s queue: the broker may have taken it from that
   * hello, and no answer will say so now.
   */
  List<HeldLease> declare(SessionGeneration generation, LeaseRegistry registry) {
    List<HeldLease> out = new ArrayList<>();
    synchronized (lock) {
      for (String id : declared) {
        if (!held.containsKey(id)) {
          registry.queueRelease(
              ReleaseRequest.newBuilder()
                  .setSessionId(generation.sessionId())
                  .setLeaseId(id)
                  .build());
        }
      }
      declared.clear();
      for (LocalLease lease : held.values()) {
        if (lease.generation() == generation) {
          if (!lease.isAdopted()) {
            declared.add(lease.leaseId());
          }
          out.add(LeaseRegistry.declaration(lease));
        }
      }
      for (LocalLease lease : releasing.values()) {
        if (lease.generation() == generation) {
          out.add(LeaseRegistry.declaration(lease));
        }
      }
    }
    return out;
  }

  /**
   * Whether {@code generation} holds local leases the broker has neither counted nor refused: those
   * granted after the last hello left.
   */
  boolean undeclared(SessionGeneration generation) {
    synchronized (lock) {
      for (LocalLease lease : held.values()) {
        if (lease.generation() == generation && !lease.isAdopted() && !lease.isRefused()) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * Takes the broker's answer to the last declaration: each lease declared for it to count that is
   * not in {@code lost} is now counted by the broker (released there when closed; one closed
   * meanwhile is released now through {@code registry}'s queue); each in {@code lost} stays
   * local-only. A lease it counted before and no longer has (it ended it while the stream was down,
   * so the revoke never came) is ended as not resumed. Removes the local ids from {@code lost},
   * which then names only leases the broker granted.
   */
  void answered(SessionGeneration generation, Set<String> lost, LeaseRegistry registry) {
    int refusedNow = 0;
    List<String> gone = new ArrayList<>();
    synchronized (lock) {
      for (LocalLease lease : held.values()) {
        if (lease.generation() == generation && lease.isAdopted() && lost.remove(lease.leaseId())) {
          gone.add(lease.leaseId());
        }
      }
      for (LocalLease lease : releasing.values()) {
        lost.remove(lease.leaseId()); // the release learns that it ended
      }
      for (String id : declared) {
        LocalLease lease = held.get(id);
        if (lost.remove(id)) {
          refusedNow++;
          refused++;
          if (lease != null) {
            lease.refuse();
          }
        } else if (lease != null) {
          lease.adopt();
          adopted++;
        } else {
          // Closed after the hello left: the broker counts it now, so give it back.
          registry.queueRelease(
              ReleaseRequest.newBuilder()
                  .setSessionId(generation.sessionId())
                  .setLeaseId(id)
                  .build());
          adopted++;
        }
      }
      declared.clear();
    }
    for (String id : gone) {
      revokedByBroker(new RevokedLease(id, RevokeReason.NOT_RESUMED, Duration.ZERO), listeners());
    }
    if (refusedNow > 0) {
      log.log(
          Level.WARNING,
          "safe mode: the broker refused {0} local lease(s) on resume (its pool or job was full);"
              + " they stay local-only until released",
          refusedNow);
    }
  }

  /**
   * A local lease was closed: frees its place in the budget, and tells the broker if it counts it
   * (declaring the lease on a resume until the release is answered or queued for a retry).
   */
  void closed(LocalLease lease, dev.berth.client.Outcome outcome, long heldNanos) {
    boolean counted;
    synchronized (lock) {
      if (held.remove(lease.leaseId()) == null) {
        return;
      }
      counts.merge(lease.kind(), -1, Integer::sum);
      counted = lease.isAdopted();
      if (counted) {
        releasing.put(lease.leaseId(), lease);
      }
    }
    if (counted) {
      try {
        release.release(lease, outcome, heldNanos);
      } finally {
        synchronized (lock) {
          releasing.remove(lease.leaseId());
        }
      }
    }
  }

  /**
   * Moves every local lease of {@code old}, a session the broker did not resume (it expired during
   * the outage), to {@code next}: the broker freed what it counted of them with the old session, so
   * they are declared again, in the new one ({@link #undeclared} then asks for the resume that
   * carries them).
   */
  void carryOver(SessionGeneration old, SessionGeneration next) {
    int moved = 0;
    synchronized (lock) {
      declared.clear();
      for (LocalLease lease : held.values()) {
        if (lease.generation() == old) {
          lease.rehome(next);
          moved++;
        }
      }
    }
    if (moved > 0) {
      log.log(
          Level.INFO,
          "safe mode: session {0} expired during the outage; {1} local lease(s) go on in {2} and"
              + " are declared there",
          old.sessionId(),
          moved,
          next.sessionId());
    }
  }

  /**
   * The broker revoked lease {@code event.leaseId()}: if it is a local lease it counts, ends it,
   * frees its place in the budget and tells its listeners and the session's. Returns false when no
   * held local lease has that id (a broker lease's revoke, for the caller to handle).
   */
  boolean revokedByBroker(RevokedLease event, Listeners via) {
    LocalLease lease;
    synchronized (lock) {
      lease = held.get(event.leaseId());
      if (lease == null) {
        return false;
      }
      if (!lease.revoke(event, via)) {
        return true; // its holder closed it first: the release is on its way
      }
      held.remove(lease.leaseId());
      counts.merge(lease.kind(), -1, Integer::sum);
    }
    via.fire(via.revoked, event);
    return true;
  }

  /** The session's listeners and the thread that calls them. */
  Listeners listeners() {
    return listeners;
  }

  SafeModeCounts counts() {
    synchronized (lock) {
      return new SafeModeCounts(granted, adopted, refused, held.size());
    }
  }

  private static String hostOf(String url) {
    if (url.isEmpty()) {
      return "";
    }
    try {
      String host = URI.create(url).getHost();
      return host == null ? "" : host.toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      return "";
    }
  }
}
