package dev.berth.client.internal;

import dev.berth.client.Ticker;
import java.time.Duration;

/**
 * A client's validated settings, as {@code BrokerClient.Builder} collected them.
 *
 * @param bearerToken sent as {@code authorization: Bearer <token>}; null for none
 * @param callDeadline the deadline of each call (an acquire adds its queue wait)
 * @param validityMargin how early leases stop being valid; null for {@code min(1 s, ttl / 5)}
 * @param reconnectInitial the first reconnect back-off
 * @param reconnectMax the largest reconnect back-off
 * @param ticker the clock of lease validity and retry waits
 */
public record ClientConfig(
    String bearerToken,
    Duration callDeadline,
    Duration validityMargin,
    Duration reconnectInitial,
    Duration reconnectMax,
    Ticker ticker) {

  private static final long DEFAULT_MARGIN_NANOS = Duration.ofSeconds(1).toNanos();

  /** The validity margin for a session whose TTL is {@code ttlNanos}. */
  long marginNanos(long ttlNanos) {
    return validityMargin != null
        ? validityMargin.toNanos()
        : Math.min(DEFAULT_MARGIN_NANOS, ttlNanos / 5);
  }

  long callDeadlineNanos() {
    return callDeadline.toNanos();
  }
}
