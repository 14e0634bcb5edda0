package dev.berth.client;

/**
 * What one session did in {@link SafeMode safe mode}: local leases granted, those the broker
 * counted when the session resumed ({@code adopted}), declarations it refused because its pool or
 * job was full ({@code refused}; such a lease stays local-only until released), and local leases
 * held now. All zero when safe mode is off. Immutable.
 */
public record SafeModeCounts(long granted, long adopted, long refused, int held) {
  /** Nothing done in safe mode. */
  public static final SafeModeCounts NONE = new SafeModeCounts(0, 0, 0, 0);
}
