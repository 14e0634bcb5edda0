package dev.berth.server.lease;

/** How a lease ended. Every lease ends exactly once, by exactly one of these. */
public enum LeaseEnd {
  /** Its holder released it. */
  RELEASED,
  /** Its session missed heartbeats for longer than the session TTL. */
  SESSION_EXPIRED,
  /** Its session said goodbye. */
  SESSION_CLOSED,
  /** It reached the max hold of its kind. */
  MAX_HOLD,
  /** The broker or an operator revoked it; a {@link RevokeReason} says why. */
  REVOKED
}
