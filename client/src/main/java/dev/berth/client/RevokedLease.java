package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The broker ended a lease its holder had not closed. The lease is no longer valid; its capacity
 * has already gone back to the pool. Work under it should stop within {@code grace}.
 *
 * @param leaseId the lease that ended
 * @param reason why it ended
 * @param grace how long the holder may still finish what it is doing; zero when the broker gave
 *     none
 */
public record RevokedLease(String leaseId, RevokeReason reason, Duration grace) {
  public RevokedLease {
    requireNonNull(leaseId, "leaseId");
    requireNonNull(reason, "reason");
    requireNonNull(grace, "grace");
  }
}
