package dev.berth.client;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The SDK's clock in these tests: it moves only when a test advances it, and a "sleep" advances it
 * by the duration, records it, and runs the test's {@link #onSleep} hook instead of blocking.
 * Thread-safe.
 */
final class FakeTicker implements Ticker {
  private final AtomicLong now = new AtomicLong(5_000_000_000L);
  private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
  private volatile Runnable onSleep = () -> {};

  @Override
  public long nanoTime() {
    return now.get();
  }

  @Override
  public void sleep(Duration duration) {
    sleeps.add(duration);
    advance(duration);
    onSleep.run();
  }

  void advance(Duration by) {
    now.addAndGet(by.toNanos());
  }

  /** Runs {@code hook} after each sleep, on the sleeping thread. */
  void onSleep(Runnable hook) {
    this.onSleep = hook;
  }

  /** Every sleep so far, in order. */
  List<Duration> sleeps() {
    return List.copyOf(sleeps);
  }
}
