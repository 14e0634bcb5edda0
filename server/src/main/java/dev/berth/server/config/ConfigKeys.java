package dev.berth.server.config;

import static dev.berth.server.config.ConfigKey.Part.BROKER;
import static dev.berth.server.config.ConfigKey.Part.CAPS;
import static dev.berth.server.config.ConfigKey.Part.DAEMON;
import static dev.berth.server.config.ConfigKey.Part.MEMORY;
import static dev.berth.server.config.ConfigKey.Part.PERFORMANCE;
import static dev.berth.server.config.ConfigKey.Part.RATE_LIMIT;

import dev.berth.server.config.ConfigKey.Part;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.HostRule;
import dev.berth.server.security.TlsSettings;
import dev.berth.server.security.TokenRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * Every configuration key Berth knows, in documentation order. The names are the ones the
 * validation messages of {@link BrokerConfig}, {@code RateLimitConfig}, {@code MemoryConfig} and
 * {@code PerformanceConfig} use, so an error, the docs and the file agree.
 *
 * <p>The environment variable of a key is {@code BERTH_} and the key upper-cased with dots and
 * dashes as underscores; its flag is {@code --key}. The daemon's original short flags ({@code
 * --session-ttl}, {@code --render-limit}, ...) stay as aliases.
 */
public final class ConfigKeys {
  /** Environment variables with the BERTH_ prefix that are not configuration keys. */
  static final Map<String, String> NOT_KEYS =
      Map.of(
          "BERTH_JAVA_OPTS", "JVM options for bin/berth",
          "BERTH_CONFIG", "the config file, like --config");

  private static final Duration DEFAULT_TLS_REFRESH = Duration.ofMinutes(1);

  private static final List<ConfigKey> ALL = new ArrayList<>();
  private static final Map<String, ConfigKey> BY_NAME = new HashMap<>();
  private static final Map<String, ConfigKey> BY_ENV = new HashMap<>();
  private static final Map<String, String> FLAG_ALIASES = new LinkedHashMap<>();

