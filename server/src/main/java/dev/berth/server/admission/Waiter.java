package dev.berth.server.admission;

import dev.berth.server.time.TimeSource.Cancellable;
import java.util.ArrayList;
import java.util.List;

/**
 * An acquire waiting in a {@link WaitQueue}. It holds no thread: it is a record of who asked, until
 * when, and whom to tell. Callers that repeat the same request id attach to the same waiter; the
 * waiter is dead when every caller has gone or its deadline has passed, and a dead waiter is never
 * granted anything.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 */
public final class Waiter {
  private final AcquireSpec spec;
  private final String principal;
  private final long seq;
  private final long deadlineNanos;
  private final List<AcquireCallback> callers = new ArrayList<>(1);
  private Cancellable timeout;
  private boolean done;

  public Waiter(AcquireSpec spec, long seq, long deadlineNanos, AcquireCallback caller) {
    this(spec, "", seq, deadlineNanos, caller);
  }

  /**
   * A waiter for {@code caller}.
   *
   * @param principal who asked, for per-principal caps
   */
  public Waiter(
      AcquireSpec spec, String principal, long seq, long deadlineNanos, AcquireCallback caller) {
    this.spec = spec;
    this.principal = principal;
    this.seq = seq;
    this.deadlineNanos = deadlineNanos;
    callers.add(caller);
  }

  public AcquireSpec spec() {
    return spec;
  }

  /** Who asked. */
  public String principal() {
    return principal;
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
  public void attach(AcquireCallback caller) {
    callers.add(caller);
  }

  /** A caller went away (cancelled or deadline exceeded). */
  public void detach(AcquireCallback caller) {
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
  public List<AcquireCallback> complete() {
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
