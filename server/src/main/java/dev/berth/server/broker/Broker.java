package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerException.Code.FAILED_PRECONDITION;
import static dev.berth.server.broker.BrokerException.Code.RESOURCE_EXHAUSTED;
import static dev.berth.server.broker.BrokerException.Code.UNAVAILABLE;

import com.google.common.annotations.VisibleForTesting;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireCallback;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.AdmissionController;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RecentRequests;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.admission.WaitQueue;
import dev.berth.server.admission.Waiter;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Durations;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.LeaseTable;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.CleanupTarget;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.session.SessionChannel.CloseReason;
import dev.berth.server.session.SessionRegistry;
import dev.berth.server.time.TimeSource;
import dev.berth.server.time.TimeSource.Cancellable;
import dev.berth.server.wasm.IdleTracker;
import dev.berth.server.wasm.InstanceStats;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmModule;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lease broker's state machine: sessions, leases, fair wait queues and fencing tokens, behind
 * one lock. Every change to lease state happens here, as one of a few commands (open, heartbeat,
 * acquire, release, revoke, drain, sweep); nothing else mutates it.
 *
 * <p>Work that leaves the state machine — answering a waiting caller, pushing a revoke down a
 * session stream, notifying listeners — is collected while the lock is held and run after it is
 * released, so no I/O ever happens under the lock.
 *
 * <p>This class is thread-safe. It knows nothing of gRPC.
 */