  static {
    daemon(
        "listen",
        ValueType.ADDRESS,
        false,
        "gRPC listen address",
        (b, v) -> b.listen((InetSocketAddress) v),
        DaemonSettings::listen);
    daemon(
        "state_dir",
        ValueType.PATH,
        false,
        "durable state (epoch and lock)",
        (b, v) -> b.stateDir((Path) v),
        DaemonSettings::stateDir);
    daemon(
        "shutdown_grace",
        ValueType.DURATION,
        true,
        "on SIGTERM, how long in-flight calls may finish",
        (b, v) -> b.shutdownGrace((Duration) v),
        DaemonSettings::shutdownGrace);

    broker(
        "session.heartbeat_interval",
        ValueType.DURATION,
        true,
        "how often workers heartbeat (told to sessions as they open)",
        (b, v) -> b.heartbeatInterval((Duration) v),
        BrokerConfig::heartbeatInterval);
    broker(
        "session.ttl",
        ValueType.DURATION,
        true,
        "a session without heartbeats ends after this",
        (b, v) -> b.sessionTtl((Duration) v),
        BrokerConfig::sessionTtl);
    broker(
        "session.sweep_interval",
        ValueType.DURATION,
        false,
        "how often expiry is checked",
        (b, v) -> b.sweepInterval((Duration) v),
        BrokerConfig::sweepInterval);
    broker(
        "session.request_ids_remembered",
        ValueType.INTEGER,
        true,
        "request ids per session remembered for idempotency (new sessions)",
        (b, v) -> b.requestIdsPerSession((Integer) v),
        BrokerConfig::requestIdsPerSession);

    for (ResourceKind kind : ResourceKind.values()) {
      String k = "pools." + lower(kind) + ".";
      broker(
          k + "limit",
          ValueType.INTEGER,
          true,
          "fleet-wide " + kind + " leases" + (kind == ResourceKind.WASM ? " (instances)" : ""),
          (b, v) -> b.limit(kind, (Integer) v),
          c -> c.limit(kind));
      broker(
          k + "per_session_limit",
          ValueType.INTEGER,
          true,
          "most " + kind + " leases one session may hold; 0 = no limit",
          (b, v) -> b.perSessionLimit(kind, (Integer) v),
          c -> c.perSessionLimit(kind));
      broker(
          k + "max_hold",
          ValueType.DURATION,
          true,
          "longest " + kind + " lease (new leases)",
          (b, v) -> b.maxHold(kind, (Duration) v),
          c -> c.maxHold(kind));
      broker(
          k + "memory_estimate_mb",
          ValueType.INTEGER,
          true,
          "memory charged per " + kind + " lease when the request gives none",
          (b, v) -> b.memoryEstimateMb(kind, (Integer) v),
          c -> c.memoryEstimateMb(kind));
    }
    broker(
        "admission.exhausted_retry_after",
        ValueType.DURATION,
        true,
        "retry_after of an EXHAUSTED or TIMEOUT refusal",
        (b, v) -> b.exhaustedRetryAfter((Duration) v),
        BrokerConfig::exhaustedRetryAfter);
    broker(
        "leases.revoke_grace",
        ValueType.DURATION,
        true,
        "how long a holder may finish after a revoke",
        (b, v) -> b.revokeGrace((Duration) v),
        BrokerConfig::revokeGrace);
    broker(
        "leases.drain_deadline",
        ValueType.DURATION,
        true,
        "default time a drained worker has to finish",
        (b, v) -> b.drainDeadline((Duration) v),
        BrokerConfig::drainDeadline);
    broker(
        "leases.ended_remembered",
        ValueType.INTEGER,
        false,
        "ended leases remembered so a late Release can say how each ended",
        (b, v) -> b.endedLeasesRemembered((Integer) v),
        BrokerConfig::endedLeasesRemembered);
    broker(
        "leases.ended_memory",
        ValueType.DURATION,
        true,
        "how long an ended lease is remembered",
        (b, v) -> b.endedLeaseMemory((Duration) v),
        BrokerConfig::endedLeaseMemory);
    broker(
        "wasm.default_module",
        ValueType.TEXT,
        true,
        "the module of a WASM acquire that names none",
        (b, v) -> b.defaultWasmModule((String) v),
        BrokerConfig::defaultWasmModule);

    rateLimit(
        "rate_limit.default_rate",
        ValueType.DECIMAL,
        "requests/s per host without an override",
        (b, v) -> b.rateLimit.defaultRate((Double) v),
        p -> p.rateLimit().defaultRule().rate());
    rateLimit(
        "rate_limit.default_burst",
        ValueType.INTEGER,
        "bucket size per host without an override",
        (b, v) -> b.rateLimit.defaultBurst((Integer) v),
        p -> p.rateLimit().defaultRule().burst());
    rateLimit(
        "rate_limit.hosts",
        ValueType.HOST_MAP,
        "per-host overrides: pattern -> {rate, burst}",
        ConfigKeys::setHosts,
        ConfigKeys::hosts);
    rateLimit(
        "rate_limit.idle_eviction",
        ValueType.DURATION,
        "a host idle this long (and back to its default state) is forgotten",
        (b, v) -> b.rateLimit.idleEviction((Duration) v),
        p -> p.rateLimit().idleEviction());
    rateLimit(
        "rate_limit.max_hosts",
        ValueType.INTEGER,
        "most hosts tracked at once; the least recently used go first",
        (b, v) -> b.rateLimit.maxHosts((Integer) v),
        p -> p.rateLimit().maxHosts());
    rateLimit(
        "rate_limit.decrease_factor",
        ValueType.DECIMAL,
        "a 429/503 multiplies the host's rate by this",
        (b, v) -> b.rateLimit.decreaseFactor((Double) v),
        p -> p.rateLimit().decreaseFactor());
    rateLimit(
        "rate_limit.recovery_step",
        ValueType.DECIMAL,
        "requests/s a success adds back; unset = 10% of the host's configured rate",
        (b, v) -> b.rateLimit.recoveryStep((Double) v),
        p -> optional(p.rateLimit().recoveryStep()));
    rateLimit(
        "rate_limit.min_rate",
        ValueType.DECIMAL,
        "floor a decrease stops at",
        (b, v) -> b.rateLimit.minRate((Double) v),
        p -> p.rateLimit().minRate());
    rateLimit(
        "rate_limit.default_pause",
        ValueType.DURATION,
        "pause after a 429/503 without Retry-After",
        (b, v) -> b.rateLimit.defaultPause((Duration) v),
        p -> p.rateLimit().defaultPause());
    rateLimit(
        "rate_limit.max_pause",
        ValueType.DURATION,
        "longest pause a Retry-After can impose",
        (b, v) -> b.rateLimit.maxPause((Duration) v),
        p -> p.rateLimit().maxPause());

    memory(
        "memory.fleet_limit_mb",
        ValueType.LONG,
        "fleet memory limit; 0 = the sum of worker limits",
        (b, v) -> b.memory.fleetLimitMb((Long) v),
        p -> p.memory().fleetLimitMb());
    memory(
        "memory.pressure_on",
        ValueType.DECIMAL,
        "usage ratio at which pressure turns on",
        (b, v) -> b.memory.pressureOn((Double) v),
        p -> p.memory().pressureOn());
    memory(
        "memory.pressure_off",
        ValueType.DECIMAL,
        "usage ratio at or below which pressure turns off",
        (b, v) -> b.memory.pressureOff((Double) v),
        p -> p.memory().pressureOff());
    memory(
        "memory.critical",
        ValueType.DECIMAL,
        "usage ratio at which the level becomes CRITICAL",
        (b, v) -> b.memory.critical((Double) v),
        p -> p.memory().critical());
    memory(
        "memory.cleanup_sessions",
        ValueType.INTEGER,
        "how many of the top memory users get a cleanup push",
        (b, v) -> b.memory.cleanupSessions((Integer) v),
        p -> p.memory().cleanupSessions());
    memory(
        "memory.cleanup_interval",
        ValueType.DURATION,
        "least time between two cleanup pushes to one session",
        (b, v) -> b.memory.cleanupInterval((Duration) v),
        p -> p.memory().cleanupInterval());
    memory(
        "memory.broker_heap_on",
        ValueType.DECIMAL,
        "broker heap ratio that turns pressure on",
        (b, v) -> b.memory.brokerHeapOn((Double) v),
        p -> p.memory().brokerHeapOn());
    memory(
        "memory.broker_heap_off",
        ValueType.DECIMAL,
        "broker heap ratio at or below which it turns off",
        (b, v) -> b.memory.brokerHeapOff((Double) v),
        p -> p.memory().brokerHeapOff());

    performance(
        "performance.window",
        ValueType.DURATION,
        "how far back outcomes count",
        (b, v) -> b.performance.window((Duration) v),
        p -> p.performance().window());
    performance(
        "performance.target_p95",
        ValueType.DURATION,
        "p95 duration a healthy kind stays within",
        (b, v) -> b.performance.targetP95((Duration) v),
        p -> p.performance().targetP95());
    for (ResourceKind kind : ResourceKind.values()) {
      performance(
          "performance.target_p95." + lower(kind),
          ValueType.DURATION,
          "p95 target of " + kind + "; unset = performance.target_p95",
          (b, v) -> b.performance.targetP95(kind, (Duration) v),
          p -> p.performance().targetP95(kind));
    }
    performance(
        "performance.threshold",
        ValueType.DECIMAL,
        "a degradation score above it lowers the effective limit",
        (b, v) -> b.performance.threshold((Double) v),
        p -> p.performance().threshold());
    performance(
        "performance.decrease_factor",
        ValueType.DECIMAL,
        "multiplicative decrease of the effective limit",
        (b, v) -> b.performance.decreaseFactor((Double) v),
        p -> p.performance().decreaseFactor());
    performance(
        "performance.increase_step",
        ValueType.INTEGER,
        "slots given back per adjustment while healthy",
        (b, v) -> b.performance.increaseStep((Integer) v),
        p -> p.performance().increaseStep());
    performance(
        "performance.floor",
        ValueType.INTEGER,
        "lowest effective limit degradation may impose",
        (b, v) -> b.performance.floor((Integer) v),
        p -> p.performance().floor());
    performance(
        "performance.min_samples",
        ValueType.INTEGER,
        "fewer outcomes in the window score 0",
        (b, v) -> b.performance.minSamples((Integer) v),
        p -> p.performance().minSamples());
    performance(
        "performance.adjust_interval",
        ValueType.DURATION,
        "least time between two limit adjustments",
        (b, v) -> b.performance.adjustInterval((Duration) v),
        p -> p.performance().adjustInterval());
    performance(
        "performance.max_hosts_tracked",
        ValueType.INTEGER,
        "hosts with statistics; least recently used go first",
        (b, v) -> b.performance.maxHostsTracked((Integer) v),
        p -> p.performance().maxHostsTracked());

    daemon(
        "metrics.listen",
        ValueType.ADDRESS_OR_OFF,
        false,
        "HTTP listener: Prometheus /metrics and the dashboard at /; off or empty disables it",
        (b, v) -> b.metricsListen(castOptionalAddress(v)),
        DaemonSettings::metricsListen);
    daemon(
        "metrics.jmx",
        ValueType.BOOLEAN,
        false,
        "register metrics as JMX MBeans (domain dev.berth)",
        (b, v) -> b.metricsJmx((Boolean) v),
        DaemonSettings::metricsJmx);
    daemon(
        "metrics.host_series",
        ValueType.INTEGER,
        false,
        "hosts that get their own refusal series; the rest count as other",
        (b, v) -> b.metricsHostSeries((Integer) v),
        DaemonSettings::metricsHostSeries);
    daemon(
        "dashboard.enabled",
        ValueType.BOOLEAN,
        false,
        "serve the operator's dashboard at / on metrics.listen",
        (b, v) -> b.dashboardEnabled((Boolean) v),
        DaemonSettings::dashboardEnabled);
    daemon(
        "dashboard.max_streams",
        ValueType.INTEGER,
        false,
        "live dashboard streams at once; more are refused and poll instead",
        (b, v) -> b.dashboardMaxStreams((Integer) v),
        DaemonSettings::dashboardMaxStreams);
    daemon(
        "log.format",
        ValueType.LOG_FORMAT,
        false,
        "text, or json for one JSON object per line",
        (b, v) -> b.logFormat((LogFormat) v),
        DaemonSettings::logFormat);
    daemon(
        "log.level",
        ValueType.LOG_LEVEL,
        true,
        "root log level",
        (b, v) -> b.logLevel((String) v),
        DaemonSettings::logLevel);

    daemon(
        "auth.tokens",
        ValueType.TOKEN_MAP,
        true,
        "bearer tokens: principal -> {sha256: HEX, roles: [worker, admin]}; empty = no auth",
        (b, v) -> b.tokens(castEntries(v)),
        DaemonSettings::tokens);
    daemon(
        "tls.cert",
        ValueType.PATH,
        false,
        "server certificate chain, PEM; unset = plaintext",
        (b, v) -> b.tlsCert((Path) v),
        d -> d.tls().map(TlsSettings::certChain).orElse(null));
    daemon(
        "tls.key",
        ValueType.PATH,
        false,
        "its private key, PEM (PKCS#8)",
        (b, v) -> b.tlsKey((Path) v),
        d -> d.tls().map(TlsSettings::privateKey).orElse(null));
    daemon(
        "tls.client_ca",
        ValueType.PATH,
        false,
        "CA certificates client certificates must chain to, PEM; unset = no client certificates",
        (b, v) -> b.tlsClientCa((Path) v),
        d -> d.tls().map(TlsSettings::clientCa).orElse(null));
    daemon(
        "tls.require_client_cert",
        ValueType.BOOLEAN,
        false,
        "mTLS: refuse clients without a certificate from tls.client_ca",
        (b, v) -> b.tlsRequireClientCert((Boolean) v),
        d -> d.tls().map(TlsSettings::requireClientCert).orElse(false));
    daemon(
        "tls.refresh",
        ValueType.DURATION,
        false,
        "how often the TLS files are re-read; rotated certificates apply to new connections",
        (b, v) -> b.tlsRefresh((Duration) v),
        d -> d.tls().map(TlsSettings::refresh).orElse(DEFAULT_TLS_REFRESH));
    daemon(
        "transport.max_connection_age",
        ValueType.DURATION,
        false,
        "connections are closed gracefully after this; unset = never",
        (b, v) -> b.maxConnectionAge((Duration) v),
        d -> d.maxConnectionAge().orElse(null));
    caps(
        "caps.sessions_per_principal",
        "live sessions one principal may hold; 0 = no cap",
        (b, v) -> b.capSessions = (Integer) v,
        p -> p.caps().sessions());
    caps(
        "caps.leases_per_principal",
        "leases held plus acquires waiting, per principal; 0 = no cap",
        (b, v) -> b.capLeases = (Integer) v,
        p -> p.caps().leases());
    caps(
        "caps.queued_per_principal",
        "acquires waiting at once, per principal; 0 = no cap",
        (b, v) -> b.capQueued = (Integer) v,
        p -> p.caps().queued());
    caps(
        "caps.calls_per_second_per_principal",
        "calls one principal may start per second (burst: one second's worth); 0 = no cap",
        (b, v) -> b.capCallRate = (Integer) v,
        p -> p.caps().callsPerSecond());

    alias("--state-dir", "state_dir");
    alias("--shutdown-grace", "shutdown_grace");
    alias("--heartbeat-interval", "session.heartbeat_interval");
    alias("--session-ttl", "session.ttl");
    alias("--sweep-interval", "session.sweep_interval");
    for (ResourceKind kind : ResourceKind.values()) {
      alias("--" + lower(kind) + "-limit", "pools." + lower(kind) + ".limit");
      alias("--" + lower(kind) + "-max-hold", "pools." + lower(kind) + ".max_hold");
    }
    alias("--metrics-listen", "metrics.listen");
    alias("--rate-limit-default-rate", "rate_limit.default_rate");
    alias("--rate-limit-default-burst", "rate_limit.default_burst");
    alias("--wasm-default-module", "wasm.default_module");
    alias("--log-format", "log.format");
    alias("--log-level", "log.level");
  }

