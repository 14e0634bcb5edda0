package dev.berth.server.config;

/**
 * What one principal (one bearer token, or everyone when authentication is off) may hold at once,
 * and how fast it may call, so a single misbehaving client cannot take the whole broker. Exceeding
 * a cap is RESOURCE_EXHAUSTED naming the cap; 0 means unlimited.
 *
 * @param sessions live sessions ({@code caps.sessions_per_principal})
 * @param leases leases held plus acquires waiting ({@code caps.leases_per_principal})
 * @param queued acquires waiting ({@code caps.queued_per_principal})
 * @param callsPerSecond calls started per second, a burst of one second's worth allowed ({@code
 *     caps.calls_per_second_per_principal}); enforced at the gRPC edge, not by the broker
 */
public record PrincipalCaps(int sessions, int leases, int queued, int callsPerSecond) {
  /**
   * The names of the caps' configuration keys, written once: {@link ConfigKeys} defines the keys
   * with them, and a refusal names the cap it hit with them.
   */
  public static final class Keys {
    public static final String SESSIONS = "caps.sessions_per_principal";
    public static final String LEASES = "caps.leases_per_principal";
    public static final String QUEUED = "caps.queued_per_principal";
    public static final String CALLS_PER_SECOND = "caps.calls_per_second_per_principal";

    private Keys() {}
  }

  /**
   * Generous defaults: they stop a runaway client, not a large fleet sharing one token. The call
   * rate is not capped by default: without authentication every caller is one principal.
   */
  public static final PrincipalCaps DEFAULTS = new PrincipalCaps(10_000, 100_000, 10_000, 0);

  public PrincipalCaps {
    if (sessions < 0 || leases < 0 || queued < 0 || callsPerSecond < 0) {
      throw new IllegalArgumentException("caps: must not be negative");
    }
  }

  /** Caps on what a principal holds, with no cap on its call rate. */
  public PrincipalCaps(int sessions, int leases, int queued) {
    this(sessions, leases, queued, 0);
  }
}
