package dev.berth.client;

/** Why a lease ended without its holder closing it. */
public enum RevokeReason {
  /** An operator revoked it. */
  ADMIN,
  /** It reached the max hold of its kind. */
  MAX_HOLD,
  /** A WASM instance was idle too long. */
  IDLE,
  /** The broker took it back to relieve memory pressure. */
  MEMORY_PRESSURE,
  /** The broker or session is draining and the drain deadline passed. */
  DRAIN,
  /** Its session missed heartbeats for longer than the session TTL. */
  SESSION_EXPIRED,
  /**
   * It did not survive a reconnect: on resume the broker no longer had it (it ended while the
   * stream was down, the session expired, or the broker restarted).
   */
  NOT_RESUMED,
  /** A reason this SDK does not know (a newer broker). */
  UNKNOWN
}