  private ConfigKeys() {}

  /** Every key, in documentation order. */
  public static List<ConfigKey> all() {
    return Collections.unmodifiableList(ALL);
  }

  /** The key named {@code name}, or null. */
  public static ConfigKey find(String name) {
    return BY_NAME.get(name);
  }

  /**
   * The key named {@code name}.
   *
   * @throws IllegalArgumentException when there is none
   */
  public static ConfigKey get(String name) {
    ConfigKey key = BY_NAME.get(name);
    if (key == null) {
      throw new IllegalArgumentException("no config key " + name);
    }
    return key;
  }

  /** The key an environment variable sets, or null. */
  static ConfigKey forEnv(String variable) {
    return BY_ENV.get(variable);
  }

  /** Every environment variable that sets a key. */
  static List<String> envNames() {
    return ALL.stream().map(ConfigKey::envName).toList();
  }

  /**
   * The key a flag sets: {@code --pools.render.limit}, the same with dashes for underscores ({@code
   * --pools.render.per-session-limit}), or one of the short aliases ({@code --render-limit}). Null
   * when none.
   */
  static ConfigKey forFlag(String flag) {
    String alias = FLAG_ALIASES.get(flag);
    if (alias != null) {
      return BY_NAME.get(alias);
    }
    if (!flag.startsWith("--")) {
      return null;
    }
    return BY_NAME.get(flag.substring(2).replace('-', '_'));
  }

