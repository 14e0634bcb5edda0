package dev.berth.server.config;

import dev.berth.common.Pools;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.Checks;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * The broker's policy: session timing, pool limits and lease bounds. Immutable; built by {@link
 * #newBuilder()}, whose {@code build()} fails fast with a {@link ConfigException} naming the key
 * and the rule it broke.
 */
public final class BrokerConfig {
  /** The largest fleet-wide limit a pool may be given ({@link Pools#MAX_LIMIT}). */
  public static final int MAX_POOL_LIMIT = Pools.MAX_LIMIT;

  /**
   * The largest cap on calls in flight per session stream: every call in flight may put one result
   * in the stream's outbound queue, which holds a bounded backlog.
   */
  public static final int MAX_STREAM_CALLS_IN_FLIGHT = 10_000;

  /**
   * The names of this part's configuration keys, written once: {@link ConfigKeys} defines the keys
   * with them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String HEARTBEAT_INTERVAL = "session.heartbeat_interval";
    public static final String SESSION_TTL = "session.ttl";
    public static final String SWEEP_INTERVAL = "session.sweep_interval";
    public static final String REQUEST_IDS_REMEMBERED = "session.request_ids_remembered";
    public static final String STREAM_CALLS_IN_FLIGHT = "session.stream_calls_in_flight";
    public static final String EXHAUSTED_RETRY_AFTER = "admission.exhausted_retry_after";
    public static final String REVOKE_GRACE = "leases.revoke_grace";
    public static final String DRAIN_DEADLINE = "leases.drain_deadline";
    public static final String ENDED_REMEMBERED = "leases.ended_remembered";
    public static final String ENDED_MEMORY = "leases.ended_memory";
    public static final String DEFAULT_WASM_MODULE = "wasm.default_module";

    private Keys() {}

    /** {@code pools.KIND.limit}. */
    public static String limit(ResourceKind kind) {
      return pool(kind) + "limit";
    }

    /** {@code pools.KIND.per_session_limit}. */
    public static String perSessionLimit(ResourceKind kind) {
      return pool(kind) + "per_session_limit";
    }

    /** {@code pools.KIND.max_hold}. */
    public static String maxHold(ResourceKind kind) {
      return pool(kind) + "max_hold";
    }

    /** {@code pools.KIND.memory_estimate_mb}. */
    public static String memoryEstimateMb(ResourceKind kind) {
      return pool(kind) + "memory_estimate_mb";
    }

