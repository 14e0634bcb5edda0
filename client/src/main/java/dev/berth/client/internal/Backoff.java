package dev.berth.client.internal;

import java.util.function.DoubleSupplier;

/**
 * Exponential back-off with jitter: {@code initial}, doubling up to {@code max}, each delay scaled
 * by a random factor in [0.8, 1.2) so that a fleet of workers does not reconnect in lock-step.
 *
 * <p>Not thread-safe; a session uses it from its own thread only.
 */
final class Backoff {
  private final long initialNanos;
  private final long maxNanos;
  private final DoubleSupplier random;
  private long nextNanos;

  /**
   * @param random uniform in [0, 1)
   */
  Backoff(long initialNanos, long maxNanos, DoubleSupplier random) {
    this.initialNanos = initialNanos;
    this.maxNanos = maxNanos;
    this.random = random;
    this.nextNanos = initialNanos;
  }

  /** The delay before the next attempt; each call doubles the next one, up to the maximum. */
  long nextDelayNanos() {
    long base = nextNanos;
    nextNanos = nextNanos > maxNanos / 2 ? maxNanos : Math.min(maxNanos, nextNanos * 2);
    return (long) (base * (0.8 + 0.4 * random.getAsDouble()));
  }

  /** Starts over from the initial delay, after a successful connection. */
  void reset() {
    nextNanos = initialNanos;
  }
}