  /** Every flag name that is accepted, aliases first; for "did you mean". */
  static List<String> flagNames() {
    List<String> names = new ArrayList<>(FLAG_ALIASES.keySet());
    ALL.forEach(k -> names.add(k.flagName()));
    return names;
  }

  private static void add(ConfigKey key) {
    if (BY_NAME.put(key.name(), key) != null || BY_ENV.put(key.envName(), key) != null) {
      throw new IllegalStateException("config key defined twice: " + key.name());
    }
    ALL.add(key);
  }

  private static void alias(String flag, String key) {
    FLAG_ALIASES.put(flag, get(key).name());
  }

  private static void daemon(
      String name,
      ValueType type,
      boolean live,
      String description,
      BiConsumer<DaemonSettings.Builder, Object> set,
      java.util.function.Function<DaemonSettings, Object> get) {
    add(
        new ConfigKey(
            name,
            type,
            DAEMON,
            live,
            description,
            (b, v) -> set.accept(b.daemon, v),
            (p, d) -> get.apply(d)));
  }

  private static void broker(
      String name,
      ValueType type,
      boolean live,
      String description,
      BiConsumer<BrokerConfig.Builder, Object> set,
      java.util.function.Function<BrokerConfig, Object> get) {
    add(
        new ConfigKey(
            name,
            type,
            BROKER,
            live,
            description,
            (b, v) -> set.accept(b.broker, v),
            (p, d) -> get.apply(p.broker())));
  }

