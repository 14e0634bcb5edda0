package dev.berth.client;

import static java.util.Objects.requireNonNull;

/**
 * The broker asks this worker to free memory, e.g. by closing idle browser contexts and collecting
 * garbage. Answering is up to the worker; the SDK has already acknowledged receipt.
 *
 * @param targetFreeMb about how much to free, in MiB
 * @param reason why, for logs
 */
public record CleanupRequest(long targetFreeMb, String reason) {
  public CleanupRequest {
    requireNonNull(reason, "reason");
  }
}
