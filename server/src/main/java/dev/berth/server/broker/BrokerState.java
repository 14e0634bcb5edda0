package dev.berth.server.broker;

import static dev.berth.server.failure.BrokerException.Code.UNAVAILABLE;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AdmissionController;
import dev.berth.server.admission.Jobs;
import dev.berth.server.admission.Request;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.LeaseTable;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionRegistry;
import dev.berth.server.settings.Durations;
import dev.berth.server.time.TimeSource;
import dev.berth.server.wasm.IdleTracker;
import dev.berth.server.wasm.ModuleRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the broker knows, behind its one lock, and the way every command runs: take the lock,
 * change state, collect {@link Effects}, release the lock, run the effects. The command classes
 * ({@link SessionCommands}, {@link AcquireCommands}, {@link EndCommands}, {@link Housekeeping},
 * {@link StatusViews}) share one instance and touch the guarded fields only inside {@link
 * #command}, or in methods documented as called with the lock held.
 */
final class BrokerState {
  private static final Logger log = LoggerFactory.getLogger(Broker.class);

  /** A unit of work under the lock; {@code now} is read once, after the lock is taken. */
  @FunctionalInterface
  interface Command<T> {
    T run(long now, Effects fx);
  }

  /** A {@link Command} with nothing to return, run by {@link #act}. */
  @FunctionalInterface
  interface Action {
    void run(long now, Effects fx);
  }

  final Object lock = new Object();
  final TimeSource time;

  /**
   * This run's durable epoch; fencing tokens of earlier epochs are below every token of it. A
   * cluster member replaces it with the cluster's epoch when it starts to lead (under the lock).
   */
  volatile long epoch;

  final LeaseIds ids;
  final List<BrokerListener> listeners = new CopyOnWriteArrayList<>();
  final HeapProbe heap;

  /** The WASM modules served and the idle timeout; thread-safe on its own. */
  final ModuleRegistry modules;

  final long startedAtNanos;

  /**
   * Until when leases of the previous broker run may be re-declared (one session TTL after a
   * restart, or after a cluster member starts to lead); no new grants before then, so the fleet
   * never holds more than a pool's limit. Written under the lock.
   */
  volatile long recoveryUntilNanos;

  /**
   * The policy in force and its broker part. Replaced whole, under the lock; volatile so the gRPC
   * edge (e.g. the call-rate cap, read on every call) can read them without taking the lock.
   */
  volatile Policy policy;

  volatile BrokerConfig config;

  /** Host rates, memory pressure and degradation-adjusted limits. */
  @GuardedBy("lock")
  final AdmissionController admission;

  /** The crawl jobs in force: what each holds and waits for, and its fair-queue standing. */
  @GuardedBy("lock")
  final Jobs jobs;

  /** When each live WASM lease was last used, for IDLE revocation. */
  @GuardedBy("lock")
  final IdleTracker wasmUse = new IdleTracker();

  @GuardedBy("lock")
  final FencingTokens tokens;

  @GuardedBy("lock")
  final SessionRegistry sessions = new SessionRegistry();

  @GuardedBy("lock")
  final LeaseTable leases;

  @GuardedBy("lock")
  final BrokerCounters counters = new BrokerCounters();

  @GuardedBy("lock")
  final PrincipalUsage usage = new PrincipalUsage();

  /**
   * Where lease-state changes are journaled for the cluster's replicas; {@link Journal#NONE} for a
   * lone broker, which then builds no entry at all ({@link #journaling}).
   */
  volatile Journal journal = Journal.NONE;

  /**
   * Whether {@link #journal} records anything; false while a takeover loads the replica's state.
   */
  @GuardedBy("lock")
  boolean journaling;

  /**
   * Until when, after taking over from a replica, {@link #heldBack} slots per pool stay free for
   * leases an earlier leader may have granted without their journal entry being committed.
   */
  @GuardedBy("lock")
  long holdBackUntilNanos;

  /** Slots held back per pool (by {@link ResourceKind#index}) until {@link #holdBackUntilNanos}. */
  @GuardedBy("lock")
  final int[] heldBack = new int[ResourceKind.COUNT];

  /**
   * The latest 429/503 penalty of each host, most recent last, bounded; what a handoff or a state
   * file carries so that the next broker keeps slowing those hosts.
   */
  @GuardedBy("lock")
  final java.util.LinkedHashMap<String, Fleet.HostPenalty> penalties =
      new java.util.LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Fleet.HostPenalty> eldest) {
          return size() > PENALTIES_KEPT;
        }
      };

  static final int PENALTIES_KEPT = 1024;

  /** No new grants broker-wide (an operator's drain, or shutdown). */
  @GuardedBy("lock")
  boolean draining;

  /** The deadline of the operator's broker-wide drain, told to sessions that open during it. */
  @GuardedBy("lock")
  Instant drainDeadlineAt;

  @GuardedBy("lock")
  boolean shutDown;

  /**
   * When the last command ran under the lock. The sweep runs one every sweep interval, so a longer
   * gap means the broker itself stood still; see {@link #noticeStall}.
   */
  @GuardedBy("lock")
  private long lastRunNanos;

  BrokerState(
      Policy policy,
      TimeSource time,
      long epoch,
      FencingTokens.EpochSupplier nextEpoch,
      LeaseIds ids,
      HeapProbe heap,
      ModuleRegistry modules) {
    this.policy = policy;
    this.config = policy.broker();
    this.time = time;
    this.epoch = epoch;
    this.ids = ids;
    this.heap = heap;
    this.modules = modules;
    this.startedAtNanos = time.nanoTime();
    this.lastRunNanos = startedAtNanos;
    this.jobs = new Jobs(policy.jobs());
    this.admission =
        new AdmissionController(
            policy.rateLimit(), policy.memory(), policy.performance(), jobs, startedAtNanos);
    this.tokens = new FencingTokens(epoch, nextEpoch);
    this.leases = new LeaseTable(config.endedLeasesRemembered());
    this.recoveryUntilNanos = epoch > 1 ? startedAtNanos + config.sessionTtl().toNanos() : 0;
  }

  /** Runs {@code command} under the lock, then its effects outside it (also when it throws). */
  <T> T command(Command<T> command) {
    if (LockTiming.ENABLED) {
      return timed(command.getClass(), command);
    }
    Effects fx = new Effects();
    try {
      synchronized (lock) {
        return run(command, fx);
      }
    } finally {
      fx.run();
    }
  }

  /** Runs {@code command} at the clock's time, after any stall since the last one. Lock held. */
  @GuardedBy("lock")
  private <T> T run(Command<T> command, Effects fx) {
    long now = time.nanoTime();
    noticeStall(now, fx);
    return command.run(now, fx);
  }

  /**
   * A gap of more than two sweep intervals since the last command means the broker did not run (a
   * long GC pause, SIGSTOP, a suspended machine): the periodic sweep alone runs a command every
   * interval. Heartbeats sent in that time wait unread in the sockets, so the time does not count
   * against sessions: their deadlines move back by the gap beyond one interval. Without this, the
   * first sweep after the pause would expire every session at once (with all its leases), blaming
   * workers for the broker's pause. Max hold, waits and host rates keep counting.
   */
  @GuardedBy("lock")
  private void noticeStall(long now, Effects fx) {
    long gap = now - lastRunNanos;
    lastRunNanos = now;
    long interval = config.sweepInterval().toNanos();
    if (gap > 2 * interval && sessions.size() > 0) {
      long excused = gap - interval;
      sessions.excuse(excused);
      int count = sessions.size();
      fx.add(
          () ->
              log.warn(
                  "the broker did not run for {} (a GC pause, SIGSTOP or a suspended machine?): {}"
                      + " not counted against the TTL of {} session(s)",
                  Durations.format(Duration.ofNanos(gap)),
                  Durations.format(Duration.ofNanos(excused)),
                  count));
    }
  }

  /**
   * {@link #command} with the lock's wait and hold times recorded ({@link LockTiming}, opt-in for
   * measurements) under the name of {@code site}'s caller. The record is made after the lock is
   * released, so only the two clock reads around the command count as held beyond its work.
   */
  private <T> T timed(Class<?> site, Command<T> command) {
    Effects fx = new Effects();
    long asked = System.nanoTime();
    long taken = asked;
    long released = asked;
    try {
      synchronized (lock) {
        taken = System.nanoTime();
        try {
          return run(command, fx);
        } finally {
          released = System.nanoTime();
        }
      }
    } finally {
      LockTiming.record(site, taken - asked, released - taken);
      fx.run();
    }
  }

  /** Runs {@code action} under the lock, then its effects outside it (also when it throws). */
  void act(Action action) {
    Command<Void> command =
        (now, fx) -> {
          action.run(now, fx);
          return null;
        };
    if (LockTiming.ENABLED) {
      timed(action.getClass(), command); // named by the action's call site, not this adapter's
      return;
    }
    command(command);
  }

  /** Tells {@link LockTiming} how the acquire running now was answered; nothing when off. */
  static void timedOutcome(LockTiming.Outcome outcome) {
    if (LockTiming.ENABLED) {
      LockTiming.outcome(outcome);
    }
  }

  /** Tells every listener, after the lock is released. */
  void tell(Consumer<BrokerListener> event, Effects fx) {
    fx.tell(listeners, event);
  }

  /**
   * This broker starts to lead its cluster: every host bucket starts empty now, the broker's and
   * each job's own, so no host and no job's share of a host gets a second burst across the change.
   */
  @GuardedBy("lock")
  void hostsStartEmpty(long now) {
    admission.hostsStartEmpty(now);
    jobs.hostsStartEmpty(now);
  }

  /** Fails a command that would start new work once shutdown has begun. Lock held. */
  @GuardedBy("lock")
  void requireRunning() {
    if (shutDown) {
      throw new BrokerException(UNAVAILABLE, "broker is shutting down");
    }
  }

  /** Slots of {@code kind} held back after a takeover at {@code now}. Lock held. */
  @GuardedBy("lock")
  int heldBack(ResourceKind kind, long now) {
    return now < holdBackUntilNanos ? heldBack[kind.index()] : 0;
  }

  /**
   * The limit admission enforces for {@code kind} at {@code now}, with the jobs' guaranteed mins of
   * the kind scaled to the part of it not {@link #heldBack held back} ({@link
   * AdmissionController#effectiveLimit}). Lock held.
   */
  @GuardedBy("lock")
  int effectiveLimit(ResourceKind kind, long now) {
    return admission.effectiveLimit(kind, config.limit(kind), heldBack(kind, now));
  }

  /** Whether leases of an earlier run or leader may be re-declared at {@code now}. Lock held. */
  @GuardedBy("lock")
  boolean redeclaring(long now) {
    return now < recoveryUntilNanos || now < holdBackUntilNanos;
  }

  /** Journals that {@code session} opened. Lock held. */
  @GuardedBy("lock")
  void journalOpened(Session session) {
    if (journaling) {
      journal.sessionOpened(entryOf(session));
    }
  }

  /** {@code session} as a value another broker can load. */
  Fleet.SessionEntry entryOf(Session session) {
    return new Fleet.SessionEntry(
        session.id(),
        session.workerId(),
        session.principal(),
        session.labels(),
        session.memoryLimitMb(),
        session.requestedJob(),
        time.toWall(session.openedAtNanos()).toEpochMilli());
  }

  /**
   * {@code lease}, taken by a request that asked for {@code asked}, as a value another broker can
   * load.
   */
  Fleet.LeaseEntry entryOf(Lease lease, Fleet.Asked asked) {
    return new Fleet.LeaseEntry(
        lease.id(),
        lease.sessionId(),
        lease.kind(),
        lease.fencingToken(),
        lease.host(),
        lease.module(),
        lease.moduleDigest(),
        lease.memoryMb(),
        asked,
        time.toWall(lease.grantedAtNanos()).toEpochMilli(),
        Math.max(0, (lease.expiresAtNanos() - lease.grantedAtNanos()) / 1_000_000));
  }

  /**
   * Journals that {@code lease} was granted for item {@code item} of {@code request}, or, with a
   * null request, re-admitted or adopted (no request asked for it). Lock held.
   */
  @GuardedBy("lock")
  void journalGranted(Lease lease, Request<?> request, int item) {
    if (journaling) {
      Fleet.Asked asked = request == null ? Fleet.Asked.NONE : CarriedRequests.asked(request, item);
      journal.leaseGranted(entryOf(lease, asked));
    }
  }

  /** Journals that a lease ended. Lock held. */
  @GuardedBy("lock")
  void journalEnded(Lease lease, LeaseEnd how, RevokeReason reason) {
    if (journaling) {
      journal.leaseEnded(lease.id(), how, reason);
    }
  }

  /** When a drain asked now with {@code deadline} (null: the configured one) should be done. */
  @GuardedBy("lock")
  Instant drainDeadline(Duration deadline) {
    return time.wallTime().plus(deadline != null ? deadline : config.drainDeadline());
  }

  @GuardedBy("lock")
  long ttlNanos() {
    return config.sessionTtl().toNanos();
  }

  /** The session TTL of the policy in force, read without the lock (config is volatile). */
  long ttlNanosUnlocked() {
    return config.sessionTtl().toNanos();
  }

  /** NOT_FOUND for a session that is not live, saying why when the broker still remembers. */
  @GuardedBy("lock")
  BrokerException sessionGone(String sessionId) {
    String why = sessions.whyEnded(sessionId);
    return BrokerException.notFound(
        "session_id: no live session "
            + sessionId
            + (why != null ? " (" + why + ")" : " (never opened, or ended long ago)"));
  }
}
