package dev.berth.server.security;

/** What a bearer token may do. */
public enum Role {
  /** May use LeaseBroker, for its own sessions and leases. */
  WORKER,
  /** May use BrokerAdmin. */
  ADMIN
}
