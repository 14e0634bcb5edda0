package dev.berth.server.config;

/**
 * What one principal (one bearer token, or everyone when authentication is off) may hold at once,
 * so a single misbehaving client cannot take the whole broker. Exceeding a cap is
 * RESOURCE_EXHAUSTED naming the cap; 0 means unlimited.
 *
 * @param sessions live sessions ({@code caps.sessions_per_principal})
 * @param leases leases held plus acquires waiting ({@code caps.leases_per_principal})
 * @param queued acquires waiting ({@code caps.queued_per_principal})
 */
public record PrincipalCaps(int sessions, int leases, int queued) {

  /** Generous defaults: they stop a runaway client, not a large fleet sharing one token. */
  public static final PrincipalCaps DEFAULTS = new PrincipalCaps(10_000, 100_000, 10_000);

  public PrincipalCaps {
    if (sessions < 0 || leases < 0 || queued < 0) {
      throw new IllegalArgumentException("caps: must not be negative");
    }
  }
}
