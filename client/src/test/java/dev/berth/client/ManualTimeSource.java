package dev.berth.client;

import dev.berth.server.time.TimeSource;
import dev.berth.testkit.FakeClock;
import java.time.Duration;
import java.time.Instant;

/**
 * The broker's clock in these tests: the shared {@link FakeClock} seen as the broker's {@link
 * TimeSource}. It moves only when a test calls {@link #advance}, which runs the tasks that fall due
 * on the way, in order, on the advancing thread. Thread-safe.
 */
final class ManualTimeSource implements TimeSource {
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

  void advance(Duration by) {
    clock.advance(by);
  }
}
