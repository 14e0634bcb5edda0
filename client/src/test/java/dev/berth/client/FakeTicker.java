package dev.berth.client;

import dev.berth.testkit.FakeClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The SDK's clock in these tests: the shared {@link FakeClock} seen as a {@link Ticker}. It moves
 * only when a test advances it; a task scheduled on it is handed to its executor (the session's
 * thread) when the clock passes its due time; a "sleep" advances it by the duration, records it,
 * and runs the test's {@link #onSleep} hook instead of blocking. Thread-safe.
 */
public final class FakeTicker implements Ticker {
  private final FakeClock clock = new FakeClock();
  private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
  private volatile Runnable onSleep = () -> {};
  private final AtomicReference<CountDownLatch> holdNext = new AtomicReference<>();

  @Override
  public long nanoTime() {
    return clock.nanoTime();
  }

  @Override
  public void sleep(Duration duration) {
    sleeps.add(duration);
    advance(duration);
    onSleep.run();
  }

  @Override
  public Future<?> schedule(Executor executor, Runnable task, Duration delay) {
    CompletableFuture<Void> future = new CompletableFuture<>();
    FakeClock.Task timer =
        clock.schedule(() -> handOff(executor, task, future, holdNext), delay.toNanos());
    // The chained stage only cancels the timer and cannot fail, so there is nothing to observe.
    var unused =
        future.whenComplete(
            (done, error) -> {
              if (future.isCancelled()) {
                timer.cancel();
              }
            });
    return future;
  }

  /**
   * Runs {@code task} on {@code executor} unless cancelled first; a shut-down one drops it. When a
   * gate is {@linkplain #holdNextHandOff held}, the executor first waits at it.
   */
  private static void handOff(
      Executor executor,
      Runnable task,
      CompletableFuture<Void> future,
      AtomicReference<CountDownLatch> holdNext) {
    try {
      CountDownLatch gate = holdNext.getAndSet(null);
      if (gate != null) {
        executor.execute(() -> awaitGate(gate));
      }
      executor.execute(
          () -> {
            if (!future.isDone()) {
              task.run();
              future.complete(null);
            }
          });
    } catch (RejectedExecutionException sessionClosed) {
      future.cancel(false);
    }
  }

  private static void awaitGate(CountDownLatch gate) {
    try {
      if (!gate.await(5, TimeUnit.SECONDS)) {
        throw new AssertionError("the gate held at a hand-off was not opened within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Makes the executor of the next task that falls due (the session's thread) wait at {@code gate}
   * before it runs that task, so a test can queue something behind the task on that thread before
   * either runs.
   */
  void holdNextHandOff(CountDownLatch gate) {
    holdNext.set(gate);
  }

  /** Moves the clock forward, handing every task that falls due to its executor, in order. */
  void advance(Duration by) {
    clock.advance(by);
  }

  /** Tasks scheduled and neither run nor cancelled yet. */
  int pendingTasks() {
    return clock.pendingTasks();
  }

  /** Runs {@code hook} after each sleep, on the sleeping thread. */
  public void onSleep(Runnable hook) {
    this.onSleep = hook;
  }

  /** Every sleep so far, in order. */
  public List<Duration> sleeps() {
    return List.copyOf(sleeps);
  }
}
