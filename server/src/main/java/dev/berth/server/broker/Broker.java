package dev.berth.server.broker;

import com.google.common.annotations.VisibleForTesting;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.BundleDecision;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.Callback;
import dev.berth.server.admission.Decision;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.settings.Durations;
import dev.berth.server.time.TimeSource;
import dev.berth.server.time.TimeSource.Cancellable;
import dev.berth.server.wasm.InstanceStats;
import dev.berth.server.wasm.ModuleRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
import java.util.function.UnaryOperator;
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
 * <p>This class is the public face; the commands live in package-private classes by concern,
 * sharing one {@link BrokerState}: {@link SessionCommands}, {@link AcquireCommands}, {@link
 * EndCommands}, {@link Housekeeping} and {@link StatusViews}.
 *
 * <p>This class is thread-safe. It knows nothing of gRPC.
 */
public final class Broker implements AutoCloseable {
  /** Serializes read-modify-write changes of the policy ({@link #changingPolicy}). */
  private final java.util.concurrent.locks.ReentrantLock policyChanges =
      new java.util.concurrent.locks.ReentrantLock();

  private static final Logger log = LoggerFactory.getLogger(Broker.class);

  /** The answer to a hello. */
  public record Opened(
      String sessionId,
      long epoch,
      boolean resumed,
      List<String> lostLeases,
      long ttlNanos,
      long heartbeatIntervalNanos,
      Drain drain) {}

  /**
   * A drain to push to a session right after its {@code opened}: it opened or resumed while it, or
   * the whole broker, is drained.
   */
  public record Drain(long commandId, Instant deadline) {}

  /**
   * The answer to a heartbeat: the pressure for the worker, and the session's TTL and heartbeat
   * interval from this heartbeat on (a reload may have changed them), for its ack.
   */
  public record Beat(PressureLevel pressure, long ttlNanos, long heartbeatIntervalNanos) {}

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

