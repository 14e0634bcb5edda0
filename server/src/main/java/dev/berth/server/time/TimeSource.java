package dev.berth.server.time;

import java.time.Instant;

/**
 * Where the broker gets time from: a monotonic clock for every expiry and deadline, a wall clock
 * only for values shown to people, and a scheduler for timed work. Tests inject a fake that they
 * advance by hand.
 *
 * <p>Implementations are thread-safe.
 */
public interface TimeSource {

  /** Monotonic nanoseconds; only differences are meaningful. */
  long nanoTime();

  /** The wall-clock time, for timestamps shown to people; never for deciding expiry. */
  Instant wallTime();

  /**
   * Runs {@code task} once, {@code delayNanos} from now, on a scheduler thread.
   *
   * @return a handle that cancels the task if it has not started
   */
  Cancellable schedule(Runnable task, long delayNanos);

  /** Runs {@code task} every {@code periodNanos}, starting one period from now. */
  Cancellable scheduleAtFixedRate(Runnable task, long periodNanos);

  /** Converts a monotonic instant of this source into wall-clock time for display. */
  default Instant toWall(long nanos) {
    return wallTime().plusNanos(nanos - nanoTime());
  }

  /** A scheduled task that can be called off. */
  interface Cancellable {
    /** Cancels the task; a no-op when it already ran or was cancelled. */
    void cancel();
  }
}