  private static void rateLimit(
      String name,
      ValueType type,
      String description,
      BiConsumer<Builders, Object> set,
      java.util.function.Function<Policy, Object> get) {
    policyKey(name, type, RATE_LIMIT, description, set, get);
  }

  private static void memory(
      String name,
      ValueType type,
      String description,
      BiConsumer<Builders, Object> set,
      java.util.function.Function<Policy, Object> get) {
    policyKey(name, type, MEMORY, description, set, get);
  }

  private static void caps(
      String name,
      String description,
      BiConsumer<Builders, Object> set,
      java.util.function.Function<Policy, Object> get) {
    policyKey(name, ValueType.INTEGER, CAPS, description, set, get);
  }

  private static void performance(
      String name,
      ValueType type,
      String description,
      BiConsumer<Builders, Object> set,
      java.util.function.Function<Policy, Object> get) {
    policyKey(name, type, PERFORMANCE, description, set, get);
  }

  private static void policyKey(
      String name,
      ValueType type,
      Part part,
      String description,
      BiConsumer<Builders, Object> set,
      java.util.function.Function<Policy, Object> get) {
    BiFunction<Policy, DaemonSettings, Object> getter = (p, d) -> get.apply(p);
    add(new ConfigKey(name, type, part, true, description, set, getter));
  }