  private final BrokerState state;
  private final AcquireCommands acquires;
  private final SessionCommands sessions;
  private final EndCommands ends;
  private final Housekeeping housekeeping;
  private final StatusViews views;
  private final Cancellable sweeper;

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
    this.state = new BrokerState(policy, time, epoch, nextEpoch, ids, heap, modules);
    this.acquires = new AcquireCommands(state);
    this.ends = new EndCommands(state, acquires);
    this.sessions = new SessionCommands(state, acquires, ends);
    this.housekeeping = new Housekeeping(state, sessions, acquires, ends);
    this.views = new StatusViews(state, sessions, acquires);
    this.sweeper = time.scheduleAtFixedRate(this::sweep, policy.broker().sweepInterval().toNanos());
    if (state.recoveryUntilNanos > 0) {
      time.schedule(this::recoveryOver, state.recoveryUntilNanos - state.startedAtNanos);
    }
  }

  public void addListener(BrokerListener listener) {
    state.listeners.add(listener);
  }

  /** This run's epoch, as told to workers in {@code opened}. */
  public long epoch() {
    return state.epoch;
  }

  public BrokerConfig config() {
    return state.config;
  }

  /** The WASM modules this broker serves. */
  public ModuleRegistry modules() {
    return state.modules;
  }

  /** The whole admission policy in force; read without the broker's lock. */
  public Policy policy() {
    return state.policy;
  }

  // ---------------------------------------------------------------- sessions

  /**
   * Opens a session, or resumes {@code hello.resumeSessionId} when it is still live.
   *
   * @throws BrokerException PERMISSION_DENIED when the session to resume belongs to someone else;
   *     RESOURCE_EXHAUSTED at the principal's session cap; UNAVAILABLE when shutting down
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public Opened open(HelloSpec hello, String principal, SessionChannel channel) {
    return state.command((now, fx) -> sessions.open(hello, principal, channel, now, fx));
  }

  // ---------------------------------------------------------------- cluster role

  /**
   * This broker starts to lead its cluster with the replicated fencing {@code epoch}: it forgets
   * any state of an earlier leadership (those sessions end), issues tokens from {@code epoch} on,
   * and opens the restart recovery window: for one session TTL, workers that resume their sessions
   * re-declare the leases they hold (kept with the same ids and tokens) and nothing new is granted,
   * exactly as after a restart of a lone broker.
   *
   * @throws IllegalArgumentException when {@code epoch} is not above this broker's epoch
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void takeOver(long epoch) {
    long ttl =
        state.command(
            (now, fx) -> {
              sessions.endAll("ended: this broker leads its cluster anew", now, fx);
              state.draining = false; // a drain of an earlier leadership (see stepDown)
              state.hostsStartEmpty(now);
              state.tokens.advanceTo(epoch);
              state.epoch = epoch;
              state.recoveryUntilNanos = now + state.ttlNanos();
              tellLeading(epoch, "leads its cluster with epoch " + epoch, fx);
              return state.ttlNanos();
            });
    state.time.schedule(this::recoveryOver, ttl);
    log.info(
        "leading with epoch {}: workers may re-declare their leases for {}",
        epoch,
        Durations.format(Duration.ofNanos(ttl)));
  }

  /**
   * This broker starts to lead its cluster from the cluster's replica of its predecessor's state:
   * it forgets any state of an earlier leadership of its own, issues tokens from {@code epoch} on,
   * and loads {@code fleet} (see {@link #load}): the same sessions (their TTL starts afresh now;
   * their workers must resume them within one TTL) and the same leases, ids and tokens. It grants
   * at once, except {@code heldBack.applyAsInt(kind)} slots of each pool: the replica may miss that
   * many grants of the pool its predecessor made without their journal entry being committed, so
   * those slots stay free until such leases are re-declared by their resuming workers (each one
   * re-admitted fills one) or one TTL has passed. Nothing of this is journaled: the replica holds
   * it already.
   *
   * @param heldBack slots held back per pool; 0 for every pool after a planned handoff (the
   *     predecessor's journal was drained)
   * @throws IllegalArgumentException when {@code epoch} is not above this broker's epoch; nothing
   *     changes then
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void takeOver(long epoch, Fleet fleet, ToIntFunction<ResourceKind> heldBack) {
    int[] perPool = new int[ResourceKind.COUNT];
    for (ResourceKind kind : ResourceKind.values()) {
      perPool[kind.index()] = Math.max(0, heldBack.applyAsInt(kind));
    }
    boolean holdsBack = java.util.Arrays.stream(perPool).anyMatch(n -> n > 0);
    long ttl = state.ttlNanosUnlocked();
    int skipped =
        state.command(
            (now, fx) -> {
              state.tokens.advanceTo(epoch);
              int skippedEntries;
              boolean journaling = state.journaling;
              state.journaling = false;
              try {
                sessions.endAll("ended: this broker leads its cluster anew", now, fx);
                state.draining = false; // a drain of an earlier leadership (see stepDown)
                // Before the load: the penalties it carries apply to the emptied buckets.
                state.hostsStartEmpty(now);
                state.epoch = epoch;
                state.recoveryUntilNanos = 0;
                System.arraycopy(perPool, 0, state.heldBack, 0, perPool.length);
                state.holdBackUntilNanos = holdsBack ? now + state.ttlNanos() : 0;
                skippedEntries = sessions.load(fleet, now, fx);
                tellLeading(
                    epoch,
                    "leads its cluster with epoch "
                        + epoch
                        + ", took over "
                        + fleet.sessions().size()
                        + " sessions and "
                        + fleet.leases().size()
                        + " leases",
                    fx);
              } finally {
                state.journaling = journaling;
              }
              if (holdsBack) {
                // Unlike the state loaded, this is new to the replicas: a leader elected within
                // the hold keeps these slots free too, for the same unseen grants.
                state.journal.holdingBack(holdBack(now));
              }
              return skippedEntries;
            });
    if (holdsBack) {
      state.time.schedule(this::holdBackOver, ttl);
    }
    log.info(
        "leading with epoch {}: took over {} sessions and {} leases{}; {}",
        epoch,
        fleet.sessions().size(),
        fleet.leases().size(),
        skipped > 0 ? " (" + skipped + " entries skipped: unknown session or a clash)" : "",
        holdsBack
            ? heldBackText(perPool)
                + " held back for "
                + Durations.format(Duration.ofNanos(ttl))
                + " for leases an earlier leader may have granted"
            : "nothing held back (handed off)");
  }

  /**
   * The slots this broker holds back now after its takeover, until when in wall-clock time, for a
   * handoff to carry to its successor; null when it holds none back.
   */
  // Lock held: see takeOver.
  @SuppressWarnings("GuardedBy")
  public Fleet.HoldBack holdBack() {
    return state.command(
        (now, fx) ->
            state.holdBackUntilNanos != 0 && now < state.holdBackUntilNanos ? holdBack(now) : null);
  }

  /** The hold-back in force at {@code now}, in wall-clock time. Lock held. */
  @GuardedBy("state.lock")
  private Fleet.HoldBack holdBack(long now) {
    Map<ResourceKind, Integer> slots = new EnumMap<>(ResourceKind.class);
    for (ResourceKind kind : ResourceKind.values()) {
      int held = state.heldBack(kind, now);
      if (held > 0) {
        slots.put(kind, held);
      }
    }
    long wallNow = state.time.wallTime().toEpochMilli();
    // Rounded up: a hold carried to another member must not end before this one does.
    long leftMs = (state.holdBackUntilNanos - now + 999_999) / 1_000_000;
    return new Fleet.HoldBack(slots, wallNow + leftMs);
  }

  /** Takes over holding back the same {@code heldBackPerPool} slots of every pool. */
  public void takeOver(long epoch, Fleet fleet, int heldBackPerPool) {
    takeOver(epoch, fleet, kind -> heldBackPerPool);
  }

  private static String heldBackText(int[] perPool) {
    StringBuilder b = new StringBuilder();
    for (ResourceKind kind : ResourceKind.values()) {
      b.append(b.length() == 0 ? "" : ", ").append(perPool[kind.index()]).append(' ').append(kind);
    }
    return b.append(" slots").toString();
  }

  /**
   * The same leadership goes on with a new fencing {@code epoch} (its counter ran out, or a
   * member's floor reached it): tokens from now on carry it; sessions and leases stay.
   *
   * @throws IllegalArgumentException when {@code epoch} is not above this broker's epoch
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void renewEpoch(long epoch) {
    state.act(
        (now, fx) -> {
          state.tokens.advanceTo(epoch);
          state.epoch = epoch;
        });
    log.info("leading on with epoch {}", epoch);
  }

  /**
   * Loads the state a lone broker wrote on its last graceful stop ({@link #fleet()}): the same
   * sessions, whose TTL starts afresh now so that their workers can resume them, and the same
   * leases with their ids and tokens. The state was complete, so the restart recovery window ends:
   * new grants are made at once. Call before serving.
   *
   * @return how many entries were skipped (a lease of an unknown session, a clash)
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public int load(Fleet fleet) {
    return state.command(
        (now, fx) -> {
          int skipped = sessions.load(fleet, now, fx);
          state.recoveryUntilNanos = 0;
          acquires.pumpAll(now, fx);
          return skipped;
        });
  }

  /**
   * Whether the broker is still in the recovery window of a restart after a crash: workers may hold
   * leases it does not know of yet (they re-declare them within one TTL), so its state is not
   * complete.
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public boolean recovering() {
    return state.command((now, fx) -> now < state.recoveryUntilNanos);
  }

  /** The sessions, leases and host penalties now, as values another broker can load. */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public Fleet fleet() {
    return state.command((now, fx) -> sessions.fleet());
  }

  /**
   * Records every later change to lease state in {@code journal} and lets it hold grants back: a
   * cluster member's broker. A lone broker never calls this and journals nothing.
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void journalTo(Journal journal) {
    state.act(
        (now, fx) -> {
          state.journal = journal;
          state.journaling = journal != Journal.NONE;
        });
  }

  private void tellLeading(long epoch, String detail, Effects fx) {
    state.tell(l -> l.leadershipChanged(true, epoch, detail), fx);
  }

  /** The slots held back after a takeover are free now; serve the queues. */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  private void holdBackOver() {
    state.act(
        (now, fx) -> {
          if (state.holdBackUntilNanos != 0 && now >= state.holdBackUntilNanos) {
            state.holdBackUntilNanos = 0;
            java.util.Arrays.fill(state.heldBack, 0);
            log.info("takeover hold-back over: {} leases live", state.leases.size());
            acquires.pumpAll(now, fx);
          }
        });
  }

  /**
   * This broker no longer leads its cluster: every session ends (its workers were sent to the
   * leader) with its leases and waiting acquires, so nothing here is granted any more.
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void stepDown() {
    state.act(
        (now, fx) -> {
          // The cluster's record of these sessions stands: whoever leads next takes them over.
          boolean journaling = state.journaling;
          state.journaling = false;
          try {
            sessions.endAll("ended: this broker no longer leads", now, fx);
          } finally {
            state.journaling = journaling;
          }
          // A broker drain belongs to the leadership it was set in: the next leader knows
          // nothing of it, and this broker, should it lead again, must not drain by surprise.
          state.draining = false;
          long epoch = state.epoch;
          state.tell(l -> l.leadershipChanged(false, epoch, "no longer leads its cluster"), fx);
        });
  }

  /** The restart grace ended: capacity nobody re-declared is free; serve the queues. */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  private void recoveryOver() {
    state.act(
        (now, fx) -> {
          log.info("restart recovery over: {} leases re-declared", state.leases.size());
          acquires.pumpAll(now, fx);
        });
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
    return heartbeat(sessionId, channel, seq, memoryUsedMb, memoryLimitMb, List.of()).pressure();
  }

  /**
   * Records a heartbeat with the worker's WASM instance statistics: a WASM lease of this session
   * whose call count changed counts as used now. Statistics for leases the session does not hold
   * (e.g. one that just ended) are ignored.
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public Beat heartbeat(
      String sessionId,
      SessionChannel channel,
      long seq,
      long memoryUsedMb,
      long memoryLimitMb,
      List<InstanceStats> wasmStats) {
    return state.command(
        (now, fx) ->
            sessions.heartbeat(
                sessionId, channel, seq, memoryUsedMb, memoryLimitMb, wasmStats, now, fx));
  }

  /** Records the worker's acknowledgement of a pushed command. */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void ack(String sessionId, SessionChannel channel, long commandId) {
    state.act((now, fx) -> sessions.attached(sessionId, channel, now, fx));
  }

  /** Ends a session at its worker's request; every lease it holds is released. */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void goodbye(String sessionId, SessionChannel channel) {
    state.act(
        (now, fx) -> sessions.end(sessions.attached(sessionId, channel, now, fx), false, now, fx));
  }

  /**
   * The stream of a session ended without goodbye. The session lives on until its TTL passes, so
   * the worker may reconnect and resume it.
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void detach(String sessionId, SessionChannel channel) {
    state.act((now, fx) -> sessions.detach(sessionId, channel));
  }

  // ---------------------------------------------------------------- acquire

  /**
   * Forgets the answer of request {@code requestId} of session {@code sessionId} when it granted
   * exactly {@code leaseIds} and no repeat of the request has been given it: the caller of a grant
   * that crossed its call's end did not retry, so the leases may be given back, and a later retry
   * is asked afresh instead of being answered with leases that are gone.
   *
   * @return whether it was forgotten; false when a repeat claimed the answer (its caller has the
   *     leases), the session ended, or the id now names another request
   */
  // Lock held: the lambda runs inside state.command, under state.lock, which the command objects
  // share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public boolean forgetUnclaimed(String sessionId, String requestId, List<String> leaseIds) {
    return state.command((now, fx) -> acquires.forgetUnclaimed(sessionId, requestId, leaseIds));
  }

  /**
   * Asks for one lease. The callback is told exactly once: granted, refused, or failed (when the
   * session ends while the acquire waits). It may be told before this method returns.
   *
   * @throws BrokerException NOT_FOUND / PERMISSION_DENIED for a session that is not the caller's
   *     live session; FAILED_PRECONDITION when a request id is reused for a different request;
   *     RESOURCE_EXHAUSTED at a principal's cap; UNAVAILABLE when shutting down. Nothing changes
   *     when it throws.
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public PendingAcquire acquire(AcquireSpec spec, String principal, Callback<Decision> callback) {
    return state.command(
        (now, fx) -> {
          state.requireRunning();
          Session session = sessions.live(spec.sessionId(), principal, now, fx);
          return acquires.acquire(session, spec, principal, callback, now, fx);
        });
  }

  /**
   * Asks for several leases at once, granted together or not at all: under the lock, in one
   * command, every item is checked against the state as it would be after granting the items before
   * it, then all are granted, or none is and the refusal names the item and the rule. A bundle
   * waits as one request: one place in the queue (and against the queued cap), granted when all of
   * it fits; its n items count n against the lease cap. Otherwise it behaves as {@link #acquire}:
   * the callback is told exactly once, and may be told before this method returns.
   *
   * @throws BrokerException as {@link #acquire}; nothing changes when it throws
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public PendingAcquire acquireBundle(
      BundleSpec spec, String principal, Callback<BundleDecision> callback) {
    return state.command(
        (now, fx) -> {
          state.requireRunning();
          Session session = sessions.live(spec.sessionId(), principal, now, fx);
          return acquires.acquire(session, spec, principal, callback, now, fx);
        });
  }

  // ---------------------------------------------------------------- release and revoke

  /**
   * Gives a lease back. Idempotent: releasing an ended lease reports how it ended.
   *
   * @throws BrokerException PERMISSION_DENIED when the lease belongs to another session or the
   *     session to another principal; NOT_FOUND when the lease is unknown
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public EndResult release(String sessionId, String leaseId, String principal, Outcome outcome) {
    return state.command(
        (now, fx) -> {
          Session holder = state.sessions.get(sessionId);
          if (holder != null) {
            sessions.expireIfDue(holder, now, fx); // a release after the TTL: SESSION_EXPIRED
          }
          return ends.release(sessionId, leaseId, principal, outcome, now, fx);
        });
  }

  /**
   * Revokes a lease now: its capacity returns at once and its holder is told over its stream.
   *
   * @param grace how long the holder may still finish; null for the configured default
   * @throws BrokerException NOT_FOUND when the lease is unknown
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public EndResult revoke(String leaseId, RevokeReason reason, Duration grace) {
    return state.command(
        (now, fx) -> {
          long graceNanos = (grace != null ? grace : state.config.revokeGrace()).toNanos();
          return ends.revoke(leaseId, reason, graceNanos, now, fx);
        });
  }

  // ---------------------------------------------------------------- drain and shutdown

  /**
   * The longest a drain may give its workers: a day. A drain is maintenance; a worker told to
   * finish years from now (a protobuf {@code Timestamp} cannot even say past the year 9999) was
   * told nothing useful.
   */
  public static final Duration MAX_DRAIN_DEADLINE = Duration.ofHours(24);

  /**
   * Stops new grants to one session and tells its worker to finish by the deadline.
   *
   * @param deadline null for none; at most {@link #MAX_DRAIN_DEADLINE}
   * @return the number of leases the session still holds
   * @throws BrokerException INVALID_ARGUMENT naming {@code deadline} when it is longer
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public int drainSession(String sessionId, Duration deadline) {
    requireDrainDeadline(deadline);
    return state.command((now, fx) -> sessions.drain(sessionId, deadline, now, fx));
  }

  private static void requireDrainDeadline(Duration deadline) {
    if (deadline != null && deadline.compareTo(MAX_DRAIN_DEADLINE) > 0) {
      throw BrokerException.invalid(
          "deadline", "must be at most 24h, got " + dev.berth.common.Durations.format(deadline));
    }
  }

  /**
   * Stops (or, with {@code resume}, restarts) new grants broker-wide.
   *
   * @param deadline as for {@link #drainSession}
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void drainBroker(boolean resume, Duration deadline) {
    requireDrainDeadline(deadline);
    state.act(
        (now, fx) -> {
          // A broker drain is one flag, not a mark on every session, so lifting it restores every
          // session that was not drained on its own.
          state.draining = !resume;
          state.drainDeadlineAt = resume ? null : state.drainDeadline(deadline);
          if (!resume) {
            for (Session session : state.sessions.all()) {
              sessions.pushDrain(session, state.drainDeadlineAt, fx);
            }
            acquires.refuseWaiters(null, "broker is draining", now, fx);
          }
        });
  }

  /**
   * Begins shutdown: new opens and acquires fail UNAVAILABLE, waiting acquires and bundles fail
   * UNAVAILABLE too, and every session stream is closed. Leases are not ended: a restarted broker
   * lets workers re-declare them.
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void shutdown() {
    boolean first =
        state.command(
            (now, fx) -> {
              if (state.shutDown) {
                return false;
              }
              state.shutDown = true;
              state.draining = true;
              // UNAVAILABLE, as a new acquire now gets, not DRAINING: a restart is not a drain,
              // and a worker told DRAINING stops asking (the reference worker finishes and exits)
              // where one told UNAVAILABLE asks the restarted broker again.
              acquires.failWaitersOf(
                  null,
                  new BrokerException(BrokerException.Code.UNAVAILABLE, "broker is shutting down"),
                  fx);
              sessions.closeStreams(fx);
              return true;
            });
    if (first) {
      sweeper.cancel();
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
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  @VisibleForTesting
  public void sweep() {
    try {
      state.act((now, fx) -> housekeeping.sweep(now, fx));
    } catch (RuntimeException e) {
      log.error("sweep failed", e);
    }
  }

  // ---------------------------------------------------------------- views

  /** Leases of a kind in use now. */
  public int inUse(ResourceKind kind) {
    synchronized (state.lock) {
      return state.leases.inUse(kind);
    }
  }

  /** Acquires of a kind waiting now. */
  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  public int queued(ResourceKind kind) {
    synchronized (state.lock) {
      return acquires.queued(kind);
    }
  }

  /**
   * Per rate-limited host, how many items of the acquires queued now will take a token of it: what
   * a newcomer for the host waits behind. Empty when nothing waits for a host.
   */
  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  public Map<String, Integer> hostTokensQueued() {
    synchronized (state.lock) {
      return acquires.hostTokensQueued();
    }
  }

  /** Live sessions (connected or within their TTL). */
  public int sessionCount() {
    synchronized (state.lock) {
      return state.sessions.size();
    }
  }

  /** A copy of the live leases. */
  public List<Lease> leases() {
    synchronized (state.lock) {
      return new ArrayList<>(state.leases.all());
    }
  }

  /** Grants and refusals so far. */
  public BrokerCounters.Snapshot counters() {
    synchronized (state.lock) {
      return state.counters.snapshot();
    }
  }

  /** One consistent picture of the broker, for status pages. */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public Views.Status status() {
    return state.command((now, fx) -> views.status(now));
  }

  /**
   * Live sessions ordered by id, for paging.
   *
   * @param workerId only this worker's sessions, when not empty
   * @param afterId only sessions whose id sorts after this, when not empty
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public List<Views.Session> sessions(String workerId, String afterId, int limit) {
    return state.command((now, fx) -> views.sessions(workerId, afterId, limit));
  }

  /**
   * Live leases in grant order ({@link LeaseCursor#ORDER}: by fencing token, then by lease id), for
   * paging. Empty or null filters match all.
   *
   * @param job only leases of sessions that run as this job ({@link Views.Session#job})
   * @param after only leases after this one ({@link LeaseCursor#START} for the first page)
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public List<Views.LeaseInfo> leases(
      String workerId,
      ResourceKind kind,
      String host,
      String sessionId,
      String job,
      LeaseCursor after,
      int limit) {
    List<Views.LeaseInfo> matching =
        state.command(
            (now, fx) -> views.leasesUnordered(workerId, kind, host, sessionId, job, after));
    return matching.stream().sorted(LeaseCursor.ORDER).limit(limit).toList();
  }

  /**
   * The acquires and bundles waiting now, the oldest first, each with what it would be answered if
   * its wait ended now. Empty or null filters match all.
   *
   * @param kind only requests that ask for this kind
   * @param job only requests of sessions that run as this job
   * @param host only requests with an item for this host
   * @param limit how many to list at most; {@link Views.WaitingList#total} counts every match
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public Views.WaitingList waiting(
      ResourceKind kind, String job, String host, String sessionId, int limit) {
    return state.command((now, fx) -> views.waiting(kind, job, host, sessionId, limit, now));
  }

  /**
   * What an acquire would be answered now and which rule decides, without granting anything.
   *
   * @throws BrokerException NOT_FOUND when the session is not live
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public Views.Explained explain(AcquireSpec spec) {
    return state.command((now, fx) -> views.explain(spec, now, fx));
  }

  /**
   * What a bundle would be answered now, every item checked rule by rule as if the items before it
   * were granted, without granting anything.
   *
   * @throws BrokerException NOT_FOUND when the session is not live
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public Views.Explained explainBundle(BundleSpec spec) {
    return state.command((now, fx) -> views.explain(spec, now, fx));
  }

  /**
   * Runs {@code body} while no other {@link #changePolicy} or {@code changingPolicy} body runs: a
   * change that reads the policy, builds on it and puts the result in force (an {@code
   * UpdateLimits}, a reload) must not overwrite one made in between. Not the broker's lock: the
   * body may take its time, and acquires go on meanwhile.
   */
  public <T> T changingPolicy(Supplier<T> body) {
    policyChanges.lock();
    try {
      return body.get();
    } finally {
      policyChanges.unlock();
    }
  }

  /**
   * Puts {@code change} applied to the policy in force in force, as one step with respect to every
   * other such change (see {@link #changingPolicy}); returns the new policy.
   */
  public Policy changePolicy(UnaryOperator<Policy> change) {
    return changingPolicy(
        () -> {
          Policy next = change.apply(policy());
          updatePolicy(next);
          return next;
        });
  }

  /**
   * Tells every listener that an operator changed the policy ({@link
   * BrokerListener#limitsUpdated}), after the change is in force: watchers see it as {@code
   * limits_updated}, and so does the dashboard's feed, however it was made.
   */
  public void limitsUpdated(String detail) {
    state.act((now, fx) -> state.tell(l -> l.limitsUpdated(detail), fx));
  }

  /**
   * Replaces the broker's policy live. Leases are kept: a lowered limit only stops new grants until
   * use falls below it; a raised one grants queued acquires at once.
   */
  public void updateConfig(BrokerConfig newConfig) {
    updatePolicy(policy().withBroker(newConfig));
  }

  /**
   * Replaces the whole admission policy live: pool limits, host rates, memory thresholds,
   * degradation settings and jobs. Leases and sessions are kept; sessions move to the job their
   * name now resolves to (a removed job's sessions to {@code default}); queued requests are
   * re-examined at once. A cluster leader also replicates it to its members ({@link
   * Journal#policyChanged}).
   */
  public void updatePolicy(Policy newPolicy) {
    adoptPolicy(newPolicy);
    state.journal.policyChanged(newPolicy);
  }

  /**
   * Puts {@code newPolicy} in force as {@link #updatePolicy} does, without journaling it: a policy
   * the cluster's log already carries (a replica applying its leader's change).
   */
  // Lock held: the lambda runs inside state.command (state.act), under state.lock, which the
  // command objects share through one BrokerState; the checker can see neither.
  @SuppressWarnings("GuardedBy")
  public void adoptPolicy(Policy newPolicy) {
    state.act(
        (now, fx) -> {
          // A changed session.ttl reaches each session with its next heartbeat ack (see
          // SessionRegistry.told): its worker trusts its leases for the TTL it was told.
          state.policy = newPolicy;
          state.config = newPolicy.broker();
          state.admission.update(
              newPolicy.rateLimit(), newPolicy.memory(), newPolicy.performance(), now);
          if (!newPolicy.jobs().equals(state.jobs.config())) {
            state.jobs.update(newPolicy.jobs(), now);
            acquires.refileJobs();
          }
          acquires.pumpAll(now, fx);
        });
  }
}
