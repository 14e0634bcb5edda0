package dev.berth.client.internal;

import dev.berth.client.WorkerSession;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the SDK's tests see of a session besides its API, and the one fault they inject into it.
 * Attached after {@code openSession}, it records what the session's connection does from then on —
 * opened (resumed or fresh), heartbeat acknowledged, reconnect scheduled — so a test that moved the
 * fake clock or dropped the stream waits for the session to act on it instead of for time to pass.
 * Each {@code await} takes the oldest unread event of its kind, waiting at most 5 s for it (a bound
 * for a broken test, not a pace). It also sets the one random draw a test needs to know, the
 * stretch of {@code acquireWithRetry}'s pauses. Thread-safe.
 */
public final class SessionProbe implements SessionConnection.Events {
  private static final long WAIT_SECONDS = 5;

  private final ManagedSession session;
  private final BlockingQueue<Boolean> opened = new LinkedBlockingQueue<>();
  private final BlockingQueue<Long> acks = new LinkedBlockingQueue<>();
  private final BlockingQueue<Duration> reconnects = new LinkedBlockingQueue<>();
  private final BlockingQueue<Integer> held = new LinkedBlockingQueue<>();
  private final BlockingQueue<Integer> queued = new LinkedBlockingQueue<>();

  private SessionProbe(ManagedSession session) {
    this.session = session;
  }

  /** Starts recording the events of {@code session}, a session of the SDK. */
  public static SessionProbe attach(WorkerSession session) {
    SessionProbe probe = new SessionProbe((ManagedSession) session);
    probe.session.observe(probe);
    return probe;
  }

  @Override
  public void opened(boolean resumed) {
    opened.add(resumed);
  }

  @Override
  public void heartbeatAcked(long seq) {
    acks.add(seq);
  }

  @Override
  public void reconnectScheduled(Duration delay) {
    reconnects.add(delay);
  }

  @Override
  public void callHeld(int waiting) {
    held.add(waiting);
  }

  @Override
  public void callQueued(int waiting) {
    queued.add(waiting);
  }

  /** The number of lease calls waiting for room under the cap when the next one was queued. */
  public int awaitCallQueued() {
    return next(queued, "call queued for room under the in-flight cap");
  }

  /** The number of lease calls waiting for a stream when the next one was held. */
  public int awaitCallHeld() {
    return next(held, "call held for the stream");
  }

  /** The broker's next answer to a hello: true when it resumed the session. */
  public boolean awaitOpened() {
    return next(opened, "opened");
  }

  /** The seq the broker's next heartbeat acknowledgement covers. */
  public long awaitHeartbeatAck() {
    return next(acks, "heartbeat ack");
  }

  /** The back-off of the next reconnect, scheduled once the stream ended. */
  public Duration awaitReconnectScheduled() {
    return next(reconnects, "reconnect scheduled");
  }

  /** Whether no event is recorded and unread. */
  public boolean isQuiet() {
    return opened.isEmpty()
        && acks.isEmpty()
        && reconnects.isEmpty()
        && held.isEmpty()
        && queued.isEmpty();
  }

  /**
   * Drops the session stream as a broken connection would, and returns once it is cancelled; the
   * session then schedules a reconnect ({@link #awaitReconnectScheduled}).
   */
  public void dropStream() {
    try {
      session.dropStream().get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new AssertionError("dropping the stream failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /**
   * Makes {@code session} (a session of the SDK) draw the random stretch of each retry's pause from
   * {@code random} instead of at random, so a test knows the pause.
   */
  public static void retryJitter(WorkerSession session, java.util.function.DoubleSupplier random) {
    ((ManagedSession) session).retryJitter(random);
  }

  /** The number of leases the session holds. */
  public int leaseCount() {
    return session.leaseCount();
  }

  private static <T> T next(BlockingQueue<T> queue, String what) {
    try {
      T value = queue.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (value == null) {
        throw new AssertionError("no " + what + " within " + WAIT_SECONDS + " s");
      }
      return value;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + what, e);
    }
  }
}
