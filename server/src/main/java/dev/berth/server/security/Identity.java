package dev.berth.server.security;

import static java.util.Objects.requireNonNull;

import java.util.Set;

/**
 * Who a call comes from, once authenticated: a principal name (sessions and leases belong to it)
 * and its roles.
 */
public record Identity(String principal, Set<Role> roles) {

  /** Every caller on a listener without authentication: one principal, every role. */
  public static final Identity ANONYMOUS = new Identity("anonymous", Set.of(Role.values()));

  public Identity {
    requireNonNull(principal, "principal");
    roles = Set.copyOf(roles);
  }

  public boolean has(Role role) {
    return roles.contains(role);
  }
}
