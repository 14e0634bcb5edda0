package dev.berth.server.admission;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.time.TimeSource.Cancellable;
import java.util.ArrayList;
import java.util.List;

/**
 * A request waiting for capacity: one acquire, or a whole bundle, which waits as one. It holds no
 * thread: it is a record of what was asked, by whom, for which job, until when, and whom to tell.
 * It stands in the {@link FairQueue} of each kind it asks for, in its job's lane. Callers that
 * repeat the same request id attach to the same waiter; the waiter is dead when every caller has
 * gone or its deadline has passed, and a dead waiter is never granted anything.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 *
 * @param <A> the answer its callers are told
 */
public final class Waiter<A> {
  private final Request<A> request;
  private final String principal;
  private final long seq;
  private final long deadlineNanos;
  private final int kinds;
  private final List<Callback<A>> callers = new ArrayList<>(1);
  private Job job;
  private Cancellable timeout;
  private boolean done;
  private boolean queued;

  /**
   * A waiter for {@code caller}.
   *
   * @param principal who asked, for per-principal caps
   * @param job the job whose lane it waits in
   */
  public Waiter(
      Request<A> request,
      String principal,
      Job job,
      long seq,
      long deadlineNanos,
      Callback<A> caller) {
    this.request = request;
    this.principal = principal;
    this.job = job;
    this.seq = seq;
    this.deadlineNanos = deadlineNanos;
    int mask = 0;
    for (int i = 0; i < request.itemCount(); i++) {
      mask |= 1 << request.item(i).kind().index();
    }
    this.kinds = mask;
    callers.add(caller);
  }

  public Request<A> request() {
    return request;
  }

  /** Who asked. */
  public String principal() {
    return principal;
  }

  /** The job it waits for; moved when a reload re-files the waiting requests. */
  public Job job() {
    return job;
  }

  public void job(Job value) {
    this.job = value;
  }

  /** Whether it stands in its kinds' queues (it takes its job's place until it leaves them). */
  public boolean queued() {
    return queued;
  }

  public void queued(boolean value) {
    this.queued = value;
  }

  /** Whether it asks for {@code kind}, so it stands in that kind's queue. */
  public boolean wants(ResourceKind kind) {
    return (kinds & 1 << kind.index()) != 0;
  }

  /** Arrival order; FIFO within a priority. */
  public long seq() {
    return seq;
  }

  public long deadlineNanos() {
    return deadlineNanos;
  }

  public void timeout(Cancellable timeout) {
    this.timeout = timeout;
  }

  /** Another caller with the same request id waits for the same answer. */
  public void attach(Callback<A> caller) {
    callers.add(caller);
  }

  /** A caller went away (cancelled or deadline exceeded). */
  public void detach(Callback<A> caller) {
    callers.remove(caller);
  }

  /** True while some caller still waits for the answer. */
  public boolean hasCallers() {
    return !callers.isEmpty();
  }

  /** True when nobody is waiting for an answer any more, or the deadline passed. */
  public boolean isDead(long nowNanos) {
    return done || callers.isEmpty() || nowNanos >= deadlineNanos;
  }

  public boolean isDone() {
    return done;
  }

  /**
   * Marks the waiter answered and returns the callers to tell (outside the lock). A second call
   * returns nothing, so every waiter is answered once.
   */
  public List<Callback<A>> complete() {
    if (done) {
      return List.of();
    }
    done = true;
    if (timeout != null) {
      timeout.cancel();
    }
    return List.copyOf(callers);
  }
}
