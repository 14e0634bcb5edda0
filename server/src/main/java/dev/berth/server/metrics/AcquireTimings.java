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
}
