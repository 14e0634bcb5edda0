package dev.berth.server.metrics;

import dev.berth.server.lease.ResourceKind;

/**
 * Told how long each acquire took to answer, by the gRPC adapter that sees both the request and the
 * answer. Implementations must be quick and must not block or throw: this is on every acquire's
 * path.
 */
public interface AcquireTimings {
  /** Records nothing. */
  AcquireTimings NONE = (kind, latencyNanos, queued) -> {};

  /**
   * One acquire was answered (granted or refused).
   *
   * @param latencyNanos from the request's arrival to its answer
   * @param queued whether it waited in the queue rather than being answered at once
   */
  void answered(ResourceKind kind, long latencyNanos, boolean queued);

  /** A summary of what was recorded for {@code kind}, for status pages; zeros when none. */
  default Latency latency(ResourceKind kind) {
    return Latency.NONE;
  }

  /**
   * Acquire latency of one kind over the recent window.
   *
   * @param p50Nanos median request-to-answer time
   * @param p99Nanos 99th percentile request-to-answer time
   * @param queueWaitP99Nanos 99th percentile wait of acquires that queued
   */
  record Latency(long p50Nanos, long p99Nanos, long queueWaitP99Nanos) {
    public static final Latency NONE = new Latency(0, 0, 0);
  }
}
