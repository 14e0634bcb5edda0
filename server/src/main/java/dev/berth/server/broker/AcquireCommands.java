package dev.berth.server.broker;

import static dev.berth.server.failure.BrokerException.Code.FAILED_PRECONDITION;
import static dev.berth.server.failure.BrokerException.Code.RESOURCE_EXHAUSTED;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireCallback;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RecentRequests;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.admission.WaitQueue;
import dev.berth.server.admission.Waiter;
import dev.berth.server.broker.Broker.PendingAcquire;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionRegistry;
import dev.berth.server.settings.Durations;
import dev.berth.server.time.TimeSource.Cancellable;
import dev.berth.server.wasm.WasmModule;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Acquires: admission, grants, the fair wait queues (one per kind) and their wake-ups. A waiting
 * acquire holds no thread; it is a {@link Waiter} answered by a later grant, its timeout, the end
 * of its session, or a drain.
 */
final class AcquireCommands {
  private final BrokerState state;

  @GuardedBy("state.lock")
  private final Map<ResourceKind, WaitQueue> queues = new EnumMap<>(ResourceKind.class);

  /** Arrival order across all queues; ties between equal priorities go to the earlier. */
  @GuardedBy("state.lock")
  private long waiterSeq;

  /** When each kind's queue is next woken for a host token, and the task that will wake it. */
  @GuardedBy("state.lock")
  private final Map<ResourceKind, Long> wakeAt = new EnumMap<>(ResourceKind.class);

  @GuardedBy("state.lock")
  private final Map<ResourceKind, Cancellable> wakeTasks = new EnumMap<>(ResourceKind.class);

  AcquireCommands(BrokerState state) {
    this.state = state;
    for (ResourceKind kind : ResourceKind.values()) {
      queues.put(kind, new WaitQueue());
    }
  }

  /**
   * Asks for one lease for the caller's live {@code session}; see {@link Broker#acquire}. Lock
   * held.
   */
  @GuardedBy("state.lock")
  PendingAcquire acquire(
      Session session,
      AcquireSpec spec,
      String principal,
      AcquireCallback callback,
      long now,
      Effects fx) {
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
    int queueCap = state.policy.caps().queued();
    if (queueCap > 0 && state.usage.queued(principal) >= queueCap) {
      if (entry != null) {
        session.recentRequests().forget(spec.requestId(), entry);
      }
      throw new BrokerException(
          RESOURCE_EXHAUSTED,
          "principal '"
              + principal
              + "' has "
              + queueCap
              + " acquires waiting, its cap ("
              + PrincipalCaps.Keys.QUEUED
              + ")");
    }
    Waiter waiter = new Waiter(spec, principal, waiterSeq++, now + spec.waitNanos(), callback);
    state.usage.enqueued(principal);
    queues.get(spec.kind()).add(waiter);
    waiter.timeout(state.time.schedule(() -> timedOut(waiter), spec.waitNanos()));
    if (entry != null) {
      entry.waiting(waiter);
    }
    return () -> cancel(waiter, callback);
  }

  /** Counts a refusal and tells the rate limiter and listeners. Lock held. */
  @GuardedBy("state.lock")
  void refused(AcquireSpec spec, Decision.Refused refusal, long now, Effects fx) {
    state.counters.refused(refusal.reason());
    state.admission.refused(spec, refusal, now);
    state.tell(l -> l.refused(spec, refusal), fx);
  }

