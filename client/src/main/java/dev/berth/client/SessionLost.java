package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.util.Set;

/**
 * A broker session ended while the worker still wanted it, and every lease it held ended with it.
 * Usually the stream was down for longer than the session TTL, or the broker restarted; the SDK has
 * then already opened a fresh session ({@code newSessionId}) and acquires go on from there.
 *
 * @param sessionId the session that was lost
 * @param newSessionId the session that replaces it, or empty when the SDK gave up (see {@code
 *     reason}) and the {@link WorkerSession} is closed
 * @param lostLeaseIds the leases the worker held in the lost session; each is also reported to
 *     {@code onRevoked} with {@link RevokeReason#NOT_RESUMED}
 * @param reason what happened, for logs
 */
public record SessionLost(
    String sessionId, String newSessionId, Set<String> lostLeaseIds, String reason) {
  public SessionLost {
    requireNonNull(sessionId, "sessionId");
    requireNonNull(newSessionId, "newSessionId");
    lostLeaseIds = Set.copyOf(lostLeaseIds);
    requireNonNull(reason, "reason");
  }
}
