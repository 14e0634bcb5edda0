package dev.berth.server.broker;

import static dev.berth.server.failure.BrokerException.Code.FAILED_PRECONDITION;
import static dev.berth.server.failure.BrokerException.Code.RESOURCE_EXHAUSTED;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.Job;
import dev.berth.server.admission.RecentRequests;
import dev.berth.server.broker.Broker.Opened;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.session.SessionChannel.CloseReason;
import dev.berth.server.session.SessionRegistry;
import dev.berth.server.settings.Durations;
import dev.berth.server.wasm.InstanceStats;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions: hello (new, resumed, or re-admitted after a restart), heartbeats, acks, goodbye, the
 * stream going away, expiry, and drain pushes. Every method is called with the lock held.
 */
final class SessionCommands {
  private static final Logger log = LoggerFactory.getLogger(Broker.class);

  private final BrokerState state;
  private final AcquireCommands acquires;
  private final EndCommands ends;
  private final CarriedRequests carried;

  SessionCommands(BrokerState state, AcquireCommands acquires, EndCommands ends) {
    this.state = state;
    this.acquires = acquires;
    this.ends = ends;
    this.carried = new CarriedRequests(state);
  }

  /** See {@link Broker#open}. */
  @GuardedBy("state.lock")
  Opened open(HelloSpec hello, String principal, SessionChannel channel, long now, Effects fx) {
    state.requireRunning();
    if (!hello.resumeSessionId().isEmpty()) {
      Session old = state.sessions.get(hello.resumeSessionId());
      if (old != null && expireIfDue(old, now, fx)) {
        old = null;
      }
      if (old != null) {
        return resume(old, hello, principal, channel, now, fx);
      }
      if (state.redeclaring(now) && state.sessions.whyEnded(hello.resumeSessionId()) == null) {
        return readmit(hello, principal, channel, now, fx);
      }
    }
    int sessionCap = state.policy.caps().sessions();
    if (sessionCap > 0 && state.usage.sessions(principal) >= sessionCap) {
      throw new BrokerException(
          RESOURCE_EXHAUSTED,
          "principal '"
              + principal
              + "' holds "
              + sessionCap
              + " sessions, its cap ("
              + PrincipalCaps.Keys.SESSIONS
              + ")");
    }
    Session session = register(state.ids.next(), hello, principal, channel, now);
    List<String> lost = new ArrayList<>();
    for (HelloSpec.HeldLease held : hello.heldLeases()) {
      lost.add(held.leaseId());
    }
    return opened(session, false, lost, fx);
  }

  @GuardedBy("state.lock")
  private Session register(
      String id, HelloSpec hello, String principal, SessionChannel channel, long now) {
    // The job: the one the hello names, else the principal's name; one not configured is default.
    String requested = hello.job().isEmpty() ? principal : hello.job();
    Job job = state.jobs.resolve(requested);
    if (!hello.job().isEmpty()
        && !job.name().equals(requested)
        && state.jobs.firstHeardOf(requested)) {
      // Once per name until the jobs change: a fleet started with a typo opens hundreds.
      log.warn(
          "session {} of worker {} names job '{}', which is not configured: it runs as '{}', as"
              + " will other sessions naming it (not logged again until the jobs change)",
          id,
          hello.workerId(),
          requested,
          job.name());
    }
    Session session =
        new Session(
            id,
            hello.workerId(),
            principal,
            hello.labels(),
            hello.memoryLimitMb(),
            now,
            state.config.requestIdsPerSession(),
            requested,
            job);
    session.attach(channel);
    state.sessions.add(session, state.ttlNanos());
    state.usage.sessionOpened(principal);
    state.journalOpened(session);
    return session;
  }

  @GuardedBy("state.lock")
  private Opened opened(Session session, boolean resumed, List<String> lost, Effects fx) {
    String id = session.id();
    String worker = session.workerId();
    String job = session.job().name();
    state.tell(l -> l.sessionOpened(id, worker, resumed, job), fx);
    long ttl = state.ttlNanos();
    state.sessions.told(session, ttl);
    return new Opened(
        id,
        state.epoch,
        resumed,
        lost,
        ttl,
        state.config.heartbeatInterval().toNanos(),
        drainOnOpen(session));
  }