  /** Wakes a kind's queue at {@code atNanos}, when a waiting host gets its token. */
  @GuardedBy("state.lock")
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
    wakeTasks.put(
        kind, state.time.schedule(() -> wake(kind, atNanos), atNanos - state.time.nanoTime()));
  }

  // Lock held: the lambda runs inside state.act, under state.lock; the checker treats a lambda
  // body as holding no lock.
  @SuppressWarnings("GuardedBy")
  private void wake(ResourceKind kind, long atNanos) {
    state.act(
        (now, fx) -> {
          Long current = wakeAt.get(kind);
          if (current == null || current != atNanos) {
            return; // superseded by an earlier wake
          }
          wakeAt.remove(kind);
          wakeTasks.remove(kind);
          pump(kind, now, fx);
        });
  }

  /** Leases held plus acquires waiting may not pass the principal's lease cap. */
  @GuardedBy("state.lock")
  private void checkLeaseCap(String principal) {
    int cap = state.policy.caps().leases();
    if (cap > 0 && state.usage.leases(principal) + state.usage.queued(principal) >= cap) {
      throw new BrokerException(
          RESOURCE_EXHAUSTED,
          "principal '"
              + principal
              + "' holds or awaits "
              + cap
              + " leases, its cap ("
              + PrincipalCaps.Keys.LEASES
              + ")");
    }
  }

  @GuardedBy("state.lock")
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

  @GuardedBy("state.lock")
  private void answered(
      RecentRequests.Entry entry, Decision decision, AcquireCallback callback, Effects fx) {
    if (entry != null) {
      entry.answered(decision);
    }
    fx.add(() -> callback.decided(decision));
  }

  // Lock held: the lambda runs inside state.act, under state.lock; the checker treats a lambda
  // body as holding no lock.
  @SuppressWarnings("GuardedBy")
  private void cancel(Waiter waiter, AcquireCallback callback) {
    state.act(
        (now, fx) -> {
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
        });
  }

  // Lock held: the lambda runs inside state.act, under state.lock; the checker treats a lambda
  // body as holding no lock.
  @SuppressWarnings("GuardedBy")
  private void timedOut(Waiter waiter) {
    state.act(
        (now, fx) -> {
          if (waiter.isDone()) {
            return;
          }
          queues.get(waiter.spec().kind()).remove(waiter);
          AcquireSpec spec = waiter.spec();
          // Name the rule that still blocks (a host's rate, memory pressure, the pool), so the
          // detail and retry_after of a TIMEOUT say what the caller waited for in vain.
          Session session = state.sessions.get(spec.sessionId());
          Decision.Refused blocking =
              session != null ? evaluate(session, spec, null).refusal() : null;
          Decision.Refused refusal =
              new Decision.Refused(
                  RefusalReason.TIMEOUT,
                  blocking != null
                      ? blocking.retryAfterNanos()
                      : state.config.exhaustedRetryAfter().toNanos(),
                  "waited "
                      + Durations.format(Duration.ofNanos(spec.waitNanos()))
                      + " for a "
                      + spec.kind()
                      + " slot: "
                      + (blocking != null ? blocking.detail() : poolDetail(spec.kind())));
          decide(waiter, refusal, fx);
          refused(spec, refusal, now, fx);
        });
  }

  @GuardedBy("state.lock")
  private void decide(Waiter waiter, Decision decision, Effects fx) {
    List<AcquireCallback> callers = complete(waiter);
    Session session = state.sessions.get(waiter.spec().sessionId());
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
  @GuardedBy("state.lock")
  private List<AcquireCallback> complete(Waiter waiter) {
    if (waiter.isDone()) {
      return List.of();
    }
    state.usage.dequeued(waiter.principal());
    return waiter.complete();
  }

  @GuardedBy("state.lock")
  private void fail(Waiter waiter, BrokerException error, Effects fx) {
    for (AcquireCallback caller : complete(waiter)) {
      fx.add(() -> caller.failed(error));
    }
  }

  @GuardedBy("state.lock")
  private void forgetRequest(Waiter waiter) {
    Session session = state.sessions.get(waiter.spec().sessionId());
    if (session != null && !waiter.spec().requestId().isEmpty()) {
      RecentRequests.Entry entry = session.recentRequests().get(waiter.spec().requestId());
      if (entry != null && entry.pending() == waiter) {
        session.recentRequests().forget(waiter.spec().requestId(), entry);
      }
    }
  }

  /** Fails every acquire of {@code sessionId} still waiting, with {@code error}. Lock held. */
  @GuardedBy("state.lock")
  void failWaitersOf(String sessionId, BrokerException error, Effects fx) {
    for (WaitQueue queue : queues.values()) {
      for (Iterator<Waiter> it = queue.iterator(); it.hasNext(); ) {
        Waiter waiter = it.next();
        if (waiter.spec().sessionId().equals(sessionId)) {
          it.remove();
          fail(waiter, error, fx);
        }
      }
    }
  }

  /**
   * Answers waiting acquires DRAINING at once — of one session, or every one when {@code sessionId}
   * is null — wherever they stand in their queues. Lock held.
   */
  @GuardedBy("state.lock")
  void refuseWaiters(String sessionId, String detail, long now, Effects fx) {
    Decision.Refused refusal =
        new Decision.Refused(
            RefusalReason.DRAINING, state.config.drainDeadline().toNanos(), detail);
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

  /** Runs the admission checks for one acquire of {@code session}. Lock held. */
  @GuardedBy("state.lock")
  Admission.Verdict evaluate(Session session, AcquireSpec spec, List<Admission.Step> steps) {
    ResourceKind kind = spec.kind();
    long now = state.time.nanoTime();
    Admission.Facts facts =
        state.admission.facts(
            state.config,
            spec,
            new Admission.BrokerFacts(state.draining, Math.max(0, state.recoveryUntilNanos - now)),
            new Admission.SessionFacts(
                session.id(),
                session.draining(),
                kind == ResourceKind.WASM && state.leases.firstOf(session.id(), kind) != null,
                state.config.perSessionLimit(kind) > 0
                    ? state.leases.countOf(session.id(), kind)
                    : 0),
            new Admission.Usage(state.leases.inUse(kind), queues.get(kind).size()),
            state.config.heartbeatInterval().toNanos(),
            now);
    return Admission.evaluate(state.config, spec, facts, steps);
  }

  @GuardedBy("state.lock")
  private String poolDetail(ResourceKind kind) {
    return Admission.poolDetail(
        kind,
        state.leases.inUse(kind),
        state.admission.effectiveLimit(kind, state.config.limit(kind)),
        queues.get(kind).size());
  }

  /** Acquires of {@code kind} waiting now. Lock held. */
  @GuardedBy("state.lock")
  int queued(ResourceKind kind) {
    return queues.get(kind).size();
  }

  /** The module a WASM acquire asks for: the one it names, else the configured default. */
  @GuardedBy("state.lock")
  private String moduleOf(AcquireSpec spec) {
    return spec.module().isEmpty() ? state.config.defaultWasmModule() : spec.module();
  }

  /**
   * Fails a WASM acquire for a module the broker does not serve, before anything changes. With no
   * modules configured WASM leases are plain capacity, and any name goes. Lock held.
   */
  @GuardedBy("state.lock")
  void requireModule(AcquireSpec spec) {
    if (spec.kind() != ResourceKind.WASM || state.modules.isEmpty()) {
      return;
    }
    String name = moduleOf(spec);
    if (state.modules.find(name).isEmpty()) {
      String served =
          String.join(", ", state.modules.modules().stream().map(WasmModule::name).toList());
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

  @GuardedBy("state.lock")
  private Lease grant(Session session, AcquireSpec spec, long now, Effects fx) {
    ResourceKind kind = spec.kind();
    if (kind == ResourceKind.WASM) {
      Lease held = state.leases.firstOf(session.id(), kind);
      if (held != null) {
        state.wasmUse.used(held.id(), now); // asking again means it is wanted
        return held;
      }
    }
    int memory =
        spec.memoryEstimateMb() > 0 ? spec.memoryEstimateMb() : state.config.memoryEstimateMb(kind);
    String module = kind == ResourceKind.WASM ? moduleOf(spec) : "";
    // A module removed by a reload since the acquire was admitted leaves the digest empty.
    String digest =
        kind == ResourceKind.WASM
            ? state.modules.find(module).map(WasmModule::digest).orElse("")
            : "";
    Lease lease =
        new Lease(
            state.ids.next(),
            kind,
            state.tokens.next(),
            session.id(),
            spec.host(),
            module,
            digest,
            memory,
            now,
            now + state.config.maxHold(kind).toNanos());
    state.leases.add(lease);
    state.usage.leaseGranted(session.principal());
    if (kind == ResourceKind.WASM) {
      state.wasmUse.used(lease.id(), now);
    }
    state.admission.granted(lease, now);
    state.counters.granted();
    String worker = session.workerId();
    state.tell(l -> l.granted(lease, worker), fx);
    return lease;
  }

  /**
   * Grants queued waiters of {@code kind} in queue order while capacity lasts. A waiter blocked
   * only for itself (its host has no token yet, its worker is under memory pressure, its session
   * holds its limit) is passed over, not allowed to block those behind it; a blocker that applies
   * to everyone (pool full, fleet memory pressure) ends the pass. Lock held.
   */
  @GuardedBy("state.lock")
  void pump(ResourceKind kind, long now, Effects fx) {
    WaitQueue queue = queues.get(kind);
    long nextToken = Long.MAX_VALUE;
    for (Iterator<Waiter> it = queue.iterator(); it.hasNext(); ) {
      Waiter waiter = it.next();
      if (waiter.isDead(now)) {
        it.remove();
        continue; // its timeout task answers it, if anyone still listens
      }
      Session session = state.sessions.get(waiter.spec().sessionId());
      if (session == null) {
        it.remove();
        fail(waiter, state.sessionGone(waiter.spec().sessionId()), fx);
        continue;
      }
      if (SessionRegistry.isOverdue(session, now, state.ttlNanos())) {
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

  /** Pumps the queues of the kinds memory pressure holds back, after it lifted. Lock held. */
  @GuardedBy("state.lock")
  void pumpMemoryBound(long now, Effects fx) {
    for (ResourceKind kind : ResourceKind.values()) {
      if (Admission.memoryBound(kind)) {
        pump(kind, now, fx);
      }
    }
  }

  /** Pumps every queue, after a change that may free any kind. Lock held. */
  @GuardedBy("state.lock")
  void pumpAll(long now, Effects fx) {
    for (ResourceKind kind : ResourceKind.values()) {
      pump(kind, now, fx);
    }
  }
}