public final class Broker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Broker.class);

  /** The answer to a hello. */
  public record Opened(String sessionId, long epoch, boolean resumed, List<String> lostLeases) {}

  /**
   * The answer to a release or revoke.
   *
   * @param changed true when this call ended the lease; false when it had already ended
   * @param end how the lease ended (by this call or earlier)
   * @param revokeReason set when {@code end} is REVOKED
   */
  public record EndResult(boolean changed, LeaseEnd end, RevokeReason revokeReason) {}

  /** A caller's handle on an acquire that may still be waiting. */
  public interface PendingAcquire {
    /** The caller has gone; stop waiting for it. A no-op once answered. */
    void cancel();
  }

  /** How many hosts the status page shows. */
  private static final int HOT_HOSTS = 10;

  private final Object lock = new Object();
  private final TimeSource time;
  private final long epoch;
  private final LeaseIds ids;
  private final List<BrokerListener> listeners = new CopyOnWriteArrayList<>();

  @GuardedBy("lock")
  private BrokerConfig config;

  @GuardedBy("lock")
  private Policy policy;

  /** Host rates, memory pressure and degradation-adjusted limits. */
  @GuardedBy("lock")
  private final AdmissionController admission;

  /** When each kind's queue is next woken for a host token, and the task that will wake it. */
  @GuardedBy("lock")
  private final Map<ResourceKind, Long> wakeAt = new EnumMap<>(ResourceKind.class);

  @GuardedBy("lock")
  private final Map<ResourceKind, Cancellable> wakeTasks = new EnumMap<>(ResourceKind.class);

  private final HeapProbe heap;

  /** The WASM modules served and the idle timeout; thread-safe on its own. */
  private final ModuleRegistry modules;

  /** When each live WASM lease was last used, for IDLE revocation. */
  @GuardedBy("lock")
  private final IdleTracker wasmUse = new IdleTracker();

  @GuardedBy("lock")
  private final FencingTokens tokens;

  @GuardedBy("lock")
  private final SessionRegistry sessions = new SessionRegistry();

  @GuardedBy("lock")
  private final LeaseTable leases;

  @GuardedBy("lock")
  private final Map<ResourceKind, WaitQueue> queues = new EnumMap<>(ResourceKind.class);

  @GuardedBy("lock")
  private long waiterSeq;

  @GuardedBy("lock")
  private boolean draining;

  @GuardedBy("lock")
  private boolean shutDown;

  @GuardedBy("lock")
  private final BrokerCounters counters = new BrokerCounters();

  @GuardedBy("lock")
  private final PrincipalUsage usage = new PrincipalUsage();

  private final Cancellable sweeper;
  private final long startedAtNanos;

  /**
   * Until when leases of the previous broker run may be re-declared (one session TTL after a
   * restart); no new grants before then, so the fleet never holds more than a pool's limit.
   */
  private final long recoveryUntilNanos;

  /**
   * Starts a broker and its periodic sweep.
   *
   * @param epoch this run's durable epoch (≥ 1), from the state directory
   * @param nextEpoch supplies a further durable epoch if this run's tokens run out
   */
  public Broker(
      BrokerConfig config,
      TimeSource time,
      long epoch,
      FencingTokens.EpochSupplier nextEpoch,
      LeaseIds ids) {
    this(Policy.of(config), time, epoch, nextEpoch, ids, HeapProbe.NONE);
  }

  /**
   * Starts a broker with a full policy.
   *
   * @param heap the broker's own heap, watched for memory pressure
   */
  public Broker(
      Policy policy,
      TimeSource time,
      long epoch,
      FencingTokens.EpochSupplier nextEpoch,
      LeaseIds ids,
      HeapProbe heap) {
    this(policy, time, epoch, nextEpoch, ids, heap, ModuleRegistry.empty());
  }

  /**
   * Starts a broker with a full policy and the WASM modules it serves.
   *
   * @param modules names the module and digest of WASM leases, and sets their idle timeout
   */
  public Broker(
      Policy policy,
      TimeSource time,
      long epoch,
      FencingTokens.EpochSupplier nextEpoch,
      LeaseIds ids,
      HeapProbe heap,
      ModuleRegistry modules) {
    BrokerConfig config = policy.broker();
    this.policy = policy;
    this.config = config;
    this.heap = heap;
    this.modules = modules;
    this.admission =
        new AdmissionController(
            policy.rateLimit(), policy.memory(), policy.performance(), time.nanoTime());
    this.time = time;
    this.epoch = epoch;
    this.ids = ids;
    this.tokens = new FencingTokens(epoch, nextEpoch);
    this.leases = new LeaseTable(config.endedLeasesRemembered());
    for (ResourceKind kind : ResourceKind.values()) {
      queues.put(kind, new WaitQueue());
    }
    this.startedAtNanos = time.nanoTime();
    this.recoveryUntilNanos = epoch > 1 ? startedAtNanos + config.sessionTtl().toNanos() : 0;
    this.sweeper = time.scheduleAtFixedRate(this::sweep, config.sweepInterval().toNanos());
    if (recoveryUntilNanos > 0) {
      time.schedule(this::recoveryOver, recoveryUntilNanos - startedAtNanos);
    }
  }

  public void addListener(BrokerListener listener) {
    listeners.add(listener);
  }

  /** This run's epoch, as told to workers in {@code opened}. */
  public long epoch() {
    return epoch;
  }

  public BrokerConfig config() {
    synchronized (lock) {
      return config;
    }
  }

  /** The WASM modules this broker serves. */
  public ModuleRegistry modules() {
    return modules;
  }

  /** The whole admission policy in force. */
  public Policy policy() {
    synchronized (lock) {
      return policy;
    }
  }

  // ---------------------------------------------------------------- sessions

  /**
   * Opens a session, or resumes {@code hello.resumeSessionId} when it is still live.
   *
   * @throws BrokerException PERMISSION_DENIED when the session to resume belongs to someone else;
   *     UNAVAILABLE when shutting down
   */
  public Opened open(HelloSpec hello, String principal, SessionChannel channel) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        if (shutDown) {
          throw new BrokerException(UNAVAILABLE, "broker is shutting down");
        }
        long now = time.nanoTime();
        if (!hello.resumeSessionId().isEmpty()) {
          Session old = sessions.get(hello.resumeSessionId());
          if (old != null && expireIfDue(old, now, fx)) {
            old = null;
          }
          if (old != null) {
            return resume(old, hello, principal, channel, now, fx);
          }
          if (now < recoveryUntilNanos && sessions.whyEnded(hello.resumeSessionId()) == null) {
            return readmit(hello, principal, channel, now, fx);
          }
        }
        int sessionCap = policy.caps().sessions();
        if (sessionCap > 0 && usage.sessions(principal) >= sessionCap) {
          throw new BrokerException(
              RESOURCE_EXHAUSTED,
              "principal '"
                  + principal
                  + "' holds "
                  + sessionCap
                  + " sessions, its cap (caps.sessions_per_principal)");
        }
        Session session =
            new Session(
                ids.next(),
                hello.workerId(),
                principal,
                hello.labels(),
                hello.memoryLimitMb(),
                now,
                config.requestIdsPerSession());
        session.attach(channel);
        sessions.add(session, ttlNanos());
        usage.sessionOpened(principal);
        List<String> lost = new ArrayList<>();
        for (HelloSpec.HeldLease held : hello.heldLeases()) {
          lost.add(held.leaseId());
        }
        String id = session.id();
        fx.add(() -> listeners.forEach(l -> l.sessionOpened(id, hello.workerId(), false)));
        return new Opened(id, epoch, false, lost);
      }
    } finally {
      fx.run();
    }
  }

  /**
   * After a restart, takes back a session of the previous run with the leases its worker declares.
   * A declared lease is re-admitted when its fencing token comes from an earlier epoch, its kind is
   * known, it is not known already, and its pool has room; the rest are reported lost. Since no new
   * grants happen while re-declaration is possible, re-admitted leases never exceed a limit.
   */
  @GuardedBy("lock")
  private Opened readmit(
      HelloSpec hello, String principal, SessionChannel channel, long now, Effects fx) {
    Session session =
        new Session(
            hello.resumeSessionId(),
            hello.workerId(),
            principal,
            hello.labels(),
            hello.memoryLimitMb(),
            now,
            config.requestIdsPerSession());
    session.attach(channel);
    sessions.add(session, ttlNanos());
    usage.sessionOpened(principal);
    List<String> lost = new ArrayList<>();
    for (HelloSpec.HeldLease held : hello.heldLeases()) {
      ResourceKind kind = held.kind();
      long heldEpoch = FencingTokens.epochOf(held.fencingToken());
      boolean admissible =
          kind != null
              && heldEpoch >= 1
              && heldEpoch < epoch
              && leases.get(held.leaseId()) == null
              && leases.ended(held.leaseId()) == null
              && leases.inUse(kind) < config.limit(kind)
              && !(kind == ResourceKind.WASM && leases.firstOf(session.id(), kind) != null);
      if (!admissible) {
        lost.add(held.leaseId());
        continue;
      }
      Lease lease =
          new Lease(
              held.leaseId(),
              kind,
              held.fencingToken(),
              session.id(),
              held.host(),
              held.module(),
              "",
              held.memoryMb() > 0 ? held.memoryMb() : config.memoryEstimateMb(kind),
              now,
              now + config.maxHold(kind).toNanos());
      leases.add(lease);
      usage.leaseGranted(principal);
      admission.readmitted(lease);
      String worker = hello.workerId();
      fx.add(() -> listeners.forEach(l -> l.granted(lease, worker)));
    }
    String id = session.id();
    log.info(
        "re-admitted session {} of worker {} after restart: {} of {} declared leases",
        id,
        hello.workerId(),
        hello.heldLeases().size() - lost.size(),
        hello.heldLeases().size());
    fx.add(() -> listeners.forEach(l -> l.sessionOpened(id, hello.workerId(), true)));
    return new Opened(id, epoch, true, lost);
  }

  /** The restart grace ended: capacity nobody re-declared is free; serve the queues. */
  private void recoveryOver() {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        long now = time.nanoTime();
        log.info("restart recovery over: {} leases re-declared", leases.size());
        for (ResourceKind kind : ResourceKind.values()) {
          pump(kind, now, fx);
        }
      }
    } finally {
      fx.run();
    }
  }

  @GuardedBy("lock")
  private Opened resume(
      Session session,
      HelloSpec hello,
      String principal,
      SessionChannel channel,
      long now,
      Effects fx) {
    if (!session.principal().equals(principal)) {
      throw BrokerException.denied(
          "hello.resume_session_id: session " + session.id() + " belongs to another principal");
    }
    if (!session.workerId().equals(hello.workerId())) {
      throw BrokerException.denied(
          "hello.resume_session_id: session "
              + session.id()
              + " belongs to worker '"
              + session.workerId()
              + "', not '"
              + hello.workerId()
              + "'");
    }
    SessionChannel previous = session.channel();
    if (previous != null && previous != channel) {
      fx.add(() -> previous.close(CloseReason.REPLACED, "session resumed on another stream"));
    }
    session.attach(channel);
    session.touch(now);
    session.heartbeatSeq(-1);
    if (hello.memoryLimitMb() > 0) {
      session.reportMemory(session.memoryUsedMb(), hello.memoryLimitMb());
    }
    List<String> lost = new ArrayList<>();
    for (HelloSpec.HeldLease held : hello.heldLeases()) {
      Lease lease = leases.get(held.leaseId());
      if (lease == null
          || !lease.sessionId().equals(session.id())
          || lease.fencingToken() != held.fencingToken()) {
        lost.add(held.leaseId());
      }
    }
    String id = session.id();
    fx.add(() -> listeners.forEach(l -> l.sessionOpened(id, hello.workerId(), true)));
    return new Opened(id, epoch, true, lost);
  }

  /**
   * Records a heartbeat: the session stays alive for another TTL.
   *
   * @param seq must increase on each stream
   * @throws BrokerException NOT_FOUND when the session has ended; FAILED_PRECONDITION when this
   *     stream no longer owns the session; INVALID_ARGUMENT when seq does not increase
   */
  public PressureLevel heartbeat(
      String sessionId, SessionChannel channel, long seq, long memoryUsedMb, long memoryLimitMb) {
    return heartbeat(sessionId, channel, seq, memoryUsedMb, memoryLimitMb, List.of());
  }

  /**
   * Records a heartbeat with the worker's WASM instance statistics: a WASM lease of this session
   * whose call count changed counts as used now. Statistics for leases the session does not hold
   * (e.g. one that just ended) are ignored.
   */
  public PressureLevel heartbeat(
      String sessionId,
      SessionChannel channel,
      long seq,
      long memoryUsedMb,
      long memoryLimitMb,
      List<InstanceStats> wasmStats) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        long now = time.nanoTime();
        Session session = attachedSession(sessionId, channel, now, fx);
        if (seq <= session.lastHeartbeatSeq()) {
          throw BrokerException.invalid(
              "heartbeat.seq",
              "must increase, got " + seq + " after " + session.lastHeartbeatSeq());
        }
        session.heartbeatSeq(seq);
        session.touch(now);
        session.reportMemory(memoryUsedMb, memoryLimitMb);
        for (InstanceStats stats : wasmStats) {
          Lease lease = leases.get(stats.leaseId());
          if (lease != null
              && lease.kind() == ResourceKind.WASM
              && lease.sessionId().equals(sessionId)) {
            wasmUse.reported(lease.id(), stats.calls(), now);
          }
        }
        Admission.Memory before = admission.memory(sessionId, 0);
        // The session's limit, not the heartbeat's: a worker may declare it only in its hello.
        admission.heartbeat(
            sessionId, session.workerId(), memoryUsedMb, session.memoryLimitMb(), now);
        Admission.Memory after = admission.memory(sessionId, 0);
        if ((before.fleetBlocked() && !after.fleetBlocked())
            || (before.workerBlocked() && !after.workerBlocked())) {
          pumpMemoryBound(now, fx); // pressure lifted: waiting RENDER/PDF acquires may go
        }
        return admission.pressureFor(sessionId);
      }
    } finally {
      fx.run();
    }
  }

  /** Records the worker's acknowledgement of a pushed command. */
  public void ack(String sessionId, SessionChannel channel, long commandId) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        attachedSession(sessionId, channel, time.nanoTime(), fx);
      }
    } finally {
      fx.run();
    }
  }

  /** Ends a session at its worker's request; every lease it holds is released. */
  public void goodbye(String sessionId, SessionChannel channel) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        Session session = attachedSession(sessionId, channel, time.nanoTime(), fx);
        endSession(session, false, time.nanoTime(), fx);
      }
    } finally {
      fx.run();
    }
  }

  /**
   * The stream of a session ended without goodbye. The session lives on until its TTL passes, so
   * the worker may reconnect and resume it.
   */
  public void detach(String sessionId, SessionChannel channel) {
    synchronized (lock) {
      Session session = sessions.get(sessionId);
      if (session != null && session.channel() == channel) {
        session.attach(null);
      }
    }
  }

  @GuardedBy("lock")
  private Session attachedSession(String sessionId, SessionChannel channel, long now, Effects fx) {
    Session session = sessions.get(sessionId);
    if (session == null || expireIfDue(session, now, fx)) {
      throw sessionGone(sessionId);
    }
    if (session.channel() != channel) {
      throw new BrokerException(
          FAILED_PRECONDITION, "session " + sessionId + " was resumed on another stream");
    }
    return session;
  }

  /** The live session {@code sessionId} of {@code principal}, expiring it first if it is due. */
  @GuardedBy("lock")
  private Session liveSession(String sessionId, String principal, long now, Effects fx) {
    Session session = sessions.get(sessionId);
    if (session == null || expireIfDue(session, now, fx)) {
      throw sessionGone(sessionId);
    }
    if (!session.principal().equals(principal)) {
      throw BrokerException.denied(
          "session_id: session " + sessionId + " belongs to another principal");
    }
    return session;
  }

  @GuardedBy("lock")
  private BrokerException sessionGone(String sessionId) {
    String why = sessions.whyEnded(sessionId);
    return BrokerException.notFound(
        "session_id: no live session "
            + sessionId
            + (why != null ? " (" + why + ")" : " (never opened, or ended long ago)"));
  }

  @GuardedBy("lock")
  private boolean expireIfDue(Session session, long now, Effects fx) {
    if (!SessionRegistry.isOverdue(session, now, ttlNanos())) {
      return false;
    }
    endSession(session, true, now, fx);
    return true;
  }

  @GuardedBy("lock")
  private void endSession(Session session, boolean expired, long now, Effects fx) {
    LeaseEnd how = expired ? LeaseEnd.SESSION_EXPIRED : LeaseEnd.SESSION_CLOSED;
    RevokeReason reason = null; // ended with the session, not revoked
    Set<ResourceKind> freed = new HashSet<>();
    for (String leaseId : leases.idsOf(session.id())) {
      Lease lease = leases.end(leaseId, how, reason, now);
      usage.leaseEnded(session.principal());
      wasmUse.ended(leaseId);
      freed.add(lease.kind());
      fx.add(() -> listeners.forEach(l -> l.ended(lease, how, reason, Outcome.UNKNOWN)));
    }
    String why =
        expired
            ? "expired: no heartbeat within session_ttl " + Durations.format(config.sessionTtl())
            : "closed by goodbye";
    sessions.remove(session, why);
    usage.sessionEnded(session.principal());
    PressureLevel pressureBefore = admission.pressure();
    admission.forget(session.id());
    if (pressureBefore != PressureLevel.NONE && admission.pressure() == PressureLevel.NONE) {
      // Its usage left the fleet's and lifted fleet pressure: waiting RENDER/PDF acquires may go.
      for (ResourceKind kind : ResourceKind.values()) {
        if (Admission.memoryBound(kind)) {
          freed.add(kind);
        }
      }
    }
    BrokerException gone =
        BrokerException.notFound("session_id: session " + session.id() + " " + why);
    for (WaitQueue queue : queues.values()) {
      for (Iterator<Waiter> it = queue.iterator(); it.hasNext(); ) {
        Waiter waiter = it.next();
        if (waiter.spec().sessionId().equals(session.id())) {
          it.remove();
          fail(waiter, gone, fx);
        }
      }
    }
    SessionChannel channel = session.channel();
    session.attach(null);
    if (channel != null) {
      CloseReason closeReason = expired ? CloseReason.EXPIRED : CloseReason.GOODBYE;
      fx.add(() -> channel.close(closeReason, "session " + session.id() + " " + why));
    }
    String id = session.id();
    String worker = session.workerId();
    fx.add(() -> listeners.forEach(l -> l.sessionEnded(id, worker, expired)));
    if (expired) {
      log.info("session {} of worker {} {}", id, worker, why);
    }
    for (ResourceKind kind : freed) {
      pump(kind, now, fx);
    }
  }

  @GuardedBy("lock")
  private void pumpMemoryBound(long now, Effects fx) {
    for (ResourceKind kind : ResourceKind.values()) {
      if (Admission.memoryBound(kind)) {
        pump(kind, now, fx);
      }
    }
  }

  // ---------------------------------------------------------------- acquire

  /**
   * Asks for one lease. The callback is told exactly once: granted, refused, or failed (when the
   * session ends while the acquire waits). It may be told before this method returns.
   *
   * @throws BrokerException NOT_FOUND / PERMISSION_DENIED for a session that is not the caller's
   *     live session; FAILED_PRECONDITION when a request id is reused for a different request;
   *     UNAVAILABLE when shutting down. Nothing changes when it throws.
   */
  public PendingAcquire acquire(AcquireSpec spec, String principal, AcquireCallback callback) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        if (shutDown) {
          throw new BrokerException(UNAVAILABLE, "broker is shutting down");
        }
        long now = time.nanoTime();
        Session session = liveSession(spec.sessionId(), principal, now, fx);
        requireModule(spec);
        RecentRequests.Entry entry = null;
        if (!spec.requestId().isEmpty()) {
          RecentRequests.Entry first = session.recentRequests().get(spec.requestId());
          if (first != null) {
            return repeat(first, spec, callback, fx);
          }
          entry = session.recentRequests().remember(spec.requestId(), spec);
        }
        checkLeaseCap(principal);
        Admission.Verdict verdict = evaluate(session, spec, null);
        if (verdict.refusal() == null) {
          Decision granted = new Decision.Granted(grant(session, spec, now, fx));
          answered(entry, granted, callback, fx);
          return () -> {};
        }
        if (!verdict.blocker().waitable(spec.waitNanos(), verdict.refusal())) {
          answered(entry, verdict.refusal(), callback, fx);
          refused(spec, verdict.refusal(), now, fx);
          return () -> {};
        }
        if (verdict.blocker() == Admission.Blocker.RATE_LIMITED) {
          scheduleWake(spec.kind(), now + verdict.refusal().retryAfterNanos());
        }
        int queueCap = policy.caps().queued();
        if (queueCap > 0 && usage.queued(principal) >= queueCap) {
          if (entry != null) {
            session.recentRequests().forget(spec.requestId(), entry);
          }
          throw new BrokerException(
              RESOURCE_EXHAUSTED,
              "principal '"
                  + principal
                  + "' has "
                  + queueCap
                  + " acquires waiting, its cap (caps.queued_per_principal)");
        }
        Waiter waiter = new Waiter(spec, principal, waiterSeq++, now + spec.waitNanos(), callback);
        usage.enqueued(principal);
        queues.get(spec.kind()).add(waiter);
        waiter.timeout(time.schedule(() -> timedOut(waiter), spec.waitNanos()));
        if (entry != null) {
          entry.waiting(waiter);
        }
        return () -> cancel(waiter, callback);
      }
    } finally {
      fx.run();
    }
  }

  @GuardedBy("lock")
  private void refused(AcquireSpec spec, Decision.Refused refusal, long now, Effects fx) {
    counters.refused(refusal.reason());
    admission.refused(spec, refusal, now);
    fx.add(() -> listeners.forEach(l -> l.refused(spec, refusal)));
  }

  /** Wakes a kind's queue at {@code atNanos}, when a waiting host gets its token. */
  @GuardedBy("lock")
  private void scheduleWake(ResourceKind kind, long atNanos) {
    Long current = wakeAt.get(kind);
    if (current != null && current <= atNanos) {
      return;
    }
    Cancellable previous = wakeTasks.remove(kind);
    if (previous != null) {
      previous.cancel();
    }
    wakeAt.put(kind, atNanos);
    wakeTasks.put(kind, time.schedule(() -> wake(kind, atNanos), atNanos - time.nanoTime()));
  }

  private void wake(ResourceKind kind, long atNanos) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        Long current = wakeAt.get(kind);
        if (current == null || current != atNanos) {
          return; // superseded by an earlier wake
        }
        wakeAt.remove(kind);
        wakeTasks.remove(kind);
        pump(kind, time.nanoTime(), fx);
      }
    } finally {
      fx.run();
    }
  }

  /** Leases held plus acquires waiting may not pass the principal's lease cap. */
  @GuardedBy("lock")
  private void checkLeaseCap(String principal) {
    int cap = policy.caps().leases();
    if (cap > 0 && usage.leases(principal) + usage.queued(principal) >= cap) {
      throw new BrokerException(
          RESOURCE_EXHAUSTED,
          "principal '"
              + principal
              + "' holds or awaits "
              + cap
              + " leases, its cap (caps.leases_per_principal)");
    }
  }

  @GuardedBy("lock")
  private PendingAcquire repeat(
      RecentRequests.Entry first, AcquireSpec spec, AcquireCallback callback, Effects fx) {
    if (!first.spec().sameRequestAs(spec)) {
      throw new BrokerException(
          FAILED_PRECONDITION,
          "request_id: '"
              + spec.requestId()
              + "' was first used for a different request ("
              + first.spec().kind()
              + (first.spec().url().isEmpty() ? "" : " " + first.spec().url())
              + ")");
    }
    if (first.decision() != null) {
      Decision decision = first.decision();
      fx.add(() -> callback.decided(decision));
      return () -> {};
    }
    Waiter waiter = first.pending();
    waiter.attach(callback);
    return () -> cancel(waiter, callback);
  }

  @GuardedBy("lock")
  private void answered(
      RecentRequests.Entry entry, Decision decision, AcquireCallback callback, Effects fx) {
    if (entry != null) {
      entry.answered(decision);
    }
    fx.add(() -> callback.decided(decision));
  }

  private void cancel(Waiter waiter, AcquireCallback callback) {
    synchronized (lock) {
      if (waiter.isDone()) {
        return;
      }
      waiter.detach(callback);
      if (!waiter.hasCallers()) {
        // Abandoned by everyone. While another caller of the same request id remains, the
        // waiter stays, and its timeout (or a grant) answers that caller.
        queues.get(waiter.spec().kind()).remove(waiter);
        complete(waiter);
        forgetRequest(waiter);
      }
    }
  }

  private void timedOut(Waiter waiter) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        if (waiter.isDone()) {
          return;
        }
        queues.get(waiter.spec().kind()).remove(waiter);
        AcquireSpec spec = waiter.spec();
        // Name the rule that still blocks (a host's rate, memory pressure, the pool), so the
        // detail and retry_after of a TIMEOUT say what the caller waited for in vain.
        Session session = sessions.get(spec.sessionId());
        Decision.Refused blocking =
            session != null ? evaluate(session, spec, null).refusal() : null;
        Decision.Refused refusal =
            new Decision.Refused(
                RefusalReason.TIMEOUT,
                blocking != null
                    ? blocking.retryAfterNanos()
                    : config.exhaustedRetryAfter().toNanos(),
                "waited "
                    + Durations.format(Duration.ofNanos(spec.waitNanos()))
                    + " for a "
                    + spec.kind()
                    + " slot: "
                    + (blocking != null ? blocking.detail() : poolDetail(spec.kind())));
        decide(waiter, refusal, fx);
        refused(spec, refusal, time.nanoTime(), fx);
      }
    } finally {
      fx.run();
    }
  }

  @GuardedBy("lock")
  private void decide(Waiter waiter, Decision decision, Effects fx) {
    List<AcquireCallback> callers = complete(waiter);
    Session session = sessions.get(waiter.spec().sessionId());
    if (session != null && !waiter.spec().requestId().isEmpty()) {
      RecentRequests.Entry entry = session.recentRequests().get(waiter.spec().requestId());
      if (entry != null && entry.pending() == waiter) {
        entry.answered(decision);
      }
    }
    for (AcquireCallback caller : callers) {
      fx.add(() -> caller.decided(decision));
    }
  }

  /** Marks a waiter answered (once) and returns whom to tell; it no longer counts as queued. */
  @GuardedBy("lock")
  private List<AcquireCallback> complete(Waiter waiter) {
    if (waiter.isDone()) {
      return List.of();
    }
    usage.dequeued(waiter.principal());
    return waiter.complete();
  }

  @GuardedBy("lock")
  private void fail(Waiter waiter, BrokerException error, Effects fx) {
    for (AcquireCallback caller : complete(waiter)) {
      fx.add(() -> caller.failed(error));
    }
  }

  @GuardedBy("lock")
  private void forgetRequest(Waiter waiter) {
    Session session = sessions.get(waiter.spec().sessionId());
    if (session != null && !waiter.spec().requestId().isEmpty()) {
      RecentRequests.Entry entry = session.recentRequests().get(waiter.spec().requestId());
      if (entry != null && entry.pending() == waiter) {
        session.recentRequests().forget(waiter.spec().requestId(), entry);
      }
    }
  }

  /** Runs the admission checks for one acquire of {@code session}. */
  @GuardedBy("lock")
  private Admission.Verdict evaluate(
      Session session, AcquireSpec spec, List<Admission.Step> steps) {
    ResourceKind kind = spec.kind();
    Admission.Facts facts =
        admission.facts(
            config,
            spec,
            draining,
            session.draining(),
            kind == ResourceKind.WASM && leases.firstOf(session.id(), kind) != null,
            config.perSessionLimit(kind) > 0 ? leases.countOf(session.id(), kind) : 0,
            leases.inUse(kind),
            queues.get(kind).size(),
            config.heartbeatInterval().toNanos(),
            Math.max(0, recoveryUntilNanos - time.nanoTime()),
            time.nanoTime());
    return Admission.evaluate(config, spec, facts, steps);
  }

  @GuardedBy("lock")
  private String poolDetail(ResourceKind kind) {
    return Admission.poolDetail(
        kind,
        leases.inUse(kind),
        admission.effectiveLimit(kind, config.limit(kind)),
        queues.get(kind).size());
  }

  /** The module a WASM acquire asks for: the one it names, else the configured default. */
  @GuardedBy("lock")
  private String moduleOf(AcquireSpec spec) {
    return spec.module().isEmpty() ? config.defaultWasmModule() : spec.module();
  }

  /**
   * Fails a WASM acquire for a module the broker does not serve, before anything changes. With no
   * modules configured WASM leases are plain capacity, and any name goes.
   */
  @GuardedBy("lock")
  private void requireModule(AcquireSpec spec) {
    if (spec.kind() != ResourceKind.WASM || modules.isEmpty()) {
      return;
    }
    String name = moduleOf(spec);
    if (modules.find(name).isEmpty()) {
      String served = String.join(", ", modules.modules().stream().map(WasmModule::name).toList());
      throw BrokerException.invalid(
          "module",
          (spec.module().isEmpty()
                  ? "none named, and the default module '" + name + "' is not served"
                  : "no WASM module '" + name + "' is served")
              + " (modules: "
              + served
              + ")");
    }
  }

  @GuardedBy("lock")
  private Lease grant(Session session, AcquireSpec spec, long now, Effects fx) {
    ResourceKind kind = spec.kind();
    if (kind == ResourceKind.WASM) {
      Lease held = leases.firstOf(session.id(), kind);
      if (held != null) {
        wasmUse.used(held.id(), now); // asking again means it is wanted
        return held;
      }
    }
    int memory =
        spec.memoryEstimateMb() > 0 ? spec.memoryEstimateMb() : config.memoryEstimateMb(kind);
    String module = kind == ResourceKind.WASM ? moduleOf(spec) : "";
    // A module removed by a reload since the acquire was admitted leaves the digest empty.
    String digest =
        kind == ResourceKind.WASM ? modules.find(module).map(WasmModule::digest).orElse("") : "";
    Lease lease =
        new Lease(
            ids.next(),
            kind,
            tokens.next(),
            session.id(),
            spec.host(),
            module,
            digest,
            memory,
            now,
            now + config.maxHold(kind).toNanos());
    leases.add(lease);
    usage.leaseGranted(session.principal());
    if (kind == ResourceKind.WASM) {
      wasmUse.used(lease.id(), now);
    }
    admission.granted(lease, now);
    counters.granted();
    String worker = session.workerId();
    fx.add(() -> listeners.forEach(l -> l.granted(lease, worker)));
    return lease;
  }

  /**
   * Grants queued waiters of {@code kind} in queue order while capacity lasts. A waiter blocked
   * only for itself (its host has no token yet, its worker is under memory pressure, its session
   * holds its limit) is passed over, not allowed to block those behind it; a blocker that applies
   * to everyone (pool full, fleet memory pressure) ends the pass.
   */
  @GuardedBy("lock")
  private void pump(ResourceKind kind, long now, Effects fx) {
    WaitQueue queue = queues.get(kind);
    long nextToken = Long.MAX_VALUE;
    for (Iterator<Waiter> it = queue.iterator(); it.hasNext(); ) {
      Waiter waiter = it.next();
      if (waiter.isDead(now)) {
        it.remove();
        continue; // its timeout task answers it, if anyone still listens
      }
      Session session = sessions.get(waiter.spec().sessionId());
      if (session == null) {
        it.remove();
        fail(waiter, sessionGone(waiter.spec().sessionId()), fx);
        continue;
      }
      if (SessionRegistry.isOverdue(session, now, ttlNanos())) {
        continue; // about to expire: the sweep ends it and fails its waiters
      }
      Admission.Verdict verdict = evaluate(session, waiter.spec(), null);
      Admission.Blocker blocker = verdict.blocker();
      if (blocker == Admission.Blocker.NONE) {
        it.remove();
        decide(waiter, new Decision.Granted(grant(session, waiter.spec(), now, fx)), fx);
      } else if (blocker == Admission.Blocker.DRAINING) {
        it.remove();
        decide(waiter, verdict.refusal(), fx);
        refused(waiter.spec(), verdict.refusal(), now, fx);
      } else if (blocker == Admission.Blocker.RATE_LIMITED) {
        nextToken = Math.min(nextToken, now + verdict.refusal().retryAfterNanos());
      } else if (blocker.blocksQueue()) {
        break;
      }
    }
    if (nextToken != Long.MAX_VALUE) {
      scheduleWake(kind, nextToken);
    }
  }

  // ---------------------------------------------------------------- release and revoke

  /**
   * Gives a lease back. Idempotent: releasing an ended lease reports how it ended.
   *
   * @throws BrokerException PERMISSION_DENIED when the lease belongs to another session or the
   *     session to another principal; NOT_FOUND when the lease is unknown
   */
  public EndResult release(String sessionId, String leaseId, String principal, Outcome outcome) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        long now = time.nanoTime();
        Session holder = sessions.get(sessionId);
        if (holder != null) {
          expireIfDue(holder, now, fx); // a release after the TTL reports SESSION_EXPIRED
        }
        Lease lease = leases.get(leaseId);
        if (lease != null) {
          if (!lease.sessionId().equals(sessionId)) {
            throw BrokerException.denied(
                "lease_id: lease " + leaseId + " belongs to another session");
          }
          Session session = sessions.get(sessionId);
          if (session != null && !session.principal().equals(principal)) {
            throw BrokerException.denied(
                "session_id: session " + sessionId + " belongs to another principal");
          }
          endLease(lease, LeaseEnd.RELEASED, null, outcome, now, fx);
          return new EndResult(true, LeaseEnd.RELEASED, null);
        }
        return alreadyEnded(leaseId, sessionId);
      }
    } finally {
      fx.run();
    }
  }

  @GuardedBy("lock")
  private EndResult alreadyEnded(String leaseId, String sessionId) {
    LeaseTable.Ended ended = leases.ended(leaseId);
    if (ended == null) {
      throw BrokerException.notFound(
          "lease_id: no lease "
              + leaseId
              + " (never granted, or ended more than "
              + Durations.format(config.endedLeaseMemory())
              + " ago)");
    }
    if (sessionId != null && !ended.sessionId().equals(sessionId)) {
      throw BrokerException.denied("lease_id: lease " + leaseId + " belongs to another session");
    }
    return new EndResult(false, ended.end(), ended.revokeReason());
  }

  /**
   * Revokes a lease now: its capacity returns at once and its holder is told over its stream.
   *
   * @param grace how long the holder may still finish; null for the configured default
   * @throws BrokerException NOT_FOUND when the lease is unknown
   */
  public EndResult revoke(String leaseId, RevokeReason reason, Duration grace) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        long now = time.nanoTime();
        Lease lease = leases.get(leaseId);
        if (lease == null) {
          return alreadyEnded(leaseId, null);
        }
        long graceNanos = (grace != null ? grace : config.revokeGrace()).toNanos();
        LeaseEnd how = revokeLease(lease, reason, graceNanos, now, fx);
        return new EndResult(true, how, reason);
      }
    } finally {
      fx.run();
    }
  }

  /** Ends a lease on the broker's initiative and tells its holder; returns how it ended. */
  @GuardedBy("lock")
  private LeaseEnd revokeLease(
      Lease lease, RevokeReason reason, long graceNanos, long now, Effects fx) {
    LeaseEnd how = reason == RevokeReason.MAX_HOLD ? LeaseEnd.MAX_HOLD : LeaseEnd.REVOKED;
    endLease(lease, how, reason, Outcome.UNKNOWN, now, fx);
    Session session = sessions.get(lease.sessionId());
    if (session != null && session.channel() != null) {
      SessionChannel channel = session.channel();
      long commandId = session.nextCommandId();
      fx.add(() -> channel.revoke(commandId, lease.id(), reason, graceNanos));
    }
    return how;
  }

  @GuardedBy("lock")
  private void endLease(
      Lease lease, LeaseEnd how, RevokeReason reason, Outcome outcome, long now, Effects fx) {
    leases.end(lease.id(), how, reason, now);
    Session holder = sessions.get(lease.sessionId());
    if (holder != null) {
      usage.leaseEnded(holder.principal());
    }
    wasmUse.ended(lease.id());
    if (outcome != Outcome.UNKNOWN) {
      admission.reported(lease, outcome, now);
    }
    fx.add(() -> listeners.forEach(l -> l.ended(lease, how, reason, outcome)));
    pump(lease.kind(), now, fx);
  }

  // ---------------------------------------------------------------- drain and shutdown

  /**
   * Stops new grants to one session and tells its worker to finish by the deadline.
   *
   * @return the number of leases the session still holds
   */
  public int drainSession(String sessionId, Duration deadline) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        long now = time.nanoTime();
        Session session = sessions.get(sessionId);
        if (session == null || expireIfDue(session, now, fx)) {
          throw sessionGone(sessionId);
        }
        session.drain();
        pushDrain(session, deadline, fx);
        refuseWaiters(sessionId, "session " + sessionId + " is draining", now, fx);
        return leases.idsOf(sessionId).size();
      }
    } finally {
      fx.run();
    }
  }

  /**
   * Answers waiting acquires DRAINING at once — of one session, or every one when {@code sessionId}
   * is null — wherever they stand in their queues.
   */
  @GuardedBy("lock")
  private void refuseWaiters(String sessionId, String detail, long now, Effects fx) {
    Decision.Refused refusal =
        new Decision.Refused(RefusalReason.DRAINING, config.drainDeadline().toNanos(), detail);
    for (WaitQueue queue : queues.values()) {
      for (Iterator<Waiter> it = queue.iterator(); it.hasNext(); ) {
        Waiter waiter = it.next();
        if (sessionId == null || waiter.spec().sessionId().equals(sessionId)) {
          it.remove();
          decide(waiter, refusal, fx);
          refused(waiter.spec(), refusal, now, fx);
        }
      }
    }
  }

  /** Tells a worker to finish its work by the deadline and acquire nothing new. */
  @GuardedBy("lock")
  private void pushDrain(Session session, Duration deadline, Effects fx) {
    SessionChannel channel = session.channel();
    if (channel != null) {
      long commandId = session.nextCommandId();
      Instant at = time.wallTime().plus(deadline != null ? deadline : config.drainDeadline());
      fx.add(() -> channel.drain(commandId, at));
    }
  }

  /** Stops (or, with {@code resume}, restarts) new grants broker-wide. */
  public void drainBroker(boolean resume, Duration deadline) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        // A broker drain is one flag, not a mark on every session, so lifting it restores every
        // session that was not drained on its own.
        draining = !resume;
        long now = time.nanoTime();
        if (!resume) {
          for (Session session : sessions.all()) {
            pushDrain(session, deadline, fx);
          }
          refuseWaiters(null, "broker is draining", now, fx);
        }
      }
    } finally {
      fx.run();
    }
  }

  /**
   * Begins shutdown: new opens and acquires fail UNAVAILABLE, waiting acquires are refused
   * DRAINING, and every session stream is closed. Leases are not ended: a restarted broker lets
   * workers re-declare them.
   */
  public void shutdown() {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        if (shutDown) {
          return;
        }
        shutDown = true;
        draining = true;
        refuseWaiters(null, "broker is shutting down", time.nanoTime(), fx);
        for (Session session : sessions.all()) {
          SessionChannel channel = session.channel();
          session.attach(null);
          if (channel != null) {
            fx.add(() -> channel.close(CloseReason.SHUTDOWN, "broker is shutting down"));
          }
        }
      }
      sweeper.cancel();
    } finally {
      fx.run();
    }
  }

  @Override
  public void close() {
    shutdown();
  }

  // ---------------------------------------------------------------- expiry

  /**
   * Ends what is due: sessions past their TTL (with their leases) and leases past their max hold.
   * Runs every sweep interval; tests call it after advancing a fake clock.
   */
  @VisibleForTesting
  public void sweep() {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        long now = time.nanoTime();
        for (Session session : sessions.overdue(now, ttlNanos())) {
          endSession(session, true, now, fx);
        }
        for (Lease lease : leases.expiredAt(now)) {
          revokeLease(lease, RevokeReason.MAX_HOLD, 0, now, fx);
        }
        revokeIdle(now, fx);
        checkMemory(now, fx);
        for (LimitChange change : admission.tick(config, now)) {
          fx.add(() -> listeners.forEach(l -> l.limitChanged(change)));
          if (change.to() > change.from()) {
            pump(change.kind(), now, fx);
          }
        }
        leases.forgetEndedBefore(now - config.endedLeaseMemory().toNanos());
      }
    } catch (RuntimeException e) {
      log.error("sweep failed", e);
    } finally {
      fx.run();
    }
  }

  /**
   * Re-evaluates memory pressure (the broker's heap included): announces transitions, lets waiting
   * acquires go when pressure lifts, and asks the heaviest workers to free memory while it lasts.
   */
  @GuardedBy("lock")
  private void checkMemory(long now, Effects fx) {
    PressureChange change = admission.evaluateMemory(now, heap.usedBytes(), heap.maxBytes());
    if (change.changed()) {
      fx.add(() -> listeners.forEach(l -> l.pressureChanged(change)));
      if (change.turnedOff() || change.workers().stream().anyMatch(w -> w.turnedOff())) {
        pumpMemoryBound(now, fx);
      }
    }
    for (CleanupTarget target : admission.cleanupTargets(now)) {
      Session session = sessions.get(target.sessionId());
      SessionChannel channel = session != null ? session.channel() : null;
      if (channel != null) {
        long commandId = session.nextCommandId();
        fx.add(() -> channel.cleanup(commandId, target.targetFreeMb(), target.reason()));
      }
    }
  }

  /**
   * Revokes WASM leases unused for longer than the idle timeout — the original resource manager's
   * stale-instance cleanup. The holder is told (reason IDLE) and may acquire again when it next
   * needs an instance.
   */
  @GuardedBy("lock")
  private void revokeIdle(long now, Effects fx) {
    long timeout = modules.idleTimeout().toNanos();
    if (timeout <= 0) {
      return;
    }
    for (String leaseId : wasmUse.idleSince(now - timeout)) {
      Lease lease = leases.get(leaseId);
      if (lease == null) {
        wasmUse.ended(leaseId);
      } else {
        revokeLease(lease, RevokeReason.IDLE, config.revokeGrace().toNanos(), now, fx);
      }
    }
  }

  @GuardedBy("lock")
  private long ttlNanos() {
    return config.sessionTtl().toNanos();
  }

  // ---------------------------------------------------------------- views

  /** Leases of a kind in use now. */
  public int inUse(ResourceKind kind) {
    synchronized (lock) {
      return leases.inUse(kind);
    }
  }

  /** Acquires of a kind waiting now. */
  public int queued(ResourceKind kind) {
    synchronized (lock) {
      return queues.get(kind).size();
    }
  }

  /** Live sessions (connected or within their TTL). */
  public int sessionCount() {
    synchronized (lock) {
      return sessions.size();
    }
  }

  /** A copy of the live leases. */
  public List<Lease> leases() {
    synchronized (lock) {
      return new ArrayList<>(leases.all());
    }
  }

  /** Grants and refusals so far. */
  public BrokerCounters.Snapshot counters() {
    synchronized (lock) {
      return counters.snapshot();
    }
  }

  /** One consistent picture of the broker, for status pages. */
  public Views.Status status() {
    synchronized (lock) {
      long now = time.nanoTime();
      List<Views.Pool> pools = new ArrayList<>();
      for (ResourceKind kind : ResourceKind.values()) {
        int limit = config.limit(kind);
        int effective = admission.effectiveLimit(kind, limit);
        pools.add(
            new Views.Pool(
                kind,
                limit,
                effective,
                leases.inUse(kind),
                queues.get(kind).size(),
                effective == limit ? "" : admission.limitReason(kind)));
      }
      int connected = 0;
      for (Session session : sessions.all()) {
        if (session.channel() != null) {
          connected++;
        }
      }
      return new Views.Status(
          epoch,
          startedAtNanos,
          now,
          pools,
          connected,
          sessions.size() - connected,
          draining,
          counters.snapshot(),
          new Views.Pressure(
              admission.pressure(),
              admission.fleetUsedMb(),
              admission.fleetLimitMb(),
              admission.pressureTrigger()),
          admission.degradationScore(ResourceKind.RENDER),
          admission.hottestHosts(HOT_HOSTS, now));
    }
  }

  /**
   * Live sessions ordered by id, for paging.
   *
   * @param workerId only this worker's sessions, when not empty
   * @param afterId only sessions whose id sorts after this, when not empty
   */
  public List<Views.Session> sessions(String workerId, String afterId, int limit) {
    synchronized (lock) {
      return sessions.all().stream()
          .filter(s -> workerId.isEmpty() || s.workerId().equals(workerId))
          .filter(s -> afterId.isEmpty() || s.id().compareTo(afterId) > 0)
          .sorted(java.util.Comparator.comparing(Session::id))
          .limit(limit)
          .map(
              s ->
                  new Views.Session(
                      s.id(),
                      s.workerId(),
                      s.labels(),
                      s.channel() != null,
                      s.draining() || draining,
                      s.openedAtNanos(),
                      s.lastSeenNanos(),
                      s.memoryUsedMb(),
                      s.memoryLimitMb(),
                      leases.idsOf(s.id()).size()))
          .toList();
    }
  }

  /**
   * Live leases in grant order (by fencing token), for paging. Empty or null filters match all.
   *
   * @param afterToken only leases with a greater fencing token
   */
  public List<Views.LeaseInfo> leases(
      String workerId,
      ResourceKind kind,
      String host,
      String sessionId,
      long afterToken,
      int limit) {
    synchronized (lock) {
      return leases.all().stream()
          .filter(l -> kind == null || l.kind() == kind)
          .filter(l -> host.isEmpty() || l.host().equals(host))
          .filter(l -> sessionId.isEmpty() || l.sessionId().equals(sessionId))
          .filter(l -> Long.compareUnsigned(l.fencingToken(), afterToken) > 0)
          .map(l -> new Views.LeaseInfo(l, workerOf(l.sessionId())))
          .filter(i -> workerId.isEmpty() || i.workerId().equals(workerId))
          .sorted(
              (a, b) -> Long.compareUnsigned(a.lease().fencingToken(), b.lease().fencingToken()))
          .limit(limit)
          .toList();
    }
  }

  @GuardedBy("lock")
  private String workerOf(String sessionId) {
    Session session = sessions.get(sessionId);
    return session != null ? session.workerId() : "";
  }

  /**
   * What an acquire would be answered now and which rule decides, without granting anything.
   *
   * @throws BrokerException NOT_FOUND when the session is not live
   */
  public Views.Explained explain(AcquireSpec spec) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        Session session = sessions.get(spec.sessionId());
        if (session == null || expireIfDue(session, time.nanoTime(), fx)) {
          throw sessionGone(spec.sessionId());
        }
        requireModule(spec);
        List<Admission.Step> steps = new ArrayList<>();
        return new Views.Explained(evaluate(session, spec, steps), steps);
      }
    } finally {
      fx.run();
    }
  }

  /**
   * Replaces the broker's policy live. Leases are kept: a lowered limit only stops new grants until
   * use falls below it; a raised one grants queued acquires at once.
   */
  public void updateConfig(BrokerConfig newConfig) {
    updatePolicy(policy().withBroker(newConfig));
  }

  /**
   * Replaces the whole admission policy live: pool limits, host rates, memory thresholds and
   * degradation settings. Leases and sessions are kept; queued acquires are re-examined at once.
   */
  public void updatePolicy(Policy newPolicy) {
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        long now = time.nanoTime();
        policy = newPolicy;
        config = newPolicy.broker();
        admission.update(newPolicy.rateLimit(), newPolicy.memory(), newPolicy.performance(), now);
        for (ResourceKind kind : ResourceKind.values()) {
          pump(kind, now, fx);
        }
      }
    } finally {
      fx.run();
    }
  }
}
