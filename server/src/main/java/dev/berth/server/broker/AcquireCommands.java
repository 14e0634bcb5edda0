package dev.berth.server.broker;

import static dev.berth.server.failure.BrokerException.Code.FAILED_PRECONDITION;
import static dev.berth.server.failure.BrokerException.Code.RESOURCE_EXHAUSTED;
import static dev.berth.server.failure.BrokerException.Code.UNAVAILABLE;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.AdmissionController;
import dev.berth.server.admission.Callback;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.FairQueue;
import dev.berth.server.admission.Job;
import dev.berth.server.admission.RecentRequests;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.admission.Request;
import dev.berth.server.admission.Waiter;
import dev.berth.server.broker.Broker.PendingAcquire;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.RateText;
import dev.berth.server.session.Session;
import dev.berth.server.session.SessionRegistry;
import dev.berth.server.settings.Durations;
import dev.berth.server.time.TimeSource.Cancellable;
import dev.berth.server.wasm.WasmModule;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Acquires and bundles: admission, grants, the fair wait queues (one per kind, a lane per job) and
 * their wake-ups. A single acquire and a bundle take the same path — a bundle is a request of
 * several items, checked item by item against the state as it would be after granting the items
 * before it, and granted whole under the lock or not at all. A waiting request holds no thread; it
 * is a {@link Waiter} answered by a later grant, its timeout, the end of its session, or a drain.
 */
final class AcquireCommands {
  private static final PendingAcquire ANSWERED = () -> {};

  /**
   * When a grant a cluster leader's journal held back is worth asking for again: a few flushes of
   * the journal, long enough for a batch to commit on a healthy cluster.
   */
  static final long JOURNAL_RETRY_NANOS = 20_000_000;

  /** {@link #brokerFacts} of a lone broker serving normally. */
  private static final Admission.BrokerFacts SERVING_ALONE =
      new Admission.BrokerFacts(false, 0, false, 0, null, JOURNAL_RETRY_NANOS);

  private final BrokerState state;

  @GuardedBy("state.lock")
  private final Map<ResourceKind, FairQueue> queues = new EnumMap<>(ResourceKind.class);

  /**
   * Per rate-limited host, how many items of the queued waiters ask for it, by priority (0..9): the
   * tokens the queue will take from the host before a newcomer of that priority or below.
   */
  @GuardedBy("state.lock")
  private final Map<String, int[]> queuedForHost = new HashMap<>();

  /** Arrival order across all queues; ties between equal priorities go to the earlier. */
  @GuardedBy("state.lock")
  private long waiterSeq;

  /** Numbers the passes of {@link #pump}, so a lane knows where the current pass left it. */
  @GuardedBy("state.lock")
  private long passes;

  /** When each kind's queue is next woken for a host token, and the task that will wake it. */
  @GuardedBy("state.lock")
  private final Map<ResourceKind, Long> wakeAt = new EnumMap<>(ResourceKind.class);

  @GuardedBy("state.lock")
  private final Map<ResourceKind, Cancellable> wakeTasks = new EnumMap<>(ResourceKind.class);

  AcquireCommands(BrokerState state) {
    this.state = state;
    for (ResourceKind kind : ResourceKind.values()) {
      queues.put(kind, new FairQueue(kind));
    }
  }

