package dev.berth.client;

import dev.berth.client.internal.SystemTicker;
import java.time.Duration;

/**
 * A monotonic clock and a way to wait on it. The SDK reads its ticker to decide whether a lease is
 * still valid and to pace {@link WorkerSession#acquireWithRetry}; a test passes a fake it moves by
 * hand instead of sleeping. Heartbeats and reconnects run on real time regardless: their pace is
 * set by the broker.
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

  /** {@link System#nanoTime()} and a real sleep. */
  static Ticker system() {
    return SystemTicker.INSTANCE;
  }
}
