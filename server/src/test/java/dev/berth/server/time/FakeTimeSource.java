package dev.berth.server.time;

import dev.berth.testkit.FakeClock;
import java.time.Duration;
import java.time.Instant;

/**
 * A {@link TimeSource} that moves only when a test calls {@link #advance}: the shared {@link
 * FakeClock} seen through the broker's clock interface. Scheduled tasks run on the advancing
 * thread, in time order, when the clock passes their due time. Thread-safe, so tests may schedule
 * from other threads, but tasks only ever run inside {@code advance}.
 */
public final class FakeTimeSource implements TimeSource {
  private final FakeClock clock = new FakeClock();

  @Override
  public long nanoTime() {
    return clock.nanoTime();
  }

  @Override
  public Instant wallTime() {
    return clock.wallTime();
  }

  @Override
  public Cancellable schedule(Runnable task, long delayNanos) {
    return clock.schedule(task, delayNanos)::cancel;
  }

  @Override
  public Cancellable scheduleAtFixedRate(Runnable task, long periodNanos) {
    return clock.scheduleAtFixedRate(task, periodNanos)::cancel;
  }

  /** Moves the clock forward, running every task that falls due on the way, in order. */
  public void advance(Duration by) {
    clock.advance(by);
  }

  public void advanceMillis(long millis) {
    advance(Duration.ofMillis(millis));
  }

  /**
   * Moves the clock forward without running anything, as in a process that stood still; what fell
   * due runs at the next {@link #advance} (see {@link FakeClock#stall}).
   */
  public void stall(Duration by) {
    clock.stall(by);
  }

  /** Tasks scheduled and not yet run or cancelled. */
  public int pendingTasks() {
    return clock.pendingTasks();
  }
}