    private static String pool(ResourceKind kind) {
      return "pools." + kind.name().toLowerCase(Locale.ROOT) + ".";
    }
  }

  private final Duration heartbeatInterval;
  private final Duration sessionTtl;
  private final Duration sweepInterval;
  // Per kind, indexed by ResourceKind.index(): the grant path reads them on every acquire, and an
  // immutable map's probe for an enum key showed in the broker's lease cycle (docs/benchmarks.md).
  private final int[] limits;
  private final int[] perSessionLimits;
  private final Duration[] maxHold;
  private final int[] memoryEstimateMb;
  private final Duration exhaustedRetryAfter;
  private final Duration revokeGrace;
  private final Duration drainDeadline;
  private final String defaultWasmModule;
  private final int requestIdsPerSession;
  private final int streamCallsInFlight;
  private final int endedLeasesRemembered;
  private final Duration endedLeaseMemory;

  private BrokerConfig(Builder b) {
    this.heartbeatInterval = b.heartbeatInterval;
    this.sessionTtl = b.sessionTtl;
    this.sweepInterval = b.sweepInterval;
    ResourceKind[] kinds = ResourceKind.values();
    this.limits = new int[kinds.length];
    this.perSessionLimits = new int[kinds.length];
    this.maxHold = new Duration[kinds.length];
    this.memoryEstimateMb = new int[kinds.length];
    for (ResourceKind kind : kinds) {
      limits[kind.index()] = b.limits.get(kind);
      perSessionLimits[kind.index()] = b.perSessionLimits.get(kind);
      maxHold[kind.index()] = b.maxHold.get(kind);
      memoryEstimateMb[kind.index()] = b.memoryEstimateMb.get(kind);
    }
    this.exhaustedRetryAfter = b.exhaustedRetryAfter;
    this.revokeGrace = b.revokeGrace;
    this.drainDeadline = b.drainDeadline;
    this.defaultWasmModule = b.defaultWasmModule;
    this.requestIdsPerSession = b.requestIdsPerSession;
    this.streamCallsInFlight = b.streamCallsInFlight;
    this.endedLeasesRemembered = b.endedLeasesRemembered;
    this.endedLeaseMemory = b.endedLeaseMemory;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** A builder holding this config's values, for a changed copy. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.heartbeatInterval = heartbeatInterval;
    b.sessionTtl = sessionTtl;
    b.sweepInterval = sweepInterval;
    for (ResourceKind kind : ResourceKind.values()) {
      b.limits.put(kind, limit(kind));
      b.perSessionLimits.put(kind, perSessionLimit(kind));
      b.maxHold.put(kind, maxHold(kind));
      b.memoryEstimateMb.put(kind, memoryEstimateMb(kind));
    }
    b.exhaustedRetryAfter = exhaustedRetryAfter;
    b.revokeGrace = revokeGrace;
    b.drainDeadline = drainDeadline;
    b.defaultWasmModule = defaultWasmModule;
    b.requestIdsPerSession = requestIdsPerSession;
    b.streamCallsInFlight = streamCallsInFlight;
    b.endedLeasesRemembered = endedLeasesRemembered;
    b.endedLeaseMemory = endedLeaseMemory;
    return b;
  }

  /** How often workers should heartbeat (told to them in {@code opened}). */
  public Duration heartbeatInterval() {
    return heartbeatInterval;
  }

  /** How long a session lives without a heartbeat. */
  public Duration sessionTtl() {
    return sessionTtl;
  }

  /** How often expired sessions and leases are collected. */
  public Duration sweepInterval() {
    return sweepInterval;
  }

  /** The fleet-wide limit of a kind (for WASM: instances in total). */
  public int limit(ResourceKind kind) {
    return limits[kind.index()];
  }

  /** The most leases of a kind one session may hold; 0 means no per-session limit. */
  public int perSessionLimit(ResourceKind kind) {
    return perSessionLimits[kind.index()];
  }

  /** The longest a lease of a kind may be held. */
  public Duration maxHold(ResourceKind kind) {
    return maxHold[kind.index()];
  }

  /** Memory charged for a lease of a kind when the request gives no estimate. */
  public int memoryEstimateMb(ResourceKind kind) {
    return memoryEstimateMb[kind.index()];
  }

  /** The retry_after of an EXHAUSTED refusal. */
  public Duration exhaustedRetryAfter() {
    return exhaustedRetryAfter;
  }

  /** How long a holder may finish after a revoke; the capacity returns at once regardless. */
  public Duration revokeGrace() {
    return revokeGrace;
  }

  /** The default time a drained worker has to finish its work. */
  public Duration drainDeadline() {
    return drainDeadline;
  }

  /** The module of a WASM acquire that names none. */
  public String defaultWasmModule() {
    return defaultWasmModule;
  }

  /** How many request ids per session are remembered for idempotency. */
  public int requestIdsPerSession() {
    return requestIdsPerSession;
  }

  /**
   * The most acquire and release calls one session stream may have in flight (sent and not yet
   * answered); a call beyond it is answered RESOURCE_EXHAUSTED at once, and the stream stays open.
   */
  public int streamCallsInFlight() {
    return streamCallsInFlight;
  }

  /** How many ended leases are remembered, so a late Release can say how each ended. */
  public int endedLeasesRemembered() {
    return endedLeasesRemembered;
  }

  /** How long an ended lease is remembered. */
  public Duration endedLeaseMemory() {
    return endedLeaseMemory;
  }

  /**
   * Collects settings; {@link #build()} validates them together. Defaults are the embedded
   * broker's: RENDER 8, PDF 2, WASM 64; heartbeat 2 s, TTL 10 s.
   */
  public static final class Builder {
    private Duration heartbeatInterval = Duration.ofSeconds(2);
    private Duration sessionTtl = Duration.ofSeconds(10);
    private Duration sweepInterval = Duration.ofMillis(250);
    private final Map<ResourceKind, Integer> limits = new EnumMap<>(ResourceKind.class);
    private final Map<ResourceKind, Integer> perSessionLimits = new EnumMap<>(ResourceKind.class);
    private final Map<ResourceKind, Duration> maxHold = new EnumMap<>(ResourceKind.class);
    private final Map<ResourceKind, Integer> memoryEstimateMb = new EnumMap<>(ResourceKind.class);
    private Duration exhaustedRetryAfter = Duration.ofSeconds(1);
    private Duration revokeGrace = Duration.ofSeconds(5);
    private Duration drainDeadline = Duration.ofSeconds(30);
    private String defaultWasmModule = "extractor";
    private int requestIdsPerSession = 256;
    private int streamCallsInFlight = 64;
    private int endedLeasesRemembered = 100_000;
    private Duration endedLeaseMemory = Duration.ofMinutes(10);

    private Builder() {
      limits.put(ResourceKind.RENDER, 8);
      limits.put(ResourceKind.PDF, 2);
      limits.put(ResourceKind.WASM, 64);
      for (ResourceKind kind : ResourceKind.values()) {
        perSessionLimits.put(kind, 0);
      }
      maxHold.put(ResourceKind.RENDER, Duration.ofMinutes(5));
      maxHold.put(ResourceKind.PDF, Duration.ofMinutes(2));
      maxHold.put(ResourceKind.WASM, Duration.ofHours(1));
      memoryEstimateMb.put(ResourceKind.RENDER, 300);
      memoryEstimateMb.put(ResourceKind.PDF, 150);
      memoryEstimateMb.put(ResourceKind.WASM, 50);
    }

    public Builder heartbeatInterval(Duration value) {
      this.heartbeatInterval = value;
      return this;
    }

    public Builder sessionTtl(Duration value) {
      this.sessionTtl = value;
      return this;
    }

    public Builder sweepInterval(Duration value) {
      this.sweepInterval = value;
      return this;
    }

    public Builder limit(ResourceKind kind, int value) {
      limits.put(kind, value);
      return this;
    }

    public Builder perSessionLimit(ResourceKind kind, int value) {
      perSessionLimits.put(kind, value);
      return this;
    }

    public Builder maxHold(ResourceKind kind, Duration value) {
      maxHold.put(kind, value);
      return this;
    }

    public Builder memoryEstimateMb(ResourceKind kind, int value) {
      memoryEstimateMb.put(kind, value);
      return this;
    }

    public Builder exhaustedRetryAfter(Duration value) {
      this.exhaustedRetryAfter = value;
      return this;
    }

    public Builder revokeGrace(Duration value) {
      this.revokeGrace = value;
      return this;
    }

    public Builder drainDeadline(Duration value) {
      this.drainDeadline = value;
      return this;
    }

    public Builder defaultWasmModule(String value) {
      this.defaultWasmModule = value;
      return this;
    }

    public Builder requestIdsPerSession(int value) {
      this.requestIdsPerSession = value;
      return this;
    }

    public Builder streamCallsInFlight(int value) {
      this.streamCallsInFlight = value;
      return this;
    }

    public Builder endedLeasesRemembered(int value) {
      this.endedLeasesRemembered = value;
      return this;
    }

    public Builder endedLeaseMemory(Duration value) {
      this.endedLeaseMemory = value;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws ConfigException naming the first key that breaks its rule
     */
    public BrokerConfig build() {
      Checks.positive(Keys.HEARTBEAT_INTERVAL, heartbeatInterval);
      Checks.positive(Keys.SESSION_TTL, sessionTtl);
      Checks.positive(Keys.SWEEP_INTERVAL, sweepInterval);
      if (sessionTtl.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
        throw new ConfigException(
            Keys.SESSION_TTL,
            "must be at least twice "
                + Keys.HEARTBEAT_INTERVAL
                + " ("
                + Durations.format(heartbeatInterval)
                + "), got "
                + Durations.format(sessionTtl));
      }
      if (sweepInterval.compareTo(sessionTtl) > 0) {
        throw new ConfigException(Keys.SWEEP_INTERVAL, "must not exceed " + Keys.SESSION_TTL);
      }
      for (ResourceKind kind : ResourceKind.values()) {
        Checks.range(Keys.limit(kind), limits.get(kind), 0, MAX_POOL_LIMIT);
        Checks.range(Keys.perSessionLimit(kind), perSessionLimits.get(kind), 0, 1_000_000);
        Checks.positive(Keys.maxHold(kind), maxHold.get(kind));
        Checks.range(Keys.memoryEstimateMb(kind), memoryEstimateMb.get(kind), 0, 1 << 20);
      }
      Checks.positive(Keys.EXHAUSTED_RETRY_AFTER, exhaustedRetryAfter);
      Checks.nonNegative(Keys.REVOKE_GRACE, revokeGrace);
      Checks.positive(Keys.DRAIN_DEADLINE, drainDeadline);
      if (defaultWasmModule == null || defaultWasmModule.isBlank()) {
        throw new ConfigException(Keys.DEFAULT_WASM_MODULE, "must not be empty");
      }
      Checks.range(Keys.REQUEST_IDS_REMEMBERED, requestIdsPerSession, 1, 100_000);
      Checks.range(Keys.STREAM_CALLS_IN_FLIGHT, streamCallsInFlight, 1, MAX_STREAM_CALLS_IN_FLIGHT);
      Checks.range(Keys.ENDED_REMEMBERED, endedLeasesRemembered, 1, 10_000_000);
      Checks.positive(Keys.ENDED_MEMORY, endedLeaseMemory);
      return new BrokerConfig(this);
    }
  }
}
