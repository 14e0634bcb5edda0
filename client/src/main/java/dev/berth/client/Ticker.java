package dev.berth.client;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A monotonic clock, a way to wait on it, and a way to schedule work by it. The SDK reads its
 * ticker to decide whether a lease is still valid and to pace {@link
 * WorkerSession#acquireWithRetry}, and schedules a session's timers through it: heartbeats, the
 * reconnect back-off and the wait for the broker's answer to a hello. A test passes a fake it moves
 * by hand, so a heartbeat is sent or a reconnect made exactly when the test moves the clock past
 * it, instead of after real time.
 *
 * <p>Implementations are thread-safe.
 */
public interface Ticker {

  /** Monotonic nanoseconds; only differences are meaningful. */
  long nanoTime();

  /**
   * Returns once {@code duration} of this ticker's time has passed. A fake ticker advances itself
   * (and may run test code) instead of blocking.
   *
   * @throws InterruptedException when the thread is interrupted while waiting
   */
  void sleep(Duration duration) throws InterruptedException;

  /**
   * Runs {@code task} on {@code executor} once {@code delay} of this ticker's time has passed; a
   * delay of zero or less runs it as soon as the executor can. Cancelling the returned future
   * before the task starts keeps it from running. A task the executor rejects (it was shut down) is
   * dropped.
   *
   * <p>The default waits in real time, whatever {@link #nanoTime} says, as Caffeine's system
   * scheduler does: a ticker that only fakes the time of day still gets real heartbeats. A fake
   * ticker overrides it so that its tasks come due when it is advanced.
   */
  default Future<?> schedule(Executor executor, Runnable task, Duration delay) {
    Executor delayed =
        CompletableFuture.delayedExecutor(
            Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS, executor);
    return CompletableFuture.runAsync(task, delayed);
  }

  /** {@link System#nanoTime()}, a real sleep, and real-time scheduling. */
  static Ticker system() {
    return SystemTicker.INSTANCE;
  }
}
