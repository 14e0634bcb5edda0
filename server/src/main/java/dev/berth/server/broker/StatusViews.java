package dev.berth.server.broker;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.Job;
import dev.berth.server.admission.Request;
import dev.berth.server.admission.Waiter;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.session.Session;
import java.util.ArrayList;
import java.util.List;

/**
 * Read-only pictures of the broker for operators — status, sessions, leases, explain — taken under
 * the lock as immutable {@link Views} copies. Every method is called with the lock held.
 */
final class StatusViews {
  /** How many hosts the status page shows. */
  private static final int HOT_HOSTS = 10;

  private final BrokerState state;
  private final SessionCommands sessions;
  private final AcquireCommands acquires;

  StatusViews(BrokerState state, SessionCommands sessions, AcquireCommands acquires) {
    this.state = state;
    this.sessions = sessions;
    this.acquires = acquires;
  }

  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here;
  // the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  Views.Status status(long now) {
    List<Views.Pool> pools = new ArrayList<>();
    for (ResourceKind kind : ResourceKind.values()) {
      int limit = state.config.limit(kind);
      // Also brings the jobs' guaranteed mins, which jobs() reads, in line with the hold-back.
      int effective = state.effectiveLimit(kind, now);
      pools.add(
          new Views.Pool(
              kind,
              limit,
              effective,
              state.leases.inUse(kind),
              acquires.queued(kind),
              effective == limit ? "" : state.admission.limitReason(kind)));
    }
    int connected = 0;
    for (Session session : state.sessions.all()) {
      if (session.channel() != null) {
        connected++;
      }
    }
    return new Views.Status(
        state.epoch,
        state.startedAtNanos,
        now,
        pools,
        connected,
        state.sessions.size() - connected,
        state.draining,
        state.counters.snapshot(),
        new Views.Pressure(
            state.admission.pressure(),
            state.admission.fleetUsedMb(),
            state.admission.fleetLimitMb(),
            state.admission.pressureTrigger()),
        state.admission.degradationScore(ResourceKind.RENDER),
        state.admission.hottestHosts(HOT_HOSTS, now),
        jobs());
  }

  /** See {@link Broker#sessions}. */
  // Lock held: the stream's lambdas run within this call, while the caller holds state.lock; the
  // checker treats a lambda body as holding no lock.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  List<Views.Session> sessions(String workerId, String afterId, int limit) {
    return Views.sessionPage(
            state.sessions.all().stream(), Session::id, Session::workerId, workerId, afterId, limit)
        .map(
            s ->
                new Views.Session(
                    s.id(),
                    s.workerId(),
                    s.labels(),
                    s.channel() != null,
                    s.draining() || state.draining,
                    s.openedAtNanos(),
                    s.lastSeenNanos(),
                    s.memoryUsedMb(),
                    s.memoryLimitMb(),
                    state.leases.idsOf(s.id()).size(),
                    s.job().name()))
        .toList();
  }

  /**
   * The leases {@link Broker#leases(String, ResourceKind, String, String, String, long, int)}
   * lists, in no order: the caller sorts them after the lock is released, so that listing a large
   * fleet's leases holds the lock for one pass over them, not for a sort.
   */
  // Lock held: the stream's lambdas run within this call, while the caller holds state.lock; the
  // checker treats a lambda body as holding no lock.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  List<Views.LeaseInfo> leasesUnordered(
      String workerId,
      ResourceKind kind,
      String host,
      String sessionId,
      String job,
      LeaseCursor after) {
    return state.leases.all().stream()
        .filter(l -> kind == null || l.kind() == kind)
        .filter(l -> host.isEmpty() || l.host().equals(host))
        .filter(l -> sessionId.isEmpty() || l.sessionId().equals(sessionId))
        .filter(l -> after.precedes(l.fencingToken(), l.id()))
        .filter(l -> job.isEmpty() || job.equals(jobOf(l.sessionId())))
        .map(l -> new Views.LeaseInfo(l, workerOf(l.sessionId())))
        .filter(i -> workerId.isEmpty() || i.workerId().equals(workerId))
        .toList();
  }

  @GuardedBy("state.lock")
  private String workerOf(String sessionId) {
    Session session = state.sessions.get(sessionId);
    return session != null ? session.workerId() : "";
  }

  /** The job the session runs as; empty when it is not live. */
  @GuardedBy("state.lock")
  private String jobOf(String sessionId) {
    Session session = state.sessions.get(sessionId);
    return session != null ? session.job().name() : "";
  }

  /** See {@link Broker#waiting}. */
  // Lock held: acquires shares this BrokerState, so its state.lock is the lock held here; the
  // checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  Views.WaitingList waiting(
      ResourceKind kind, String job, String host, String sessionId, int limit, long now) {
    List<Views.Waiting> out = new ArrayList<>();
    int total = 0;
    for (Waiter<?> waiter : acquires.waitersByArrival()) {
      Request<?> request = waiter.request();
      Session session = state.sessions.get(request.sessionId());
      if ((kind != null && !waiter.wants(kind))
          || (!job.isEmpty() && !job.equals(waiter.job().name()))
          || (!sessionId.isEmpty() && !sessionId.equals(request.sessionId()))
          || (!host.isEmpty() && !asksFor(request, host))) {
        continue;
      }
      if (++total > limit) {
        continue;
      }
      List<AcquireSpec> items = new ArrayList<>(request.itemCount());
      for (int i = 0; i < request.itemCount(); i++) {
        items.add(request.item(i));
      }
      Admission.Verdict verdict =
          session != null ? acquires.evaluate(session, request, null, now) : null;
      long since = waiter.deadlineNanos() - request.waitNanos();
      out.add(
          new Views.Waiting(
              request.sessionId(),
              session != null ? session.workerId() : "",
              waiter.job().name(),
              request.requestId(),
              request.priority(),
              List.copyOf(items),
              Math.max(0, now - since),
              Math.max(0, waiter.deadlineNanos() - now),
              verdict != null ? verdict.refusal() : null,
              verdict != null ? verdict.item() : 0));
    }
    return new Views.WaitingList(List.copyOf(out), total);
  }

  /** Whether an item of {@code request} is for {@code host}. */
  private static boolean asksFor(Request<?> request, String host) {
    for (int i = 0; i < request.itemCount(); i++) {
      if (request.item(i).host().equals(host)) {
        return true;
      }
    }
    return false;
  }

  /** See {@link Broker#explain} and {@link Broker#explainBundle}. */
  // Lock held: sessions and acquires share this BrokerState, so their state.lock is the lock held
  // here; the checker cannot see the alias.
  @SuppressWarnings("GuardedBy")
  @GuardedBy("state.lock")
  Views.Explained explain(Request<?> request, long now, Effects fx) {
    Session session = sessions.live(request.sessionId(), now, fx);
    int items = request.itemCount();
    for (int i = 0; i < items; i++) {
      acquires.requireModule(request.item(i), items == 1 ? "" : "items[" + i + "].");
    }
    List<Admission.Step> steps = new ArrayList<>();
    Admission.Verdict verdict = acquires.evaluate(session, request, steps, now);
    Admission.Verdict answer = acquires.behindHostWaiters(request, verdict, now);
    if (!answer.equals(verdict)) {
      // The host rate's step tells of the next token, which goes to a waiter: the queue ahead is
      // what decides, and a last step says so.
      steps.add(
          new Admission.Step(
              (items == 1 ? "" : "items[" + answer.item() + "] ") + "host queue",
              false,
              answer.refusal().detail()));
    }
    return new Views.Explained(answer, steps);
  }

  /** Every job with what it holds and waits for, in configuration order. */
  @GuardedBy("state.lock")
  private List<Views.Job> jobs() {
    List<Views.Job> out = new ArrayList<>();
    int kinds = ResourceKind.COUNT;
    long[] activeWeight = new long[kinds];
    for (Job job : state.jobs.all()) {
      for (ResourceKind kind : ResourceKind.values()) {
        if (job.held(kind) > 0 || job.waiting(kind) > 0) {
          activeWeight[kind.index()] += job.settings().weight();
        }
      }
    }
    for (Job job : state.jobs.all()) {
      List<Views.JobKind> perKind = new ArrayList<>(kinds);
      for (ResourceKind kind : ResourceKind.values()) {
        int inUse = state.leases.inUse(kind);
        boolean active = job.held(kind) > 0 || job.waiting(kind) > 0;
        perKind.add(
            new Views.JobKind(
                kind,
                job.held(kind),
                job.waiting(kind),
                job.settings().min(kind),
                job.guaranteedMin(kind),
                job.settings().max(kind),
                Views.JobKind.share(job.held(kind), inUse),
                active ? (double) job.settings().weight() / activeWeight[kind.index()] : 0,
                job.grants(kind)));
      }
      out.add(
          new Views.Job(
              job.name(), job.settings().weight(), job.places(), job.refusals(), perKind));
    }
    return out;
  }
}