  @SuppressWarnings("unchecked")
  private static void setHosts(Builders b, Object value) {
    b.rateLimit.clearHosts();
    for (Map.Entry<String, HostRate> e : ((Map<String, HostRate>) value).entrySet()) {
      HostRate r = e.getValue();
      if (r.burst() == null) {
        b.rateLimit.host(e.getKey(), r.rate());
      } else {
        b.rateLimit.host(e.getKey(), r.rate(), r.burst());
      }
    }
  }

  private static Object hosts(Policy p) {
    Map<String, HostRate> hosts = new LinkedHashMap<>();
    for (HostRule rule : p.rateLimit().hosts().values()) {
      hosts.put(rule.pattern(), new HostRate(rule.rate(), rule.burst()));
    }
    return hosts;
  }

  private static Object optional(OptionalDouble value) {
    return value.isPresent() ? value.getAsDouble() : null;
  }

  @SuppressWarnings("unchecked")
  private static List<TokenRegistry.Entry> castEntries(Object v) {
    return (List<TokenRegistry.Entry>) v;
  }

  @SuppressWarnings("unchecked")
  private static Optional<InetSocketAddress> castOptionalAddress(Object v) {
    return (Optional<InetSocketAddress>) v;
  }

  private static String lower(ResourceKind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }
}
