package dev.berth.server.lease;

/** Why the broker took a lease back before its holder released it. */
public enum RevokeReason {
  ADMIN,
  MAX_HOLD,
  IDLE,
  MEMORY_PRESSURE,
  DRAIN,
  SESSION_EXPIRED
}