  /**
   * After a restart or a change of leader, takes back a session this broker does not know (its
   * opening never reached the state it loaded) with the leases its worker declares. A declared
   * lease is re-admitted when its fencing token comes from an earlier epoch, its kind is known, it
   * is not known already, and its pool has room; a lease taken in safe mode (token 0) is adopted as
   * on any resume ({@link #adoptable}); the rest are reported lost. Since no new grants happen
   * while re-declaration is possible, re-admitted leases never exceed a limit.
   */
  @GuardedBy("state.lock")
  private Opened readmit(
      HelloSpec hello, String principal, SessionChannel channel, long now, Effects fx) {
    Session session = register(hello.resumeSessionId(), hello, principal, channel, now);
    List<String> lost = new ArrayList<>();
    for (HelloSpec.HeldLease held : hello.heldLeases()) {
      if (readmitLease(session, held, now, fx)) {
        continue;
      }
      if (adoptable(session, held, now)) {
        // Taken in safe mode and adopted by the previous leader, or never declared before: as
        // on any resume, counted when the pool's usable part has room.
        admitDeclared(session, held, now, false, fx);
        continue;
      }
      lost.add(held.leaseId());
    }
    log.info(
        "re-admitted session {} of worker {} after a restart or change of leader: kept {} of {}"
            + " declared leases",
        session.id(),
        hello.workerId(),
        hello.heldLeases().size() - lost.size(),
        hello.heldLeases().size());
    return opened(session, true, lost, fx);
  }

  /**
   * Takes back one lease a worker declares after a restart or a change of leader: when its fencing
   * token comes from an earlier epoch, its kind is known, it is not known already, and its pool has
   * room. A re-admitted lease fills one of the slots held back after a takeover. False when it is
   * lost.
   */
  @GuardedBy("state.lock")
  private boolean readmitLease(Session session, HelloSpec.HeldLease held, long now, Effects fx) {
    ResourceKind kind = held.kind();
    long heldEpoch = FencingTokens.epochOf(held.fencingToken());
    boolean admissible =
        kind != null
            && heldEpoch >= 1
            && heldEpoch < state.epoch
            && state.leases.get(held.leaseId()) == null
            && state.leases.ended(held.leaseId()) == null
            && state.leases.inUse(kind) < state.config.limit(kind)
            && !(kind == ResourceKind.WASM && state.leases.firstOf(session.id(), kind) != null);
    if (!admissible) {
      return false;
    }
    admitDeclared(session, held, now, true, fx);
    return true;
  }

  /**
   * Counts a lease the worker declared in its hello as held by {@code session}: a lease of an
   * earlier epoch re-admitted after a restart or takeover ({@code readmission}: it fills a slot
   * held back after a takeover and is told to listeners as a re-admission), or one taken in safe
   * mode and adopted now (told as a grant). Journaled like a grant. Lock held.
   */
  @GuardedBy("state.lock")
  private void admitDeclared(
      Session session, HelloSpec.HeldLease held, long now, boolean readmission, Effects fx) {
    ResourceKind kind = held.kind();
    long maxHold = state.config.maxHold(kind).toNanos();
    // The max hold counts from the grant, which the worker dates (it holds the lease that long
    // already): a restart does not renew it. One that has run out is revoked by the next sweep.
    long grantedAt = now - Math.min(held.heldForNanos(), maxHold);
    Lease lease =
        new Lease(
            held.leaseId(),
            kind,
            held.fencingToken(),
            session.id(),
            held.host(),
            held.module(),
            "",
            held.memoryMb() > 0 ? held.memoryMb() : state.config.memoryEstimateMb(kind),
            grantedAt,
            grantedAt + maxHold);
    state.leases.add(lease);
    if (readmission && state.heldBack[kind.index()] > 0) {
      state.heldBack[kind.index()]--;
    }
    state.usage.leaseGranted(session.principal());
    session.job().leaseCounted(kind);
    state.admission.readmitted(lease);
    if (kind == ResourceKind.WASM) {
      state.wasmUse.used(lease.id(), now); // idle from now on, as a lease loaded from a snapshot
    }
    state.journalGranted(lease, null, 0);
    String worker = session.workerId();
    String job = session.job().name();
    if (readmission) {
      state.tell(l -> l.readmitted(lease, worker, job), fx);
    } else {
      state.tell(l -> l.granted(lease, worker, job), fx);
    }
  }

