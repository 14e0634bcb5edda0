package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * The broker asks this worker to finish its current work by {@code deadline} and acquire nothing
 * new; further acquires are refused {@link RefusalReason#DRAINING}.
 *
 * @param deadline wall-clock time by which current work should be done, as the broker sees it
 */
public record DrainRequest(Instant deadline) {
  public DrainRequest {
    requireNonNull(deadline, "deadline");
  }
}