  /**
   * Asks for the leases of {@code request} for the caller's live {@code session}; see {@link
   * Broker#acquire} and {@link Broker#acquireBundle}. Lock held.
   */
  @GuardedBy("state.lock")
  <A> PendingAcquire acquire(
      Session session,
      Request<A> request,
      String principal,
      Callback<A> callback,
      long now,
      Effects fx) {
    int items = request.itemCount();
    for (int i = 0; i < items; i++) {
      requireModule(request.item(i), items == 1 ? "" : "items[" + i + "].");
    }
    if (!request.requestId().isEmpty()) {
      RecentRequests.Entry<?> first = session.recentRequests().get(request.requestId());
      if (first != null && grantEnded(first)) {
        // Its lease was released, revoked or expired: the id is free again, and a call with it is
        // a new request. Answered the first grant, it would hold a lease the pool no longer counts.
        session.recentRequests().forget(request.requestId(), first);
        first = null;
      }
      if (first != null) {
        BrokerState.timedOutcome(LockTiming.Outcome.REPEATED);
        return repeat(first, request, callback, fx);
      }
    }
    checkLeaseCap(principal, items);
    RecentRequests.Entry<A> entry =
        request.requestId().isEmpty()
            ? null
            : session.recentRequests().remember(request.requestId(), request);
    Admission.Verdict verdict = evaluate(session, request, null, now);
    if (verdict.refusal() == null) {
      chargeArrival(session, request);
      answered(entry, grantAll(session, request, now, fx), callback, fx);
      BrokerState.timedOutcome(LockTiming.Outcome.GRANTED);
      return ANSWERED;
    }
    verdict = behindHostWaiters(request, verdict, now);
    if (!verdict.blocker().waitable(request.waitNanos(), verdict.refusal())) {
      answered(entry, request.refused(verdict.item(), verdict.refusal()), callback, fx);
      refused(session.job(), request.item(verdict.item()), verdict.refusal(), now, fx);
      BrokerState.timedOutcome(LockTiming.Outcome.REFUSED);
      return ANSWERED;
    }
    if (verdict.blocker().wakesAtRetryAfter()) {
      scheduleWake(request.item(verdict.item()).kind(), now + verdict.refusal().retryAfterNanos());
    }
    int queueCap = state.policy.caps().queued();
    if (queueCap > 0 && state.usage.queued(principal) >= queueCap) {
      if (entry != null) {
        session.recentRequests().forget(request.requestId(), entry);
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
    Waiter<A> waiter =
        new Waiter<>(
            request, principal, session.job(), waiterSeq++, now + request.waitNanos(), callback);
    enqueue(waiter);
    waiter.timeout(state.time.schedule(() -> timedOut(waiter), request.waitNanos()));
    if (entry != null) {
      entry.waiting(waiter);
    }
    BrokerState.timedOutcome(LockTiming.Outcome.QUEUED);
    return () -> cancel(waiter, callback);
  }

  /**
   * {@code verdict} for a request its host's rate refuses now, counting the acquires already queued
   * for the host (at the request's priority or above), which take the host's next tokens first. A
   * request that would wait past them keeps {@code verdict}, and waits with the queue. Otherwise it
   * gets a refusal whose {@code retry_after} is when a token would be left for it at the host's
   * current rate, with the host rule's reason and rule and a detail that says how many wait ahead:
   * so a request whose wait is shorter is refused at once rather than sit out its wait while the
   * queue ahead uses up the tokens, and one that does not wait is not told to come back when the
   * next token goes to a waiter. Acquire and Explain both ask. Lock held.
   */
  @GuardedBy("state.lock")
  Admission.Verdict behindHostWaiters(Request<?> request, Admission.Verdict verdict, long now) {
    if (verdict.blocker() != Admission.Blocker.RATE_LIMITED) {
      return verdict;
    }
    int[] byPriority = queuedForHost.get(request.item(verdict.item()).host());
    int ahead = byPriority == null ? 0 : sum(byPriority, request.priority());
    Decision.Refused behind = behindHost(request, verdict, ahead, now);
    if (behind == null || request.waitNanos() > behind.retryAfterNanos()) {
      return verdict; // the queue makes it no later (a job's own rule may be slower), or it waits
    }
    return new Admission.Verdict(behind, Admission.Blocker.RATE_LIMITED, verdict.item());
  }

  /**
   * The refusal for {@code request}, which its host's rate refuses now ({@code verdict}), when
   * {@code ahead} of the host's tokens go to queued acquires first: {@code retry_after} is when a
   * token would be left for it at the host's current rate, and the detail says how many wait ahead.
   * Null when the queue makes it no later than {@code verdict} says (none waits ahead, or a job's
   * own rule for the host is slower). Lock held.
   */
  @GuardedBy("state.lock")
  private Decision.Refused behindHost(
      Request<?> request, Admission.Verdict verdict, int ahead, long now) {
    if (ahead == 0) {
      return null;
    }
    String host = request.item(verdict.item()).host();
    Decision.Refused first = verdict.refusal();
    long behind = state.admission.nanosUntilHostTaken(host, ahead, itemsFor(request, host), now);
    if (behind <= first.retryAfterNanos()) {
      return null;
    }
    return Decision.Refused.deferred(
        RefusalReason.RATE_LIMITED,
        behind,
        () ->
            first.detail()
                + "; "
                + ahead
                + (ahead == 1 ? " queued acquire takes" : " queued acquires take")
                + " its tokens first, so one is left for this in about "
                + RateText.duration(behind),
        first.rule());
  }

  /** How many items of {@code request} take a token of rate-limited {@code host}. */
  private static int itemsFor(Request<?> request, String host) {
    int need = 0;
    for (int i = 0; i < request.itemCount(); i++) {
      AcquireSpec item = request.item(i);
      if (AdmissionController.rateLimited(item.kind(), item.host()) && item.host().equals(host)) {
        need++;
      }
    }
    return need;
  }

  /** Counts a refusal for the job and tells the rate limiter and listeners. Lock held. */
  @GuardedBy("state.lock")
  void refused(Job job, AcquireSpec spec, Decision.Refused refusal, long now, Effects fx) {
    state.counters.refused(refusal.reason());
    state.admission.refused(spec, refusal, now);
    job.refused();
    String name = job.name();
    state.tell(l -> l.refused(spec, refusal, name), fx);
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

  /**
   * Leases held plus leases asked for by waiting requests may not pass the principal's lease cap; a
   * bundle of n items counts n.
   */
  @GuardedBy("state.lock")
  private void checkLeaseCap(String principal, int items) {
    int cap = state.policy.caps().leases();
    if (cap > 0
        && state.usage.leases(principal) + state.usage.queuedItems(principal) + items > cap) {
      throw new BrokerException(
          RESOURCE_EXHAUSTED,
          "principal '"
              + principal
              + "' holds or awaits "
              + cap
              + " leases, its cap ("
              + PrincipalCaps.Keys.LEASES
              + ")"
              + (items > 1 ? "; this bundle asks for " + items : ""));
    }
  }

  /** Whether {@code entry}'s answer granted leases and one of them is no longer live. */
  @GuardedBy("state.lock")
  private boolean grantEnded(RecentRequests.Entry<?> entry) {
    for (Lease lease : entry.grantedLeases()) {
      if (state.leases.get(lease.id()) == null) {
        return true;
      }
    }
    return false;
  }

  @GuardedBy("state.lock")
  private <A> PendingAcquire repeat(
      RecentRequests.Entry<?> any, Request<A> request, Callback<A> callback, Effects fx) {
    if (!any.request().sameRequestAs(request)) {
      throw new BrokerException(
          FAILED_PRECONDITION,
          "request_id: '"
              + request.requestId()
              + "' was first used for a different request ("
              + any.request().describe()
              + ")");
    }
    RecentRequests.Entry<A> first = any.as(request);
    first.claim();
    if (first.answer() != null) {
      A answer = first.answer();
      fx.add(() -> callback.decided(answer));
      return ANSWERED;
    }
    Waiter<A> waiter = first.pending();
    waiter.attach(callback);
    return () -> cancel(waiter, callback);
  }

  @GuardedBy("state.lock")
  private <A> void answered(
      RecentRequests.Entry<A> entry, A answer, Callback<A> callback, Effects fx) {
    if (entry != null) {
      entry.answered(answer);
    }
    fx.add(() -> callback.decided(answer));
  }

  // Lock held: the lambda runs inside state.act, under state.lock; the checker treats a lambda
  // body as holding no lock.
  @SuppressWarnings("GuardedBy")
  private <A> void cancel(Waiter<A> waiter, Callback<A> callback) {
    state.act(
        (now, fx) -> {
          if (waiter.isDone()) {
            return;
          }
          waiter.detach(callback);
          if (!waiter.hasCallers()) {
            // Abandoned by everyone. While another caller of the same request id remains, the
            // waiter stays, and its timeout (or a grant) answers that caller.
            unqueue(waiter);
            complete(waiter);
            forgetRequest(waiter);
          }
        });
  }

  // Lock held: the lambda runs inside state.act, under state.lock; the checker treats a lambda
  // body as holding no lock.
  @SuppressWarnings("GuardedBy")
  private <A> void timedOut(Waiter<A> waiter) {
    state.act(
        (now, fx) -> {
          if (waiter.isDone()) {
            return;
          }
          if (state.journaling && state.journal.handingOff()) {
            // A planned handoff holds every grant: a refusal now would be the handoff's doing, and
            // holding the call on would keep the worker from its successor (a member that stops
            // after the handoff answers it no more; the worker's session would expire there).
            // Send the caller to the successor, where it resumes its session and asks again.
            unqueue(waiter);
            fail(
                waiter,
                new BrokerException(
                    UNAVAILABLE,
                    "this cluster member is handing leadership to another while this acquire"
                        + " waited; ask the new leader"),
                fx);
            return;
          }
          unqueue(waiter);
          Request<A> request = waiter.request();
          // Name the rule that still blocks (a host's rate, memory pressure, the pool), so the
          // detail, retry_after and rule of a TIMEOUT say what the caller waited for in vain.
          Session session = state.sessions.get(request.sessionId());
          Admission.Verdict blocking =
              session != null ? evaluate(session, request, null, now) : null;
          Decision.Refused still = blocking != null ? blocking.refusal() : null;
          int item = still != null ? blocking.item() : 0;
          AcquireSpec spec = request.item(item);
          int count = request.itemCount();
          long waited = request.waitNanos();
          // Read now what the sentence needs; write it when the caller's answer reads it.
          String pool = still != null ? null : poolDetail(spec.kind(), now);
          Decision.Refused refusal =
              Decision.Refused.deferred(
                  RefusalReason.TIMEOUT,
                  still != null
                      ? still.retryAfterNanos()
                      : state.config.exhaustedRetryAfter().toNanos(),
                  () ->
                      "waited "
                          + Durations.format(Duration.ofNanos(waited))
                          + " for "
                          + (count == 1
                              ? "a " + spec.kind() + " slot"
                              : "a bundle of "
                                  + count
                                  + " (items["
                                  + item
                                  + "] "
                                  + spec.kind()
                                  + ")")
                          + ": "
                          + (still != null ? still.detail() : pool),
                  still != null ? still.rule() : Admission.Rules.TIMEOUT);
          decide(waiter, request.refused(item, refusal), fx);
          refused(waiter.job(), spec, refusal, now, fx);
        });
  }

  @GuardedBy("state.lock")
  private <A> void decide(Waiter<A> waiter, A answer, Effects fx) {
    List<Callback<A>> callers = complete(waiter);
    Session session = state.sessions.get(waiter.request().sessionId());
    String requestId = waiter.request().requestId();
    if (session != null && !requestId.isEmpty()) {
      RecentRequests.Entry<?> entry = session.recentRequests().get(requestId);
      if (entry != null && entry.pending() == waiter) {
        entry.as(waiter.request()).answered(answer);
      }
    }
    for (Callback<A> caller : callers) {
      fx.add(() -> caller.decided(answer));
    }
  }

  /** Marks a waiter answered (once) and returns whom to tell; it no longer counts as queued. */
  @GuardedBy("state.lock")
  private <A> List<Callback<A>> complete(Waiter<A> waiter) {
    if (waiter.isDone()) {
      return List.of();
    }
    state.usage.dequeued(waiter.principal(), waiter.request().itemCount());
    return waiter.complete();
  }

  @GuardedBy("state.lock")
  private <A> void fail(Waiter<A> waiter, BrokerException error, Effects fx) {
    // A failure is no answer: a retry with the same request_id starts afresh (after a handoff that
    // failed, this member leads on), instead of joining a waiter nothing will answer.
    forgetRequest(waiter);
    for (Callback<A> caller : complete(waiter)) {
      fx.add(() -> caller.failed(error));
    }
  }

  @GuardedBy("state.lock")
  private void forgetRequest(Waiter<?> waiter) {
    Session session = state.sessions.get(waiter.request().sessionId());
    String requestId = waiter.request().requestId();
    if (session != null && !requestId.isEmpty()) {
      RecentRequests.Entry<?> entry = session.recentRequests().get(requestId);
      if (entry != null && entry.pending() == waiter) {
        session.recentRequests().forget(requestId, entry);
      }
    }
  }

  /**
   * See {@link Broker#forgetUnclaimed}. Lock held.
   *
   * @return whether the request was forgotten: its answer granted exactly {@code leaseIds} and no
   *     repeat was given it
   */
  @GuardedBy("state.lock")
  boolean forgetUnclaimed(String sessionId, String requestId, List<String> leaseIds) {
    Session session = state.sessions.get(sessionId);
    if (session == null || requestId.isEmpty()) {
      return false;
    }
    RecentRequests.Entry<?> entry = session.recentRequests().get(requestId);
    if (entry == null || entry.pending() != null || entry.claimed()) {
      return false;
    }
    List<String> granted = new ArrayList<>();
    entry.grantedLeases().forEach(l -> granted.add(l.id()));
    if (!granted.equals(leaseIds)) {
      return false; // the id was forgotten and asked again meanwhile: another request's answer
    }
    session.recentRequests().forget(requestId, entry);
    return true;
  }

  /** Puts a waiter in the queue of every kind it asks for, in its job's lane: one place. */
  @GuardedBy("state.lock")
  private void enqueue(Waiter<?> waiter) {
    for (ResourceKind kind : ResourceKind.values()) {
      if (waiter.wants(kind)) {
        queues.get(kind).add(waiter);
      }
    }
    waiter.queued(true);
    countHostTokens(waiter.request(), 1);
    waiter.job().placeTaken();
    state.usage.enqueued(waiter.principal(), waiter.request().itemCount());
  }

  /** Takes a waiter out of every queue it still stands in, and frees its job's place. */
  @GuardedBy("state.lock")
  private void unqueue(Waiter<?> waiter) {
    if (!waiter.queued()) {
      return;
    }
    for (ResourceKind kind : ResourceKind.values()) {
      if (waiter.wants(kind)) {
        queues.get(kind).remove(waiter);
      }
    }
    waiter.queued(false);
    countHostTokens(waiter.request(), -1);
    waiter.job().placeFreed();
  }

  /** The counts of {@code from} and the priorities above it. */
  private static int sum(int[] byPriority, int from) {
    int sum = 0;
    for (int p = from; p < byPriority.length; p++) {
      sum += byPriority[p];
    }
    return sum;
  }

  /** Adds {@code delta} to {@link #queuedForHost} for each rate-limited item of {@code request}. */
  @GuardedBy("state.lock")
  private void countHostTokens(Request<?> request, int delta) {
    for (int i = 0; i < request.itemCount(); i++) {
      AcquireSpec item = request.item(i);
      if (!AdmissionController.rateLimited(item.kind(), item.host())) {
        continue;
      }
      int[] byPriority =
          queuedForHost.computeIfAbsent(item.host(), h -> new int[AcquireSpec.MAX_PRIORITY + 1]);
      byPriority[request.priority()] += delta;
      if (delta < 0 && sum(byPriority, 0) == 0) {
        queuedForHost.remove(item.host());
      }
    }
  }

  /** Every waiter, each once, in queue order of the kinds. */
  @GuardedBy("state.lock")
  private Set<Waiter<?>> allWaiters() {
    Set<Waiter<?>> all = new LinkedHashSet<>();
    for (FairQueue queue : queues.values()) {
      all.addAll(queue.waiters());
    }
    return all;
  }

  /**
   * Fails every request still waiting — of {@code sessionId}, or every one when it is null — with
   * {@code error}. Lock held.
   */
  @GuardedBy("state.lock")
  void failWaitersOf(String sessionId, BrokerException error, Effects fx) {
    for (Waiter<?> waiter : allWaiters()) {
      if (sessionId == null || waiter.request().sessionId().equals(sessionId)) {
        unqueue(waiter);
        fail(waiter, error, fx);
      }
    }
  }

  /**
   * Answers waiting requests DRAINING at once — of one session, or every one when {@code sessionId}
   * is null — wherever they stand in their queues. Lock held.
   */
  @GuardedBy("state.lock")
  void refuseWaiters(String sessionId, String detail, long now, Effects fx) {
    Decision.Refused refusal =
        new Decision.Refused(
            RefusalReason.DRAINING,
            state.config.drainDeadline().toNanos(),
            detail,
            Admission.Rules.DRAINING);
    for (Waiter<?> waiter : allWaiters()) {
      if (sessionId == null || waiter.request().sessionId().equals(sessionId)) {
        unqueue(waiter);
        refuseWaiter(waiter, 0, refusal, now, fx);
      }
    }
  }

  @GuardedBy("state.lock")
  private <A> void refuseWaiter(
      Waiter<A> waiter, int item, Decision.Refused refusal, long now, Effects fx) {
    decide(waiter, waiter.request().refused(item, refusal), fx);
    refused(waiter.job(), waiter.request().item(item), refusal, now, fx);
  }

  /**
   * Runs the admission checks for a request of {@code session}: each item against the state as it
   * would be after granting the items before it (two RENDER items for one host need two of its
   * tokens, and two places in the pool). The first item refused decides; with {@code steps}, every
   * item is checked and recorded ({@code items[i] } before each rule of a bundle). The checks see
   * the state at {@code now}, the command's own instant, at which a grant that follows takes its
   * host tokens: no second clock read. Lock held.
   */
  @GuardedBy("state.lock")
  Admission.Verdict evaluate(
      Session session, Request<?> request, List<Admission.Step> steps, long now) {
    int items = request.itemCount();
    if (items == 1) {
      return evaluate(session, request.item(0), 0, 0, 0, steps, now);
    }
    Admission.Verdict first = Admission.Verdict.GRANT;
    for (int i = 0; i < items; i++) {
      AcquireSpec item = request.item(i);
      boolean limited = AdmissionController.rateLimited(item.kind(), item.host());
      int kindBefore = 0;
      int hostBefore = 0;
      long memoryBefore = 0;
      for (int j = 0; j < i; j++) {
        AcquireSpec earlier = request.item(j);
        if (earlier.kind() == item.kind()) {
          kindBefore++;
        }
        if (limited
            && AdmissionController.rateLimited(earlier.kind(), earlier.host())
            && earlier.host().equals(item.host())) {
          hostBefore++;
        }
        // Charged as it would be once granted (a WASM item only when it is a new instance).
        memoryBefore += chargedFor(session, earlier);
      }
      List<Admission.Step> itemSteps = steps == null ? null : new ArrayList<>();
      Admission.Verdict verdict =
          evaluate(session, item, kindBefore, hostBefore, memoryBefore, itemSteps, now);
      if (memoryBefore > 0 && verdict.blocker() == Admission.Blocker.WORKER_MEMORY) {
        // Possibly held by its earlier items' memory alone, which no change of level announces
        // when it fits again: see bundlesHeldByMemory.
        bundlesHeldByMemory = true;
      }
      if (steps != null) {
        for (Admission.Step step : itemSteps) {
          steps.add(
              new Admission.Step("items[" + i + "] " + step.rule(), step.passed(), step.detail()));
        }
      }
      if (verdict.refusal() != null && first.refusal() == null) {
        first = verdict.forItem(i);
        if (steps == null) {
          break;
        }
      }
    }
    return first;
  }

  /** The checks of one acquire, with {@code kindBefore} leases of its kind already counted. */
  @GuardedBy("state.lock")
  private Admission.Verdict evaluate(
      Session session,
      AcquireSpec spec,
      int kindBefore,
      int hostBefore,
      long memoryBefore,
      List<Admission.Step> steps,
      long now) {
    ResourceKind kind = spec.kind();
    Admission.Facts facts =
        state.admission.facts(
            state.config,
            spec,
            brokerFacts(kind, kindBefore, now),
            new Admission.SessionFacts(
                session.id(),
                session.draining(),
                kind == ResourceKind.WASM && state.leases.firstOf(session.id(), kind) != null,
                state.config.perSessionLimit(kind) > 0
                    ? state.leases.countOf(session.id(), kind) + kindBefore
                    : 0),
            state.leases.inUse(kind) + kindBefore,
            queues.get(kind).size(),
            session.job(),
            kindBefore,
            hostBefore,
            memoryBefore,
            state.config.heartbeatInterval().toNanos(),
            now);
    return Admission.evaluate(state.config, spec, facts, steps);
  }

  /**
   * The broker's facts for an acquire of {@code kind}: the same object every time while a lone
   * broker serves normally, which is nearly always, so an acquire does not allocate them. Lock
   * held.
   */
  @GuardedBy("state.lock")
  private Admission.BrokerFacts brokerFacts(ResourceKind kind, int kindBefore, long now) {
    long recovery = Math.max(0, state.recoveryUntilNanos - now);
    int heldBack = state.heldBack(kind, now);
    if (!state.draining && recovery == 0 && !state.journaling && heldBack == 0) {
      return SERVING_ALONE;
    }
    return new Admission.BrokerFacts(
        state.draining,
        recovery,
        state.journaling,
        heldBack,
        state.journaling
            ? state.journal.holdsBack(kind, kindBefore, state.tokens.remaining(), now)
            : null,
        JOURNAL_RETRY_NANOS);
  }

  @GuardedBy("state.lock")
  private String poolDetail(ResourceKind kind, long now) {
    return Admission.poolDetail(
        kind, state.leases.inUse(kind), state.effectiveLimit(kind, now), queues.get(kind).size());
  }

  /**
   * Requests waiting for {@code kind} now (a bundle counts in each kind it asks for). Lock held.
   */
  @GuardedBy("state.lock")
  int queued(ResourceKind kind) {
    return queues.get(kind).size();
  }

  /** Every waiter, each once, the oldest first. Lock held. */
  @GuardedBy("state.lock")
  List<Waiter<?>> waitersByArrival() {
    List<Waiter<?>> all = new ArrayList<>(allWaiters());
    all.sort(Comparator.comparingLong(Waiter::seq));
    return all;
  }

  /** See {@link Broker#hostTokensQueued}. Lock held. */
  @GuardedBy("state.lock")
  Map<String, Integer> hostTokensQueued() {
    Map<String, Integer> out = new TreeMap<>();
    queuedForHost.forEach((host, byPriority) -> out.put(host, sum(byPriority, 0)));
    return out;
  }

  /** The module a WASM acquire asks for: the one it names, else the configured default. */
  @GuardedBy("state.lock")
  private String moduleOf(AcquireSpec spec) {
    return spec.module().isEmpty() ? state.config.defaultWasmModule() : spec.module();
  }

  /**
   * Fails a WASM acquire for a module the broker does not serve, before anything changes. With no
   * modules configured WASM leases are plain capacity, and any name goes. Lock held.
   *
   * @param field the prefix of the field in errors: {@code items[i].} for a bundle's item
   */
  @GuardedBy("state.lock")
  void requireModule(AcquireSpec spec, String field) {
    if (spec.kind() != ResourceKind.WASM || state.modules.isEmpty()) {
      return;
    }
    String name = moduleOf(spec);
    if (state.modules.find(name).isEmpty()) {
      String served =
          String.join(", ", state.modules.modules().stream().map(WasmModule::name).toList());
      throw BrokerException.invalid(
          field + "module",
          (spec.module().isEmpty()
                  ? "none named, and the default module '" + name + "' is not served"
                  : "no WASM module '" + name + "' is served")
              + " (modules: "
              + served
              + ")");
    }
  }

  /** Grants every item of {@code request}, in order, and returns the answer. Lock held. */
  @GuardedBy("state.lock")
  private <A> A grantAll(Session session, Request<A> request, long now, Effects fx) {
    Lease[] leases = new Lease[request.itemCount()];
    int heldItem = -1;
    for (int i = 0; i < leases.length; i++) {
      Lease held = heldInstance(session, request.item(i), now);
      if (held != null) {
        leases[i] = held;
        heldItem = i;
      } else {
        leases[i] = grant(session, request, i, now, fx);
      }
    }
    return request.granted(leases, heldItem);
  }

  /**
   * The WASM instance {@code session} already holds when {@code spec} asks for one (a session holds
   * at most one, and asking again answers it), else null. Lock held.
   */
  @GuardedBy("state.lock")
  private Lease heldInstance(Session session, AcquireSpec spec, long now) {
    if (spec.kind() != ResourceKind.WASM) {
      return null;
    }
    Lease held = state.leases.firstOf(session.id(), ResourceKind.WASM);
    if (held != null) {
      state.wasmUse.used(held.id(), now); // asking again means it is wanted
    }
    return held;
  }

  /**
   * The memory granting {@code spec} to {@code session} would charge: none for the WASM instance
   * the session holds already (it is answered again), else the lease's estimate.
   */
  @GuardedBy("state.lock")
  private int chargedFor(Session session, AcquireSpec spec) {
    if (spec.kind() == ResourceKind.WASM
        && state.leases.firstOf(session.id(), ResourceKind.WASM) != null) {
      return 0;
    }
    return memoryEstimateMb(spec);
  }

  /** The memory a lease of {@code spec} is charged: its own estimate, else its kind's. */
  @GuardedBy("state.lock")
  private int memoryEstimateMb(AcquireSpec spec) {
    return spec.memoryEstimateMb() > 0
        ? spec.memoryEstimateMb()
        : state.config.memoryEstimateMb(spec.kind());
  }

  @GuardedBy("state.lock")
  private Lease grant(Session session, Request<?> request, int item, long now, Effects fx) {
    AcquireSpec spec = request.item(item);
    ResourceKind kind = spec.kind();
    int memory = memoryEstimateMb(spec);
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
    state.journalGranted(lease, request, item);
    state.usage.leaseGranted(session.principal());
    Job job = session.job();
    job.leaseGranted(kind);
    if (kind == ResourceKind.WASM) {
      state.wasmUse.used(lease.id(), now);
    }
    state.admission.granted(lease, job, now);
    state.counters.granted();
    String worker = session.workerId();
    String jobName = job.name();
    state.tell(l -> l.granted(lease, worker, jobName), fx);
    return lease;
  }

  /**
   * Grants waiting requests of {@code kind} while capacity lasts, in the fair order between jobs
   * ({@link FairQueue}) and priority-then-FIFO order within a job. A waiter blocked only for itself
   * (its host has no token yet, its worker is under memory pressure, its session or job holds its
   * limit, another kind of its bundle is full) is passed over, not allowed to block those behind
   * it; a blocker of this kind that applies to everyone (pool full, fleet memory pressure) ends the
   * pass. Lock held.
   */
  @GuardedBy("state.lock")
  void pump(ResourceKind kind, long now, Effects fx) {
    FairQueue queue = queues.get(kind);
    if (queue.isEmpty()) {
      return;
    }
    // The queue's order reads the jobs' guaranteed mins: bring them in line with the limit and
    // the hold-back now.
    state.effectiveLimit(kind, now);
    long pass = ++passes;
    long nextToken = Long.MAX_VALUE;
    boolean full = false;
    // Per host, the tokens that waiters passed over earlier in this pass, blocked for that host,
    // will take before the next one for it: the pass visits waiters in the order tokens reach them.
    Map<String, Integer> hostAhead = null;
    for (FairQueue.Lane lane = queue.next(pass); lane != null; lane = queue.next(pass)) {
      Iterator<Waiter<?>> cursor = queue.cursor(lane, pass);
      boolean granted = false;
      while (!granted && !full && cursor.hasNext()) {
        Waiter<?> waiter = cursor.next();
        if (waiter.isDead(now)) {
          queue.removeCurrent(lane, cursor);
          unqueue(waiter);
          continue; // its timeout task answers it, if anyone still listens
        }
        Session session = state.sessions.get(waiter.request().sessionId());
        if (session == null) {
          queue.removeCurrent(lane, cursor);
          unqueue(waiter);
          fail(waiter, state.sessionGone(waiter.request().sessionId()), fx);
          continue;
        }
        if (SessionRegistry.isOverdue(session, now)) {
          continue; // about to expire: the sweep ends it and fails its waiters
        }
        Admission.Verdict verdict = evaluate(session, waiter.request(), null, now);
        Admission.Blocker blocker = verdict.blocker();
        if (blocker == Admission.Blocker.NONE) {
          queue.removeCurrent(lane, cursor);
          unqueue(waiter);
          charge(waiter, kind);
          grantWaiter(session, waiter, now, fx);
          granted = true;
        } else if (blocker == Admission.Blocker.DRAINING) {
          queue.removeCurrent(lane, cursor);
          unqueue(waiter);
          refuseWaiter(waiter, verdict.item(), verdict.refusal(), now, fx);
        } else {
          if (blocker == Admission.Blocker.RATE_LIMITED) {
            String host = waiter.request().item(verdict.item()).host();
            Integer ahead = hostAhead == null ? null : hostAhead.get(host);
            Decision.Refused behind =
                ahead == null ? null : behindHost(waiter.request(), verdict, ahead, now);
            Decision.Refused refusal = behind != null ? behind : verdict.refusal();
            if (waiter.deadlineNanos() - now <= refusal.retryAfterNanos()) {
              queue.removeCurrent(lane, cursor);
              unqueue(waiter);
              refuseWaiter(waiter, verdict.item(), pastItsWait(waiter, refusal, now), now, fx);
              continue;
            }
            if (hostAhead == null) {
              hostAhead = new HashMap<>();
            }
            hostAhead.merge(host, itemsFor(waiter.request(), host), Integer::sum);
          }
          if (blocker.wakesAtRetryAfter()) {
            nextToken = Math.min(nextToken, now + verdict.refusal().retryAfterNanos());
          }
          if (blocker.blocksQueue()
              && waiter.request().item(verdict.item()).kind() == kind
              && !(blocker == Admission.Blocker.POOL_FULL
                  && sameKindBefore(waiter.request(), verdict.item()) > 0)) {
            // A bundle whose second (or later) lease of this kind has no place does not say the
            // pool is full for a single lease: it is passed over like any waiter blocked for
            // itself, and nothing is held for it.
            full = true;
          }
        }
      }
      if (full) {
        break;
      }
      if (!granted) {
        queue.exhausted(lane, pass);
      }
    }
    queue.endPass(pass);
    if (nextToken != Long.MAX_VALUE) {
      scheduleWake(kind, nextToken);
    }
  }

  /**
   * The answer of a waiter its host's next token for it ({@code refusal}, the queue ahead counted)
   * reaches only after its wait ends: the host's refusal, now, as a newcomer with that little wait
   * would be answered, so the worker can take other work instead of sitting out the rest of its
   * wait for a {@code TIMEOUT}.
   */
  private static Decision.Refused pastItsWait(
      Waiter<?> waiter, Decision.Refused refusal, long now) {
    long left = waiter.deadlineNanos() - now;
    return Decision.Refused.deferred(
        RefusalReason.RATE_LIMITED,
        refusal.retryAfterNanos(),
        () ->
            refusal.detail()
                + "; this acquire's wait ends in "
                + RateText.duration(left)
                + ", before then",
        refusal.rule());
  }

  /** How many items before {@code item} of {@code request} are of its kind. */
  private static int sameKindBefore(Request<?> request, int item) {
    ResourceKind kind = request.item(item).kind();
    int before = 0;
    for (int i = 0; i < item; i++) {
      if (request.item(i).kind() == kind) {
        before++;
      }
    }
    return before;
  }

  /**
   * Charges the waiter's job in the fair queue of every item granted from the queue: the queue
   * being pumped chose it, the others of a bundle's kinds only count the lease.
   */
  @GuardedBy("state.lock")
  private void charge(Waiter<?> waiter, ResourceKind pumped) {
    boolean chosen = true;
    for (int i = 0; i < waiter.request().itemCount(); i++) {
      ResourceKind kind = waiter.request().item(i).kind();
      queues.get(kind).charge(waiter.job(), chosen && kind == pumped);
      if (kind == pumped) {
        chosen = false;
      }
    }
  }

  /**
   * Charges the session's job in the fair queue of every item of a request granted on arrival, so
   * that leases taken while the waiters were held back count in the job's share ({@link
   * FairQueue#chargeArrival}).
   */
  @GuardedBy("state.lock")
  private void chargeArrival(Session session, Request<?> request) {
    Set<ResourceKind> seen = EnumSet.noneOf(ResourceKind.class);
    for (int i = 0; i < request.itemCount(); i++) {
      ResourceKind kind = request.item(i).kind();
      if (kind == ResourceKind.WASM && state.leases.firstOf(session.id(), kind) != null) {
        continue; // the instance it holds is answered again: no new lease
      }
      queues.get(kind).chargeArrival(session.job(), seen.add(kind));
    }
  }

  @GuardedBy("state.lock")
  private <A> void grantWaiter(Session session, Waiter<A> waiter, long now, Effects fx) {
    decide(waiter, grantAll(session, waiter.request(), now, fx), fx);
  }

  /**
   * Whether a bundle may be waiting only because the memory estimates of its earlier items would
   * turn pressure on: no level changes when it fits again, so the sweep pumps the memory-bound
   * queues while one may ({@link #pumpIfBundlesHeldByMemory}). Set by any evaluation that may have
   * refused so (over-approximated: an extra pump costs one pass), cleared by each pump of the
   * memory-bound queues, which sets it again while one still waits. Not on each heartbeat that
   * lowers usage: with hundreds of workers that would be a pass per heartbeat.
   */
  @GuardedBy("state.lock")
  private boolean bundlesHeldByMemory;

  /**
   * Pumps the queues of the kinds memory pressure holds back when a bundle may be waiting for its
   * items' memory to fit ({@link #bundlesHeldByMemory}); on the sweep. Lock held.
   */
  @GuardedBy("state.lock")
  void pumpIfBundlesHeldByMemory(long now, Effects fx) {
    if (bundlesHeldByMemory) {
      pumpMemoryBound(now, fx);
    }
  }

  /** Pumps the queues of the kinds memory pressure holds back, after it lifted. Lock held. */
  @GuardedBy("state.lock")
  void pumpMemoryBound(long now, Effects fx) {
    bundlesHeldByMemory = false;
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

  /**
   * After the jobs changed: every session runs as the job its name now resolves to, what each job
   * holds and waits for is counted again, and every waiter is re-filed in its job's lanes (keeping
   * its place by priority and arrival). Lock held.
   */
  @GuardedBy("state.lock")
  void refileJobs() {
    Set<Waiter<?>> waiting = allWaiters();
    state.jobs.resetCounts();
    for (Session session : state.sessions.all()) {
      session.job(state.jobs.resolve(session.requestedJob()));
    }
    for (Lease lease : state.leases.all()) {
      Session holder = state.sessions.get(lease.sessionId());
      if (holder != null) {
        holder.job().leaseCounted(lease.kind());
      }
    }
    Map<ResourceKind, List<Waiter<?>>> byKind = new EnumMap<>(ResourceKind.class);
    for (ResourceKind kind : ResourceKind.values()) {
      byKind.put(kind, new ArrayList<>());
    }
    for (Waiter<?> waiter : waiting) {
      Session session = state.sessions.get(waiter.request().sessionId());
      waiter.job(
          session != null
              ? session.job()
              : state.jobs.resolve(dev.berth.server.jobs.JobsConfig.DEFAULT_JOB));
      for (ResourceKind kind : ResourceKind.values()) {
        if (waiter.wants(kind)) {
          byKind.get(kind).add(waiter);
        }
      }
      waiter.job().placeTaken();
    }
    byKind.forEach((kind, waiters) -> queues.get(kind).refile(waiters));
  }
}