  /**
   * Whether a lease the worker took on its own while the broker was out of reach (safe mode:
   * fencing token 0, an id this broker never issued) may be counted as the session's now: its kind
   * is RENDER or PDF, the id is not known, and its pool (at its effective limit), the job's max,
   * the session's per-session limit and the principal's lease cap have room. It keeps token 0, so a
   * fenced store refuses writes made under it; it counts against the pool from now on, so new
   * grants stay within the limit. Not while a restart that lost its state waits for
   * re-declarations: this run knows nothing of the pool yet, and its slots go first to the fenced
   * leases the earlier run granted. Lock held.
   */
  @GuardedBy("state.lock")
  private boolean adoptable(Session session, HelloSpec.HeldLease held, long now) {
    ResourceKind kind = held.kind();
    if (held.fencingToken() != 0
        || kind == null
        || kind == ResourceKind.WASM
        || now < state.recoveryUntilNanos) {
      return false;
    }
    if (state.leases.get(held.leaseId()) != null || state.leases.ended(held.leaseId()) != null) {
      return false;
    }
    int max = session.job().settings().max(kind);
    // Within the pool's usable part: a slot held back after a change of leader is kept for a
    // lease the earlier leader granted, which its worker may still re-declare.
    return state.leases.inUse(kind) + state.heldBack(kind, now) < state.effectiveLimit(kind, now)
        && (max == 0 || session.job().held(kind) < max)
        && withinHoldingLimits(session, kind);
  }

  /**
   * Whether the session and its principal may hold one more lease of {@code kind}: the session
   * below {@code pools.<kind>.per_session_limit}, the principal below {@code
   * caps.leases_per_principal} (leases held and acquires waiting), as an acquire is held. A lease
   * declared in a hello is no way around them: a worker could otherwise take a pool's every free
   * slot by declaring them. Lock held.
   */
  @GuardedBy("state.lock")
  private boolean withinHoldingLimits(Session session, ResourceKind kind) {
    int perSession = state.config.perSessionLimit(kind);
    if (perSession > 0 && state.leases.countOf(session.id(), kind) >= perSession) {
      return false;
    }
    int cap = state.policy.caps().leases();
    String principal = session.principal();
    return cap == 0 || state.usage.leases(principal) + state.usage.queuedItems(principal) < cap;
  }

