package dev.berth.common;

/**
 * Rules about pool limits that the broker enforces and the CLI checks before it calls, so both
 * state them alike.
 */
public final class Pools {
  /** The largest fleet-wide limit a pool may be given. */
  public static final int MAX_LIMIT = 1_000_000;

  private Pools() {}
}
