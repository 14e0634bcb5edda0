package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/**
 * Safe mode: what a worker may do on its own once the broker has been out of reach for a while. Off
 * unless set with {@link BrokerClient.Builder#safeMode}. When a session's stream has been down for
 * {@link #after()}, its acquires are answered by the SDK instead of the broker: at most {@link
 * #budget budget(kind)} leases of a kind held at once by the session, and at most {@link
 * #hostRate()} grants a second per host (bursts of {@link #hostBurst()}). Such a lease is {@link
 * Lease#isLocal() local}: fencing token 0 (a fenced store must refuse it), no broker behind it
 * until the session resumes. On resume the session declares the local leases it still holds, and
 * the broker counts each against its pool when the pool has room; one it refuses stays local-only
 * until released. If the session expired meanwhile, the worker's new session declares them. A
 * revoke of a counted one reaches {@link Lease#onRevoked} as a broker lease's does. With every
 * worker in safe mode, the fleet may hold up to {@code budget × workers} leases a kind beyond the
 * broker's limit, which is the risk taken for going on.
 *
 * <p>Immutable and thread-safe; build one with {@link #newBuilder()}.
 */
public final class SafeMode {
  private final Duration after;
  private final Map<ResourceKind, Integer> budgets;
  private final double hostRate;
  private final int hostBurst;
  private final Duration maxHold;

  private SafeMode(Builder b) {
    this.after = b.after;
    this.budgets = Map.copyOf(b.budgets);
    this.hostRate = b.hostRate;
    this.hostBurst = b.hostBurst;
    this.maxHold = b.maxHold;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** How long the broker must have been out of reach before the SDK answers acquires itself. */
  public Duration after() {
    return after;
  }

  /** Leases of {@code kind} a session may hold locally at once; 0: none are granted locally. */
  public int budget(ResourceKind kind) {
    return budgets.getOrDefault(kind, 0);
  }

  /** Local grants a second per host (the URL's host), per session. */
  public double hostRate() {
    return hostRate;
  }

  /** Local grants a host may get at once after a quiet spell. */
  public int hostBurst() {
    return hostBurst;
  }

  /** How long a local lease stays valid: the broker's max hold cannot bound it. */
  public Duration maxHold() {
    return maxHold;
  }

  @Override
  public String toString() {
    return "SafeMode{after="
        + after
        + ", budgets="
        + budgets
        + ", hostRate="
        + hostRate
        + "/s burst "
        + hostBurst
        + ", maxHold="
        + maxHold
        + "}";
  }

  /** Collects safe-mode settings; {@link #build()} checks them. Not thread-safe. */
  public static final class Builder {
    private Duration after;
    private final Map<ResourceKind, Integer> budgets = new EnumMap<>(ResourceKind.class);
    private double hostRate = 1.0;
    private int hostBurst = 1;
    private Duration maxHold = Duration.ofMinutes(5);

    private Builder() {}

    /** Required: how long the broker must be out of reach first (positive). */
    public Builder after(Duration value) {
      this.after = requireNonNull(value, "after");
      return this;
    }

    /**
     * At most {@code leases} of {@code kind} held locally at once by a session (RENDER or PDF: WASM
     * needs the broker's module). Kinds without a budget are not granted locally.
     */
    public Builder budget(ResourceKind kind, int leases) {
      requireNonNull(kind, "kind");
      if (kind == ResourceKind.WASM) {
        throw new IllegalArgumentException(
            "safeMode.budget: WASM cannot be granted locally (its module comes from the broker)");
      }
      if (leases < 0) {
        throw new IllegalArgumentException(
            "safeMode.budget(" + kind + "): must not be negative, got " + leases);
      }
      budgets.put(kind, leases);
      return this;
    }

    /**
     * Local grants per host: {@code perSecond} (positive), bursts of {@code burst} (default 1/s,
     * 1).
     */
    public Builder hostRate(double perSecond, int burst) {
      if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
        throw new IllegalArgumentException(
            "safeMode.hostRate: must be a positive number of grants a second, got " + perSecond);
      }
      if (burst < 1) {
        throw new IllegalArgumentException("safeMode.hostRate burst: at least 1, got " + burst);
      }
      this.hostRate = perSecond;
      this.hostBurst = burst;
      return this;
    }

    /** How long a local lease stays valid (positive; default 5 minutes). */
    public Builder maxHold(Duration value) {
      this.maxHold = requireNonNull(value, "maxHold");
      return this;
    }

    /**
     * Checks the settings and makes the safe mode.
     *
     * @throws IllegalArgumentException naming the setting that breaks its rule
     */
    public SafeMode build() {
      if (after == null || after.isZero() || after.isNegative()) {
        throw new IllegalArgumentException(
            "safeMode.after: required, a positive duration, got " + after);
      }
      if (maxHold.isZero() || maxHold.isNegative()) {
        throw new IllegalArgumentException("safeMode.maxHold: must be positive, got " + maxHold);
      }
      return new SafeMode(this);
    }
  }
}
