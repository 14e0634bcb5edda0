package dev.berth.server.lease;

import static java.util.Objects.requireNonNull;

/**
 * One unit of a resource kind granted to one session. Immutable; whether it is still live is the
 * {@link LeaseTable}'s business.
 *
 * @param id random 128-bit identifier, hex encoded
 * @param kind what was granted
 * @param fencingToken strictly increasing across grants and broker restarts
 * @param sessionId the holder
 * @param host the rate-limit key (RENDER, PDF with a URL); empty otherwise
 * @param module the WASM module name; empty for other kinds
 * @param moduleDigest SHA-256 (hex) of the WASM module; empty when unknown
 * @param memoryMb memory charged to the fleet budget
 * @param grantedAtNanos monotonic grant time
 * @param expiresAtNanos monotonic time at which max hold ends it
 */
public record Lease(
    String id,
    ResourceKind kind,
    long fencingToken,
    String sessionId,
    String host,
    String module,
    String moduleDigest,
    int memoryMb,
    long grantedAtNanos,
    long expiresAtNanos) {

  public Lease {
    requireNonNull(id, "id");
    requireNonNull(kind, "kind");
    requireNonNull(sessionId, "sessionId");
    requireNonNull(host, "host");
    requireNonNull(module, "module");
    requireNonNull(moduleDigest, "moduleDigest");
  }
}