  // Lock held: ends shares this BrokerState, so its state.lock is the lock held here; the checker
  // cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
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
    int adopted = 0;
    boolean redeclaring = state.redeclaring(now);
    for (HelloSpec.HeldLease held : hello.heldLeases()) {
      Lease lease = state.leases.get(held.leaseId());
      if (lease == null && redeclaring && readmitLease(session, held, now, fx)) {
        continue; // granted by the previous leader, its journal entry never committed
      }
      if (lease == null && adoptable(session, held, now)) {
        admitDeclared(session, held, now, false, fx);
        adopted++;
        continue;
      }
      if (lease == null
          || !lease.sessionId().equals(session.id())
          || lease.fencingToken() != held.fencingToken()) {
        lost.add(held.leaseId());
        if (lease != null && lease.sessionId().equals(session.id())) {
          // The session's own lease under a token it was never given: the worker, told it lost
          // the lease, lets it go, so it ends here too rather than count until its max hold.
          ends.endUndeclared(lease, now, fx);
        }
      }
    }
    if (adopted > 0) {
      log.info(
          "session {} of worker {} resumed with {} lease(s) it took in safe mode; {} refused",
          session.id(),
          session.workerId(),
          adopted,
          hello.heldLeases().stream().filter(h -> h.fencingToken() == 0).count() - adopted);
    }
    if (hello.heldLeasesComplete()) {
      endUndeclared(session, hello, now, fx);
    }
    return opened(session, true, lost, fx);
  }

  /**
   * Ends the live leases of a resumed session that its worker's complete declaration leaves out,
   * keeping those that answer a request the worker still awaits (its retry gets them). These are
   * leases the worker released where the release never took effect here: lost with the old stream,
   * or ended on a leader that died before the end was committed. Without this they would count
   * against their pools until their max hold. A remembered request whose grant included one no
   * longer answers its id, as for any ended grant: a retry of it is decided afresh.
   */
  // Lock held: ends shares this BrokerState, so its state.lock is the lock held here; the checker
  // cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  private void endUndeclared(Session session, HelloSpec hello, long now, Effects fx) {
    Set<String> keep = new HashSet<>();
    for (HelloSpec.HeldLease held : hello.heldLeases()) {
      keep.add(held.leaseId());
    }
    for (String requestId : hello.awaitedRequestIds()) {
      RecentRequests.Entry<?> entry = session.recentRequests().get(requestId);
      if (entry != null) {
        entry.grantedLeases().forEach(l -> keep.add(l.id()));
      }
    }
    Set<String> ended = new HashSet<>();
    for (String leaseId : state.leases.idsOf(session.id())) {
      if (!keep.contains(leaseId)) {
        ends.endUndeclared(state.leases.get(leaseId), now, fx);
        ended.add(leaseId);
      }
    }
    if (ended.isEmpty()) {
      return;
    }
    log.info(
        "session {} of worker {} resumed: ended {} lease(s) its worker no longer holds, as"
            + " released: {}",
        session.id(),
        session.workerId(),
        ended.size(),
        ended);
  }

  /** See {@link Broker#heartbeat(String, SessionChannel, long, long, long, List)}. */
  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  Broker.Beat heartbeat(
      String sessionId,
      SessionChannel channel,
      long seq,
      long memoryUsedMb,
      long memoryLimitMb,
      List<InstanceStats> wasmStats,
      long now,
      Effects fx) {
    Session session = attached(sessionId, channel, now, fx);
    if (seq <= session.lastHeartbeatSeq()) {
      throw BrokerException.invalid(
          "heartbeat.seq", "must increase, got " + seq + " after " + session.lastHeartbeatSeq());
    }
    session.heartbeatSeq(seq);
    session.touch(now);
    long ttl = state.ttlNanos();
    state.sessions.told(session, ttl); // by the ack this answer becomes
    session.reportMemory(memoryUsedMb, memoryLimitMb);
    for (InstanceStats stats : wasmStats) {
      Lease lease = state.leases.get(stats.leaseId());
      if (lease != null
          && lease.kind() == ResourceKind.WASM
          && lease.sessionId().equals(sessionId)) {
        state.wasmUse.reported(lease.id(), stats.calls(), now);
      }
    }
    Admission.Memory before = state.admission.memory(sessionId, 0);
    // The session's limit, not the heartbeat's: a worker may declare it only in its hello.
    state.admission.heartbeat(
        sessionId, session.workerId(), memoryUsedMb, session.memoryLimitMb(), now);
    Admission.Memory after = state.admission.memory(sessionId, 0);
    if ((before.fleetBlocked() && !after.fleetBlocked())
        || (before.workerBlocked() && !after.workerBlocked())) {
      acquires.pumpMemoryBound(now, fx); // pressure lifted: waiting RENDER/PDF acquires may go
    }
    return new Broker.Beat(
        state.admission.pressureFor(sessionId), ttl, state.config.heartbeatInterval().toNanos());
  }

  /** The stream of a session ended without goodbye; the session lives on until its TTL. */
  @GuardedBy("state.lock")
  void detach(String sessionId, SessionChannel channel) {
    Session session = state.sessions.get(sessionId);
    if (session != null && session.channel() == channel) {
      session.attach(null);
    }
  }

  /**
   * The live session {@code sessionId} owned by the stream {@code channel}.
   *
   * @throws BrokerException NOT_FOUND when it has ended; FAILED_PRECONDITION when another stream
   *     resumed it
   */
  @GuardedBy("state.lock")
  Session attached(String sessionId, SessionChannel channel, long now, Effects fx) {
    Session session = live(sessionId, now, fx);
    if (session.channel() != channel) {
      throw new BrokerException(
          FAILED_PRECONDITION, "session " + sessionId + " was resumed on another stream");
    }
    return session;
  }

  /** The live session {@code sessionId} of {@code principal}, expiring it first if it is due. */
  @GuardedBy("state.lock")
  Session live(String sessionId, String principal, long now, Effects fx) {
    Session session = live(sessionId, now, fx);
    if (!session.principal().equals(principal)) {
      throw BrokerException.denied(
          "session_id: session " + sessionId + " belongs to another principal");
    }
    return session;
  }

  /** The live session {@code sessionId}, expiring it first if it is due; NOT_FOUND otherwise. */
  @GuardedBy("state.lock")
  Session live(String sessionId, long now, Effects fx) {
    Session session = state.sessions.get(sessionId);
    if (session == null || expireIfDue(session, now, fx)) {
      throw state.sessionGone(sessionId);
    }
    return session;
  }

  /** Ends {@code session} if its TTL has passed; true when it did. */
  @GuardedBy("state.lock")
  boolean expireIfDue(Session session, long now, Effects fx) {
    if (!SessionRegistry.isOverdue(session, now)) {
      return false;
    }
    end(session, true, now, fx);
    return true;
  }

  /** Ends every session past its TTL. */
  @GuardedBy("state.lock")
  void expireOverdue(long now, Effects fx) {
    for (Session session : state.sessions.overdue(now)) {
      end(session, true, now, fx);
    }
  }

  /**
   * Ends a session — by goodbye, or {@code expired} — with every lease it holds and every acquire
   * it has waiting; the capacity goes to the queues at once.
   */
  @GuardedBy("state.lock")
  void end(Session session, boolean expired, long now, Effects fx) {
    String why =
        expired
            ? "expired: no heartbeat within session_ttl "
                + Durations.format(Duration.ofNanos(session.ttlNanos()))
            : "closed by goodbye";
    end(session, expired, why, now, fx, true);
  }

  /**
   * Ends every session with {@code why}, as closed (not expired): the broker stopped leading its
   * cluster, and its workers were sent to the leader. Nothing is granted meanwhile: a slot freed by
   * one session's end would otherwise go to a waiter of a session ended later in the loop, a grant
   * by a broker that no longer leads, journaled nowhere.
   */
  @GuardedBy("state.lock")
  void endAll(String why, long now, Effects fx) {
    for (Session session : List.copyOf(state.sessions.all())) {
      end(session, false, why, now, fx, false);
    }
  }

  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  private void end(
      Session session, boolean expired, String why, long now, Effects fx, boolean pump) {
    LeaseEnd how = expired ? LeaseEnd.SESSION_EXPIRED : LeaseEnd.SESSION_CLOSED;
    RevokeReason reason = null; // ended with the session, not revoked
    Set<ResourceKind> freed = EnumSet.noneOf(ResourceKind.class);
    String job = session.job().name();
    for (String leaseId : state.leases.idsOf(session.id())) {
      Lease lease = state.leases.end(leaseId, how, reason, now);
      state.journalEnded(lease, how, reason);
      state.usage.leaseEnded(session.principal());
      session.job().leaseEnded(lease.kind());
      state.wasmUse.ended(leaseId);
      freed.add(lease.kind());
      state.tell(l -> l.ended(lease, how, reason, Outcome.UNKNOWN, job), fx);
    }
    state.sessions.remove(session, why);
    if (state.journaling) {
      state.journal.sessionEnded(session.id(), how.name());
    }
    state.usage.sessionEnded(session.principal());
    PressureLevel pressureBefore = state.admission.pressure();
    state.admission.forget(session.id());
    if (pressureBefore != PressureLevel.NONE && state.admission.pressure() == PressureLevel.NONE) {
      // Its usage left the fleet's and lifted fleet pressure: waiting RENDER/PDF acquires may go.
      for (ResourceKind kind : ResourceKind.values()) {
        if (Admission.memoryBound(kind)) {
          freed.add(kind);
        }
      }
    }
    acquires.failWaitersOf(
        session.id(),
        BrokerException.notFound("session_id: session " + session.id() + " " + why),
        fx);
    SessionChannel channel = session.channel();
    session.attach(null);
    if (channel != null) {
      CloseReason closeReason = expired ? CloseReason.EXPIRED : CloseReason.GOODBYE;
      fx.add(() -> channel.close(closeReason, "session " + session.id() + " " + why));
    }
    String id = session.id();
    String worker = session.workerId();
    state.tell(l -> l.sessionEnded(id, worker, expired, job), fx);
    if (expired) {
      log.info("session {} of worker {} {}", id, worker, why);
    }
    if (pump) {
      for (ResourceKind kind : freed) {
        acquires.pump(kind, now, fx);
      }
    }
  }

  /**
   * Loads the sessions and leases of {@code fleet} (another broker's state: the cluster's replica,
   * a handoff, a lone broker's state file) with the same ids and tokens. Each session's TTL starts
   * afresh now, with no stream: its worker resumes it within one TTL or it expires with its leases.
   * A lease keeps what is left of its max hold. Host penalties still in force slow their hosts
   * again. Entries that clash with what is here already, or leases of an unknown session, are
   * skipped and counted. Lock held.
   *
   * @return how many entries were skipped
   */
  // Lock held: carried shares this BrokerState, so its state.lock is the lock held here; the
  // checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  int load(Fleet fleet, long now, Effects fx) {
    int skipped = 0;
    long wallNow = state.time.wallTime().toEpochMilli();
    for (Fleet.SessionEntry e : fleet.sessions()) {
      if (state.sessions.get(e.id()) != null) {
        skipped++;
        continue;
      }
      Session session =
          new Session(
              e.id(),
              e.workerId(),
              e.principal(),
              e.labels(),
              e.memoryLimitMb(),
              now,
              state.config.requestIdsPerSession(),
              e.job(),
              state.jobs.resolve(e.job()));
      state.sessions.add(session, state.ttlNanos());
      state.usage.sessionOpened(e.principal());
      String id = e.id();
      String worker = e.workerId();
      String job = session.job().name();
      state.tell(l -> l.sessionOpened(id, worker, true, job), fx);
    }
    for (Fleet.LeaseEntry e : fleet.leases()) {
      Session session = state.sessions.get(e.sessionId());
      // A token of this run's epoch or a later one (an edited or foreign file) could be issued
      // again, or be above tokens issued after it: not taken, as a worker's declaration is not.
      boolean tokenOfThisRun =
          e.fencingToken() != 0 && FencingTokens.epochOf(e.fencingToken()) >= state.epoch;
      if (session == null || state.leases.get(e.id()) != null || tokenOfThisRun) {
        skipped++;
        continue;
      }
      long grantedAt = now - Math.max(0, wallNow - e.grantedAtUnixMs()) * 1_000_000;
      Lease lease =
          new Lease(
              e.id(),
              e.kind(),
              e.fencingToken(),
              session.id(),
              e.host(),
              e.module(),
              e.moduleDigest(),
              e.memoryMb(),
              grantedAt,
              grantedAt + e.maxHoldMs() * 1_000_000);
      state.leases.add(lease);
      state.usage.leaseGranted(session.principal());
      session.job().leaseCounted(e.kind());
      state.admission.readmitted(lease);
      if (e.kind() == ResourceKind.WASM) {
        state.wasmUse.used(lease.id(), now);
      }
      String worker = session.workerId();
      String job = session.job().name();
      // Told as a re-admission, not a grant: the lease keeps the id and token its first grant
      // gave it (the event log's timeline checker tells the two apart).
      state.tell(l -> l.readmitted(lease, worker, job), fx);
    }
    carried.remember(fleet.leases(), state.config.defaultWasmModule());
    for (Fleet.HostPenalty p : fleet.hosts()) {
      long age = wallNow - p.atUnixMs();
      if (age <= PENALTY_CARRIED_MS) {
        state.admission.penalized(
            p.host(), p.httpStatus(), p.retryAfterMs() * 1_000_000, age * 1_000_000, now);
        state.penalties.put(p.host(), p);
      }
    }
    return skipped;
  }

  /** How old a host penalty may be and still slow its host on the broker that loads it. */
  private static final long PENALTY_CARRIED_MS = 10 * 60_000;

  /** The sessions and leases here now, as values another broker can load. Lock held. */
  @GuardedBy("state.lock")
  Fleet fleet() {
    List<Fleet.SessionEntry> sessionEntries = new ArrayList<>();
    for (Session s : state.sessions.all()) {
      sessionEntries.add(state.entryOf(s));
    }
    Map<String, Fleet.Asked> asked = CarriedRequests.of(state.sessions.all());
    List<Fleet.LeaseEntry> leaseEntries = new ArrayList<>();
    for (Lease l : state.leases.all()) {
      leaseEntries.add(state.entryOf(l, asked.getOrDefault(l.id(), Fleet.Asked.NONE)));
    }
    return new Fleet(sessionEntries, leaseEntries, new ArrayList<>(state.penalties.values()));
  }

  /** Stops new grants to one session and pushes drain to its worker; returns its lease count. */
  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  int drain(String sessionId, Duration deadline, long now, Effects fx) {
    Session session = live(sessionId, now, fx);
    session.drain(state.drainDeadline(deadline));
    pushDrain(session, session.drainDeadline(), fx);
    acquires.refuseWaiters(sessionId, "session " + sessionId + " is draining", now, fx);
    return state.leases.idsOf(sessionId).size();
  }

  /**
   * Tells a worker to finish its work by {@code deadline} and acquire nothing new. A worker whose
   * stream is down now is told when it resumes (see {@link #opened}).
   */
  @GuardedBy("state.lock")
  void pushDrain(Session session, Instant deadline, Effects fx) {
    SessionChannel channel = session.channel();
    if (channel != null) {
      long commandId = session.nextCommandId();
      fx.add(() -> channel.drain(commandId, deadline));
    }
  }

  /**
   * The drain a session opening or resuming now is under (its own, else the broker's, the earlier
   * deadline when both), to be pushed right after its {@code opened}; null when it is not drained.
   * Without it, a worker that connects (or reconnects) during a drain would be refused {@code
   * DRAINING} without ever being asked to finish.
   */
  @GuardedBy("state.lock")
  private Broker.Drain drainOnOpen(Session session) {
    Instant own = session.draining() ? session.drainDeadline() : null;
    Instant broker = state.draining && !state.shutDown ? state.drainDeadlineAt : null;
    Instant at = own == null ? broker : broker == null || own.isBefore(broker) ? own : broker;
    return at == null ? null : new Broker.Drain(session.nextCommandId(), at);
  }

  /** Detaches every session from its stream and closes the streams, for shutdown. */
  @GuardedBy("state.lock")
  void closeStreams(Effects fx) {
    for (Session session : state.sessions.all()) {
      SessionChannel channel = session.channel();
      session.attach(null);
      if (channel != null) {
        fx.add(() -> channel.close(CloseReason.SHUTDOWN, "broker is shutting down"));
      }
    }
  }
}
