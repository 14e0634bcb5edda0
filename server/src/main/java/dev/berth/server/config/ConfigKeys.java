package dev.berth.server.config;

import static dev.berth.server.config.ConfigKey.Part.BROKER;
import static dev.berth.server.config.ConfigKey.Part.CAPS;
import static dev.berth.server.config.ConfigKey.Part.DAEMON;
import static dev.berth.server.config.ConfigKey.Part.JOBS;
import static dev.berth.server.config.ConfigKey.Part.MEMORY;
import static dev.berth.server.config.ConfigKey.Part.PERFORMANCE;
import static dev.berth.server.config.ConfigKey.Part.RATE_LIMIT;

import dev.berth.server.cluster.ClusterSettings;
import dev.berth.server.config.ConfigKey.Part;
import dev.berth.server.jobs.JobSettings;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.HostRule;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.security.TlsSettings;
import dev.berth.server.tracing.TracingConfig;
import dev.berth.server.wasm.WasmConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Every configuration key Berth knows, in documentation order, each defined once with the name
 * constant of the part that validates it ({@link BrokerConfig.Keys}, {@link RateLimitConfig.Keys},
 * {@link MemoryConfig.Keys}, {@link PerformanceConfig.Keys}, {@link PrincipalCaps.Keys}, {@link
 * DaemonSettings.Keys}, {@link WasmConfig.Keys}, {@link TracingConfig.Keys}, {@link
 * JobsConfig.Keys}), so an error, the docs and the file agree.
 *
 * <p>The environment variable of a key is {@code BERTH_} and the key upper-cased with dots and
 * dashes as underscores; its flag is {@code --key}. The daemon's original short flags ({@code
 * --session-ttl}, {@code --render-limit}, ...) stay as aliases. A map key ({@code
 * rate_limit.hosts}, {@code wasm.modules}) may also be set one field of one entry at a time, in the
 * file and on the command line: {@code --wasm.modules.NAME.path FILE}.
 *
 * <p>Immutable after class initialisation; thread-safe.
 */
public final class ConfigKeys {
  /**
   * Environment variables with the BERTH_ prefix that are not configuration keys: the daemon's own,
   * and those of the other Berth programs (the CLI and the worker's connection options, bin/berth,
   * bin/bench, bin/test), which an operator may well have set in the shell that starts the daemon.
   */
  static final Map<String, String> NOT_KEYS =
      Map.ofEntries(
          Map.entry("BERTH_JAVA_OPTS", "JVM options for bin/berth"),
          Map.entry("BERTH_CONFIG", "the config file, like --config"),
          Map.entry("BERTH_CLI_JAVA_OPTS", "JVM options of the berth CLI in bin/berth"),
          Map.entry("BERTH_BENCH_SERVER_OPTS", "JVM options of bin/bench's servers"),
          Map.entry("BERTH_REQUIRE_TOOLS", "bin/test: tests fail, not skip, without their tools"),
          Map.entry("BERTH_BROKER", "berth CLI and worker: --broker"),
          Map.entry("BERTH_TIMEOUT", "berth CLI and worker: --timeout"),
          Map.entry("BERTH_TOKEN", "berth CLI and worker: the bearer token"),
          Map.entry("BERTH_TOKEN_FILE", "berth CLI and worker: --token-file"),
          Map.entry("BERTH_TLS", "berth CLI and worker: --tls"),
          Map.entry("BERTH_TLS_CA", "berth CLI and worker: --tls-ca"),
          Map.entry("BERTH_TLS_SERVER_NAME", "berth CLI and worker: --tls-server-name"));

  private static final Duration DEFAULT_TLS_REFRESH = Duration.ofMinutes(1);

  private static final List<ConfigKey<?>> ALL = new ArrayList<>();
  private static final Map<String, ConfigKey<?>> BY_NAME = new HashMap<>();
  private static final Map<String, ConfigKey<?>> BY_ENV = new HashMap<>();
  private static final Map<String, String> FLAG_ALIASES = new LinkedHashMap<>();
  private static final Map<String, MapKey<?>> MAP_KEYS = new LinkedHashMap<>();
  private static final Map<String, EntryFlag<?>> ENTRY_FLAGS = new LinkedHashMap<>();

  /** The help section of the keys being defined. */
  private static String section;

  /**
   * A key whose value is a map of named entries with fields, so that {@code KEY.NAME.FIELD} sets
   * one field of one entry.
   */
  record MapKey<E>(ConfigKey<Map<String, E>> key, EntryMapCodec<E> codec) {}

  /**
   * A flag that adds one entry to a map key from one piece of text, e.g. {@code --wasm-module
   * NAME=PATH[:EXPORTS]}.
   *
   * @param parse the entry's name and value from the text; a ConfigException names {@code key}
   */
  record EntryFlag<E>(
      String flag,
      MapKey<E> mapKey,
      String label,
      String description,
      BiFunction<String, String, Map.Entry<String, E>> parse) {}

  static {
    section = "Daemon";
    daemon(
        DaemonSettings.Keys.LISTEN,
        Codecs.ADDRESS,
        false,
        "gRPC listen address",
        DaemonSettings.Builder::listen,
        DaemonSettings::listen);
    daemon(
        DaemonSettings.Keys.STATE_DIR,
        Codecs.PATH,
        false,
        "durable state (epoch and lock)",
        DaemonSettings.Builder::stateDir,
        DaemonSettings::stateDir);
    daemon(
        DaemonSettings.Keys.SHUTDOWN_GRACE,
        Codecs.DURATION,
        true,
        "on SIGTERM, how long in-flight calls may finish",
        DaemonSettings.Builder::shutdownGrace,
        DaemonSettings::shutdownGrace);

    section = "Sessions, pools and leases";
    broker(
        BrokerConfig.Keys.HEARTBEAT_INTERVAL,
        Codecs.DURATION,
        true,
        "how often workers heartbeat (told to sessions as they open)",
        BrokerConfig.Builder::heartbeatInterval,
        BrokerConfig::heartbeatInterval);
    broker(
        BrokerConfig.Keys.SESSION_TTL,
        Codecs.DURATION,
        true,
        "a session without heartbeats ends after this",
        BrokerConfig.Builder::sessionTtl,
        BrokerConfig::sessionTtl);
    broker(
        BrokerConfig.Keys.SWEEP_INTERVAL,
        Codecs.DURATION,
        false,
        "how often expiry is checked",
        BrokerConfig.Builder::sweepInterval,
        BrokerConfig::sweepInterval);
    broker(
        BrokerConfig.Keys.REQUEST_IDS_REMEMBERED,
        Codecs.INTEGER,
        true,
        "request ids per session remembered for idempotency (new sessions)",
        BrokerConfig.Builder::requestIdsPerSession,
        BrokerConfig::requestIdsPerSession);
    broker(
        BrokerConfig.Keys.STREAM_CALLS_IN_FLIGHT,
        Codecs.INTEGER,
        true,
        "acquire and release calls one session stream may have unanswered; more are refused"
            + " RESOURCE_EXHAUSTED",
        BrokerConfig.Builder::streamCallsInFlight,
        BrokerConfig::streamCallsInFlight);
    for (ResourceKind kind : ResourceKind.values()) {
      broker(
          BrokerConfig.Keys.limit(kind),
          Codecs.INTEGER,
          true,
          "fleet-wide " + kind + " leases" + (kind == ResourceKind.WASM ? " (instances)" : ""),
          (b, v) -> b.limit(kind, v),
          c -> c.limit(kind));
      broker(
          BrokerConfig.Keys.perSessionLimit(kind),
          Codecs.INTEGER,
          true,
          "most " + kind + " leases one session may hold; 0 = no limit",
          (b, v) -> b.perSessionLimit(kind, v),
          c -> c.perSessionLimit(kind));
      broker(
          BrokerConfig.Keys.maxHold(kind),
          Codecs.DURATION,
          true,
          "longest " + kind + " lease (new leases)",
          (b, v) -> b.maxHold(kind, v),
          c -> c.maxHold(kind));
      broker(
          BrokerConfig.Keys.memoryEstimateMb(kind),
          Codecs.INTEGER,
          true,
          "memory charged per " + kind + " lease when the request gives none",
          (b, v) -> b.memoryEstimateMb(kind, v),
          c -> c.memoryEstimateMb(kind));
    }
    broker(
        BrokerConfig.Keys.EXHAUSTED_RETRY_AFTER,
        Codecs.DURATION,
        true,
        "retry_after of an EXHAUSTED or TIMEOUT refusal",
        BrokerConfig.Builder::exhaustedRetryAfter,
        BrokerConfig::exhaustedRetryAfter);
    broker(
        BrokerConfig.Keys.REVOKE_GRACE,
        Codecs.DURATION,
        true,
        "how long a holder may finish after a revoke",
        BrokerConfig.Builder::revokeGrace,
        BrokerConfig::revokeGrace);
    broker(
        BrokerConfig.Keys.DRAIN_DEADLINE,
        Codecs.DURATION,
        true,
        "default time a drained worker has to finish",
        BrokerConfig.Builder::drainDeadline,
        BrokerConfig::drainDeadline);
    broker(
        BrokerConfig.Keys.ENDED_REMEMBERED,
        Codecs.INTEGER,
        false,
        "ended leases remembered so a late Release can say how each ended",
        BrokerConfig.Builder::endedLeasesRemembered,
        BrokerConfig::endedLeasesRemembered);
    broker(
        BrokerConfig.Keys.ENDED_MEMORY,
        Codecs.DURATION,
        true,
        "how long an ended lease is remembered",
        BrokerConfig.Builder::endedLeaseMemory,
        BrokerConfig::endedLeaseMemory);

    section = "WASM modules";
    MapKey<ModuleSetting> modules =
        mapKey(
            daemon(
                WasmConfig.Keys.MODULES,
                Codecs.MODULES,
                true,
                "WASM modules served, checked with Chicory: name -> {path, exports}; a reload"
                    + " re-reads the files",
                DaemonSettings.Builder::wasmModules,
                DaemonSettings::wasmModules),
            Codecs.MODULES);
    daemon(
        WasmConfig.Keys.IDLE_TIMEOUT,
        Codecs.DURATION_OR_ZERO,
        true,
        "a WASM lease unused this long is revoked (IDLE); 0 = never",
        DaemonSettings.Builder::wasmIdleTimeout,
        d -> d.wasm().idleTimeout());
    broker(
        BrokerConfig.Keys.DEFAULT_WASM_MODULE,
        Codecs.TEXT,
        true,
        "the module of a WASM acquire that names none",
        BrokerConfig.Builder::defaultWasmModule,
        BrokerConfig::defaultWasmModule);

    section = "Per-host rate limits";
    rateLimit(
        RateLimitConfig.Keys.DEFAULT_RATE,
        Codecs.DECIMAL,
        "requests/s per host without an override",
        RateLimitConfig.Builder::defaultRate,
        r -> r.defaultRule().rate());
    rateLimit(
        RateLimitConfig.Keys.DEFAULT_BURST,
        Codecs.INTEGER,
        "bucket size per host without an override",
        (builder, burst) -> builder.defaultBurst(burst),
        r -> r.defaultRule().burst());
    mapKey(
        rateLimit(
            RateLimitConfig.Keys.HOSTS,
            Codecs.HOSTS,
            "per-host overrides: pattern -> {rate, burst}",
            ConfigKeys::setHosts,
            ConfigKeys::hosts),
        Codecs.HOSTS);
    rateLimit(
        RateLimitConfig.Keys.IDLE_EVICTION,
        Codecs.DURATION,
        "a host idle this long (and back to its default state) is forgotten",
        RateLimitConfig.Builder::idleEviction,
        RateLimitConfig::idleEviction);
    rateLimit(
        RateLimitConfig.Keys.MAX_HOSTS,
        Codecs.INTEGER,
        "most hosts tracked at once; the least recently used go first",
        RateLimitConfig.Builder::maxHosts,
        RateLimitConfig::maxHosts);
    rateLimit(
        RateLimitConfig.Keys.DECREASE_FACTOR,
        Codecs.DECIMAL,
        "a 429/503 multiplies the host's rate by this",
        RateLimitConfig.Builder::decreaseFactor,
        RateLimitConfig::decreaseFactor);
    rateLimit(
        RateLimitConfig.Keys.RECOVERY_STEP,
        Codecs.DECIMAL,
        "requests/s a success adds back; unset = 10% of the host's configured rate",
        RateLimitConfig.Builder::recoveryStep,
        r -> optional(r.recoveryStep()));
    rateLimit(
        RateLimitConfig.Keys.MIN_RATE,
        Codecs.DECIMAL,
        "floor a decrease stops at",
        RateLimitConfig.Builder::minRate,
        RateLimitConfig::minRate);
    rateLimit(
        RateLimitConfig.Keys.DEFAULT_PAUSE,
        Codecs.DURATION,
        "pause after a 429/503 without Retry-After",
        RateLimitConfig.Builder::defaultPause,
        RateLimitConfig::defaultPause);
    rateLimit(
        RateLimitConfig.Keys.MAX_PAUSE,
        Codecs.DURATION,
        "longest pause a Retry-After can impose",
        RateLimitConfig.Builder::maxPause,
        RateLimitConfig::maxPause);

    section = "Memory pressure";
    memory(
        MemoryConfig.Keys.FLEET_LIMIT_MB,
        Codecs.LONG,
        "fleet memory limit; 0 = the sum of worker limits",
        MemoryConfig.Builder::fleetLimitMb,
        MemoryConfig::fleetLimitMb);
    memory(
        MemoryConfig.Keys.PRESSURE_ON,
        Codecs.DECIMAL,
        "usage ratio at which pressure turns on",
        MemoryConfig.Builder::pressureOn,
        MemoryConfig::pressureOn);
    memory(
        MemoryConfig.Keys.PRESSURE_OFF,
        Codecs.DECIMAL,
        "usage ratio at or below which pressure turns off",
        MemoryConfig.Builder::pressureOff,
        MemoryConfig::pressureOff);
    memory(
        MemoryConfig.Keys.CRITICAL,
        Codecs.DECIMAL,
        "usage ratio at which the level becomes CRITICAL",
        MemoryConfig.Builder::critical,
        MemoryConfig::critical);
    memory(
        MemoryConfig.Keys.CLEANUP_SESSIONS,
        Codecs.INTEGER,
        "how many of the top memory users get a cleanup push",
        MemoryConfig.Builder::cleanupSessions,
        MemoryConfig::cleanupSessions);
    memory(
        MemoryConfig.Keys.CLEANUP_INTERVAL,
        Codecs.DURATION,
        "least time between two cleanup pushes to one session",
        MemoryConfig.Builder::cleanupInterval,
        MemoryConfig::cleanupInterval);
    memory(
        MemoryConfig.Keys.BROKER_HEAP_ON,
        Codecs.DECIMAL,
        "broker heap ratio that turns pressure on",
        MemoryConfig.Builder::brokerHeapOn,
        MemoryConfig::brokerHeapOn);
    memory(
        MemoryConfig.Keys.BROKER_HEAP_OFF,
        Codecs.DECIMAL,
        "broker heap ratio at or below which it turns off",
        MemoryConfig.Builder::brokerHeapOff,
        MemoryConfig::brokerHeapOff);

    section = "Performance and degradation";
    performance(
        PerformanceConfig.Keys.WINDOW,
        Codecs.DURATION,
        "how far back outcomes count",
        PerformanceConfig.Builder::window,
        PerformanceConfig::window);
    performance(
        PerformanceConfig.Keys.TARGET_P95,
        Codecs.DURATION,
        "p95 duration a healthy kind stays within",
        PerformanceConfig.Builder::targetP95,
        PerformanceConfig::targetP95);
    for (ResourceKind kind : ResourceKind.values()) {
      performance(
          PerformanceConfig.Keys.targetP95(kind),
          Codecs.DURATION,
          "p95 target of " + kind + "; unset = " + PerformanceConfig.Keys.TARGET_P95,
          (b, v) -> b.targetP95(kind, v),
          p -> p.targetP95(kind));
    }
    performance(
        PerformanceConfig.Keys.THRESHOLD,
        Codecs.DECIMAL,
        "a degradation score above it lowers the effective limit",
        PerformanceConfig.Builder::threshold,
        PerformanceConfig::threshold);
    performance(
        PerformanceConfig.Keys.DECREASE_FACTOR,
        Codecs.DECIMAL,
        "multiplicative decrease of the effective limit",
        PerformanceConfig.Builder::decreaseFactor,
        PerformanceConfig::decreaseFactor);
    performance(
        PerformanceConfig.Keys.INCREASE_STEP,
        Codecs.INTEGER,
        "slots given back per adjustment while healthy",
        PerformanceConfig.Builder::increaseStep,
        PerformanceConfig::increaseStep);
    performance(
        PerformanceConfig.Keys.FLOOR,
        Codecs.INTEGER,
        "lowest effective limit degradation may impose",
        PerformanceConfig.Builder::floor,
        PerformanceConfig::floor);
    performance(
        PerformanceConfig.Keys.MIN_SAMPLES,
        Codecs.INTEGER,
        "fewer outcomes in the window score 0",
        PerformanceConfig.Builder::minSamples,
        PerformanceConfig::minSamples);
    performance(
        PerformanceConfig.Keys.ADJUST_INTERVAL,
        Codecs.DURATION,
        "least time between two limit adjustments",
        PerformanceConfig.Builder::adjustInterval,
        PerformanceConfig::adjustInterval);
    performance(
        PerformanceConfig.Keys.MAX_HOSTS_TRACKED,
        Codecs.INTEGER,
        "hosts with statistics; least recently used go first",
        PerformanceConfig.Builder::maxHostsTracked,
        PerformanceConfig::maxHostsTracked);

    section = "Jobs";
    mapKey(
        policyKey(
            JobsConfig.Keys.JOBS,
            Codecs.JOBS,
            JOBS,
            "crawl jobs sharing contended pools by weight: name -> {weight: 1..1000, min: {KIND:"
                + " N}, max: {KIND: N}, hosts: {PATTERN: {rate, burst}}}; default always exists",
            ConfigKeys::setJobs,
            ConfigKeys::jobs),
        Codecs.JOBS);

    section = "Metrics and logging";
    daemon(
        DaemonSettings.Keys.METRICS_LISTEN,
        Codecs.ADDRESS_OR_OFF,
        false,
        "HTTP listener: Prometheus /metrics and the dashboard at /; off or empty disables it",
        DaemonSettings.Builder::metricsListen,
        DaemonSettings::metricsListen);
    daemon(
        DaemonSettings.Keys.METRICS_JMX,
        Codecs.BOOLEAN,
        false,
        "register metrics as JMX MBeans (domain dev.berth)",
        DaemonSettings.Builder::metricsJmx,
        DaemonSettings::metricsJmx);
    daemon(
        DaemonSettings.Keys.EVENTS_LOG,
        Codecs.BOOLEAN,
        false,
        "log every grant, lease end and session to <state_dir>/events.log (for fault tests)",
        DaemonSettings.Builder::eventsLog,
        DaemonSettings::eventsLog);
    daemon(
        DaemonSettings.Keys.METRICS_HOST_SERIES,
        Codecs.INTEGER,
        false,
        "hosts that get their own refusal series; the rest count as other",
        DaemonSettings.Builder::metricsHostSeries,
        DaemonSettings::metricsHostSeries);
    daemon(
        DaemonSettings.Keys.DASHBOARD_ENABLED,
        Codecs.BOOLEAN,
        false,
        "serve the operator's dashboard at / on " + DaemonSettings.Keys.METRICS_LISTEN,
        DaemonSettings.Builder::dashboardEnabled,
        DaemonSettings::dashboardEnabled);
    daemon(
        DaemonSettings.Keys.DASHBOARD_MAX_STREAMS,
        Codecs.INTEGER,
        false,
        "live dashboard streams at once; more are refused and poll instead",
        DaemonSettings.Builder::dashboardMaxStreams,
        DaemonSettings::dashboardMaxStreams);
    daemon(
        DaemonSettings.Keys.LOG_FORMAT,
        Codecs.LOG_FORMAT,
        false,
        "text, or json for one JSON object per line",
        DaemonSettings.Builder::logFormat,
        DaemonSettings::logFormat);
    daemon(
        DaemonSettings.Keys.LOG_LEVEL,
        Codecs.LOG_LEVEL,
        true,
        "root log level",
        DaemonSettings.Builder::logLevel,
        DaemonSettings::logLevel);

    section = "Tracing";
    daemon(
        TracingConfig.Keys.OTLP_ENDPOINT,
        Codecs.URL_OR_OFF,
        false,
        "send spans over OTLP/HTTP to this URL (/v1/traces is added to a bare host:port);"
            + " off = no spans",
        DaemonSettings.Builder::tracingEndpoint,
        d -> d.tracing().otlpEndpoint());
    daemon(
        TracingConfig.Keys.SAMPLE_RATIO,
        Codecs.DECIMAL,
        false,
        "share of new traces kept, 0..1; a worker's traces keep the worker's decision",
        DaemonSettings.Builder::tracingSampleRatio,
        d -> d.tracing().sampleRatio());
    daemon(
        TracingConfig.Keys.SERVICE_NAME,
        Codecs.TEXT,
        false,
        "service.name of the daemon's spans",
        DaemonSettings.Builder::tracingServiceName,
        d -> d.tracing().serviceName());
    section = "Cluster (an odd number of brokers, 3 to 9, on Raft; unset = one broker, no Raft)";
    daemon(
        ClusterSettings.Keys.ID,
        Codecs.TEXT,
        false,
        "the cluster's name; the Raft group and its directory carry it",
        DaemonSettings.Builder::clusterId,
        d -> d.cluster().map(ClusterSettings::id).orElse(null));
    daemon(
        ClusterSettings.Keys.SELF,
        Codecs.TEXT,
        false,
        "which member of " + ClusterSettings.Keys.PEERS + " this node is (usually a flag per node)",
        DaemonSettings.Builder::clusterSelf,
        d -> d.cluster().map(ClusterSettings::self).orElse(null));
    mapKey(
        daemon(
            ClusterSettings.Keys.PEERS,
            Codecs.PEERS,
            false,
            "every member: id -> {raft: HOST:PORT, api: HOST:PORT, dashboard: URL (optional)};"
                + " an odd number, 3 to 9",
            DaemonSettings.Builder::clusterPeers,
            ConfigKeys::peers),
        Codecs.PEERS);
    clusterTuning(
        ClusterSettings.Keys.ELECTION_TIMEOUT_MIN,
        Codecs.DURATION,
        "a follower that hears no leader for a random time between the two timeouts starts an"
            + " election",
        DaemonSettings.Builder::electionTimeoutMin,
        ClusterSettings::electionTimeoutMin,
        ClusterSettings.Defaults.ELECTION_TIMEOUT_MIN);
    clusterTuning(
        ClusterSettings.Keys.ELECTION_TIMEOUT_MAX,
        Codecs.DURATION,
        "see " + ClusterSettings.Keys.ELECTION_TIMEOUT_MIN,
        DaemonSettings.Builder::electionTimeoutMax,
        ClusterSettings::electionTimeoutMax,
        ClusterSettings.Defaults.ELECTION_TIMEOUT_MAX);
    clusterTuning(
        ClusterSettings.Keys.LEADER_LEASE,
        Codecs.DURATION,
        "a leader grants only while a majority answered it within this; between half the minimum"
            + " election timeout and the minimum",
        DaemonSettings.Builder::leaderLease,
        ClusterSettings::leaderLease,
        ClusterSettings.Defaults.LEADER_LEASE);
    clusterTuning(
        ClusterSettings.Keys.MAX_UNCOMMITTED_GRANTS,
        Codecs.INTEGER,
        "K: grants per pool not yet committed; a new leader holds back K per pool after a crash",
        DaemonSettings.Builder::maxUncommittedGrants,
        ClusterSettings::maxUncommittedGrants,
        ClusterSettings.Defaults.MAX_UNCOMMITTED_GRANTS);
    clusterTuning(
        ClusterSettings.Keys.UNCOMMITTED_LIMIT_DIVISOR,
        Codecs.INTEGER,
        "a pool's K is at least its limit divided by this (0: K is"
            + " cluster.journal.max_uncommitted_grants for every pool)",
        DaemonSettings.Builder::uncommittedLimitDivisor,
        ClusterSettings::uncommittedLimitDivisor,
        ClusterSettings.Defaults.UNCOMMITTED_LIMIT_DIVISOR);
    clusterTuning(
        ClusterSettings.Keys.FLUSH_INTERVAL,
        Codecs.DURATION,
        "how long the journal collects lease changes before it replicates them when no batch is in"
            + " flight (with one in flight, they go as one batch once it is committed)",
        DaemonSettings.Builder::flushInterval,
        ClusterSettings::flushInterval,
        ClusterSettings.Defaults.FLUSH_INTERVAL);
    clusterTuning(
        ClusterSettings.Keys.BATCH_RECORDS,
        Codecs.INTEGER,
        "the journal replicates at once when this many changes wait",
        DaemonSettings.Builder::batchRecords,
        ClusterSettings::batchRecords,
        ClusterSettings.Defaults.BATCH_RECORDS);
    clusterTuning(
        ClusterSettings.Keys.REQUEST_TIMEOUT,
        Codecs.DURATION,
        "one attempt of a Raft append",
        DaemonSettings.Builder::requestTimeout,
        ClusterSettings::requestTimeout,
        ClusterSettings.Defaults.REQUEST_TIMEOUT);
    clusterTuning(
        ClusterSettings.Keys.APPEND_ATTEMPTS,
        Codecs.INTEGER,
        "attempts of one append before the leader gives up and steps down",
        DaemonSettings.Builder::appendAttempts,
        ClusterSettings::appendAttempts,
        ClusterSettings.Defaults.APPEND_ATTEMPTS);
    clusterTuning(
        ClusterSettings.Keys.SNAPSHOT_EVERY,
        Codecs.LONG,
        "log entries between snapshots (the log is purged behind one)",
        DaemonSettings.Builder::snapshotEvery,
        ClusterSettings::snapshotEvery,
        ClusterSettings.Defaults.SNAPSHOT_EVERY);
    clusterTuning(
        ClusterSettings.Keys.MAX_RECORD_SIZE,
        Codecs.BYTES,
        "the largest log entry (a handoff carries the whole lease state)",
        DaemonSettings.Builder::maxRecordBytes,
        c -> (long) c.maxRecordBytes(),
        ClusterSettings.Defaults.MAX_RECORD_BYTES);
    clusterTuning(
        ClusterSettings.Keys.PAUSE_FATAL_AFTER,
        Codecs.DURATION,
        "a JVM pause this long makes Raft close the node; the daemon then exits (fatal)",
        DaemonSettings.Builder::pauseFatalAfter,
        ClusterSettings::pauseFatalAfter,
        ClusterSettings.Defaults.PAUSE_FATAL_AFTER);
    clusterTuning(
        ClusterSettings.Keys.DIRECT_MEMORY,
        Codecs.BYTES,
        "direct memory Raft's network layer may take",
        DaemonSettings.Builder::directMemoryBytes,
        ClusterSettings::directMemoryBytes,
        ClusterSettings.Defaults.DIRECT_MEMORY_BYTES);

    section = "Security, transport and per-principal caps";
    daemon(
        DaemonSettings.Keys.AUTH_TOKENS,
        Codecs.TOKENS,
        true,
        "bearer tokens: principal -> {sha256: HEX, roles: [worker, admin]}; empty = no auth",
        DaemonSettings.Builder::tokens,
        DaemonSettings::tokens);
    daemon(
        DaemonSettings.Keys.TLS_CERT,
        Codecs.PATH,
        false,
        "server certificate chain, PEM; unset = plaintext",
        DaemonSettings.Builder::tlsCert,
        d -> d.tls().map(TlsSettings::certChain).orElse(null));
    daemon(
        DaemonSettings.Keys.TLS_KEY,
        Codecs.PATH,
        false,
        "its private key, PEM (PKCS#8)",
        DaemonSettings.Builder::tlsKey,
        d -> d.tls().map(TlsSettings::privateKey).orElse(null));
    daemon(
        DaemonSettings.Keys.TLS_CLIENT_CA,
        Codecs.PATH,
        false,
        "CA certificates client certificates must chain to, PEM; unset = no client certificates",
        DaemonSettings.Builder::tlsClientCa,
        d -> d.tls().map(TlsSettings::clientCa).orElse(null));
    daemon(
        DaemonSettings.Keys.TLS_REQUIRE_CLIENT_CERT,
        Codecs.BOOLEAN,
        false,
        "mTLS: refuse clients without a certificate from " + DaemonSettings.Keys.TLS_CLIENT_CA,
        DaemonSettings.Builder::tlsRequireClientCert,
        d -> d.tls().map(TlsSettings::requireClientCert).orElse(false));
    daemon(
        DaemonSettings.Keys.TLS_REFRESH,
        Codecs.DURATION,
        false,
        "how often the TLS files are re-read; rotated certificates apply to new connections",
        DaemonSettings.Builder::tlsRefresh,
        d -> d.tls().map(TlsSettings::refresh).orElse(DEFAULT_TLS_REFRESH));
    daemon(
        DaemonSettings.Keys.MAX_CONNECTION_AGE,
        Codecs.DURATION,
        false,
        "connections are closed gracefully after this; unset = never",
        DaemonSettings.Builder::maxConnectionAge,
        d -> d.maxConnectionAge().orElse(null));
    daemon(
        DaemonSettings.Keys.EVENT_LOOPS,
        Codecs.INTEGER,
        false,
        "threads running the listener's connections and calls; 0 = the transport's default, two"
            + " per processor",
        DaemonSettings.Builder::eventLoops,
        DaemonSettings::eventLoops);
    caps(
        PrincipalCaps.Keys.SESSIONS,
        "live sessions one principal may hold; 0 = no cap",
        (b, v) -> b.capSessions = v,
        PrincipalCaps::sessions);
    caps(
        PrincipalCaps.Keys.LEASES,
        "leases held plus acquires waiting, per principal; 0 = no cap",
        (b, v) -> b.capLeases = v,
        PrincipalCaps::leases);
    caps(
        PrincipalCaps.Keys.QUEUED,
        "acquires waiting at once, per principal; 0 = no cap",
        (b, v) -> b.capQueued = v,
        PrincipalCaps::queued);
    caps(
        PrincipalCaps.Keys.CALLS_PER_SECOND,
        "calls one principal may start per second (burst: one second's worth); 0 = no cap",
        (b, v) -> b.capCallRate = v,
        PrincipalCaps::callsPerSecond);

    alias("--state-dir", DaemonSettings.Keys.STATE_DIR);
    alias("--shutdown-grace", DaemonSettings.Keys.SHUTDOWN_GRACE);
    alias("--heartbeat-interval", BrokerConfig.Keys.HEARTBEAT_INTERVAL);
    alias("--session-ttl", BrokerConfig.Keys.SESSION_TTL);
    alias("--sweep-interval", BrokerConfig.Keys.SWEEP_INTERVAL);
    for (ResourceKind kind : ResourceKind.values()) {
      alias("--" + lower(kind) + "-limit", BrokerConfig.Keys.limit(kind));
      alias("--" + lower(kind) + "-max-hold", BrokerConfig.Keys.maxHold(kind));
    }
    alias("--metrics-listen", DaemonSettings.Keys.METRICS_LISTEN);
    alias("--rate-limit-default-rate", RateLimitConfig.Keys.DEFAULT_RATE);
    alias("--rate-limit-default-burst", RateLimitConfig.Keys.DEFAULT_BURST);
    alias("--wasm-default-module", BrokerConfig.Keys.DEFAULT_WASM_MODULE);
    alias("--wasm-idle-timeout", WasmConfig.Keys.IDLE_TIMEOUT);
    alias("--log-format", DaemonSettings.Keys.LOG_FORMAT);
    alias("--log-level", DaemonSettings.Keys.LOG_LEVEL);
    entryFlag(
        "--wasm-module",
        modules,
        "NAME=PATH[:EXPORT,...]",
        "serve a WASM module (repeatable): one entry of " + WasmConfig.Keys.MODULES,
        (key, text) -> {
          WasmConfig.ModuleEntry m = WasmConfig.ModuleEntry.parse(key, text);
          return Map.entry(m.name(), new ModuleSetting(m.path(), m.exports()));
        });
  }

  private ConfigKeys() {}

  /** Every key, in documentation order. */
  public static List<ConfigKey<?>> all() {
    return Collections.unmodifiableList(ALL);
  }

  /** The key named {@code name}, or null. */
  public static ConfigKey<?> find(String name) {
    return BY_NAME.get(name);
  }

  /**
   * The key named {@code name}.
   *
   * @throws IllegalArgumentException when there is none
   */
  public static ConfigKey<?> get(String name) {
    ConfigKey<?> key = BY_NAME.get(name);
    if (key == null) {
      throw new IllegalArgumentException("no config key " + name);
    }
    return key;
  }

  /** The short flags that set {@code key}, e.g. {@code --session-ttl} for {@code session.ttl}. */
  public static List<String> aliases(ConfigKey<?> key) {
    List<String> flags = new ArrayList<>();
    FLAG_ALIASES.forEach(
        (flag, name) -> {
          if (name.equals(key.name())) {
            flags.add(flag);
          }
        });
    return flags;
  }

  /**
   * A flag that adds one entry to a map key, as help shows it.
   *
   * @param flag e.g. {@code --wasm-module}
   * @param label its value, e.g. {@code NAME=PATH[:EXPORT,...]}
   * @param description one sentence
   */
  public record EntryFlagHelp(String flag, String label, String description) {}

  /** The flags that add one entry to {@code key}, e.g. {@code --wasm-module} for wasm.modules. */
  public static List<EntryFlagHelp> entryFlagsOf(ConfigKey<?> key) {
    return ENTRY_FLAGS.values().stream()
        .filter(f -> f.mapKey().key() == key)
        .map(f -> new EntryFlagHelp(f.flag(), f.label(), f.description()))
        .toList();
  }

  /** The entry flag named {@code flag}, or null. */
  static EntryFlag<?> entryFlag(String flag) {
    return ENTRY_FLAGS.get(flag);
  }

  /** The key an environment variable sets, or null. */
  static ConfigKey<?> forEnv(String variable) {
    return BY_ENV.get(variable);
  }

  /** Every environment variable that sets a key. */
  static List<String> envNames() {
    return ALL.stream().map(ConfigKey::envName).toList();
  }

  /**
   * The dotted name a flag sets: {@code --pools.render.limit}, the same with dashes for underscores
   * ({@code --pools.render.per-session-limit}), or one of the short aliases ({@code
   * --render-limit}). The name may be a key or a map key's entry field ({@code
   * wasm.modules.NAME.path}); null when the flag is not {@code --} something.
   */
  static String nameOfFlag(String flag) {
    String alias = FLAG_ALIASES.get(flag);
    if (alias != null) {
      return alias;
    }
    if (!flag.startsWith("--")) {
      return null;
    }
    String name = flag.substring(2);
    if (BY_NAME.containsKey(name) || mapEntry(name) != null) {
      return name;
    }
    // Dashes may stand for underscores in key names, not in map entries' names.
    return name.replace('-', '_');
  }

  /**
   * The map key and entry field a dotted name sets, e.g. {@code wasm.modules.extractor.path}: the
   * key, then the entry's name (which may hold dots), then the field. Null when it names none.
   */
  static EntryRef<?> mapEntry(String name) {
    for (MapKey<?> mapKey : MAP_KEYS.values()) {
      EntryRef<?> ref = EntryRef.of(mapKey, name);
      if (ref != null) {
        return ref;
      }
    }
    return null;
  }

  /** One field of one entry of a map key, named by a dotted name. */
  record EntryRef<E>(MapKey<E> mapKey, String entry, String field) {
    static <E> EntryRef<E> of(MapKey<E> mapKey, String name) {
      String prefix = mapKey.key().name() + ".";
      if (!name.startsWith(prefix) || name.length() == prefix.length()) {
        return null;
      }
      String[] parts = mapKey.codec().splitEntryField(name.substring(prefix.length()));
      return parts == null ? null : new EntryRef<>(mapKey, parts[0], parts[1]);
    }
  }

  /** Every flag name that is accepted, aliases first; for "did you mean". */
  static List<String> flagNames() {
    List<String> names = new ArrayList<>(FLAG_ALIASES.keySet());
    names.addAll(ENTRY_FLAGS.keySet());
    ALL.forEach(k -> names.add(k.flagName()));
    return names;
  }

  private static <T> ConfigKey<T> add(ConfigKey<T> key) {
    if (BY_NAME.put(key.name(), key) != null || BY_ENV.put(key.envName(), key) != null) {
      throw new IllegalStateException("config key defined twice: " + key.name());
    }
    ALL.add(key);
    return key;
  }

  private static <E> MapKey<E> mapKey(ConfigKey<Map<String, E>> key, EntryMapCodec<E> codec) {
    MapKey<E> mapKey = new MapKey<>(key, codec);
    MAP_KEYS.put(key.name(), mapKey);
    return mapKey;
  }

  private static void alias(String flag, String key) {
    FLAG_ALIASES.put(flag, get(key).name());
  }

  private static <E> void entryFlag(
      String flag,
      MapKey<E> mapKey,
      String label,
      String description,
      BiFunction<String, String, Map.Entry<String, E>> parse) {
    ENTRY_FLAGS.put(flag, new EntryFlag<>(flag, mapKey, label, description, parse));
  }

  private static <T> ConfigKey<T> daemon(
      String name,
      Codec<T> codec,
      boolean live,
      String description,
      BiConsumer<DaemonSettings.Builder, T> set,
      Function<DaemonSettings, T> get) {
    return add(
        new ConfigKey<>(
            name,
            codec,
            DAEMON,
            section,
            live,
            description,
            (b, v) -> set.accept(b.daemon, v),
            (p, d) -> get.apply(d)));
  }

  /** A cluster tuning key: its value in a cluster, or the default when there is none. */
  private static <T> void clusterTuning(
      String name,
      Codec<T> codec,
      String description,
      BiConsumer<DaemonSettings.Builder, T> set,
      Function<ClusterSettings, T> get,
      T fallback) {
    daemon(name, codec, false, description, set, d -> d.cluster().map(get).orElse(fallback));
  }

  private static Map<String, PeerSetting> peers(DaemonSettings d) {
    Map<String, PeerSetting> peers = new LinkedHashMap<>();
    d.cluster()
        .ifPresent(
            c ->
                c.peers()
                    .values()
                    .forEach(
                        p ->
                            peers.put(
                                p.id(),
                                new PeerSetting(
                                    p.raft(),
                                    p.api(),
                                    p.dashboard().isEmpty() ? null : p.dashboard()))));
    return peers;
  }

  private static <T> void broker(
      String name,
      Codec<T> codec,
      boolean live,
      String description,
      BiConsumer<BrokerConfig.Builder, T> set,
      Function<BrokerConfig, T> get) {
    add(
        new ConfigKey<>(
            name,
            codec,
            BROKER,
            section,
            live,
            description,
            (b, v) -> set.accept(b.broker, v),
            (p, d) -> get.apply(p.broker())));
  }

  private static <T> ConfigKey<T> rateLimit(
      String name,
      Codec<T> codec,
      String description,
      BiConsumer<RateLimitConfig.Builder, T> set,
      Function<RateLimitConfig, T> get) {
    return policyKey(
        name,
        codec,
        RATE_LIMIT,
        description,
        (b, v) -> set.accept(b.rateLimit, v),
        p -> get.apply(p.rateLimit()));
  }

  private static <T> void memory(
      String name,
      Codec<T> codec,
      String description,
      BiConsumer<MemoryConfig.Builder, T> set,
      Function<MemoryConfig, T> get) {
    policyKey(
        name,
        codec,
        MEMORY,
        description,
        (b, v) -> set.accept(b.memory, v),
        p -> get.apply(p.memory()));
  }

  private static <T> void performance(
      String name,
      Codec<T> codec,
      String description,
      BiConsumer<PerformanceConfig.Builder, T> set,
      Function<PerformanceConfig, T> get) {
    policyKey(
        name,
        codec,
        PERFORMANCE,
        description,
        (b, v) -> set.accept(b.performance, v),
        p -> get.apply(p.performance()));
  }

  private static void caps(
      String name,
      String description,
      BiConsumer<Builders, Integer> set,
      Function<PrincipalCaps, Integer> get) {
    policyKey(name, Codecs.INTEGER, CAPS, description, set, p -> get.apply(p.caps()));
  }

  private static <T> ConfigKey<T> policyKey(
      String name,
      Codec<T> codec,
      Part part,
      String description,
      BiConsumer<Builders, T> set,
      Function<Policy, T> get) {
    return add(
        new ConfigKey<>(
            name, codec, part, section, true, description, set, (p, d) -> get.apply(p)));
  }

  private static void setHosts(RateLimitConfig.Builder b, Map<String, HostRate> hosts) {
    b.clearHosts();
    for (Map.Entry<String, HostRate> e : hosts.entrySet()) {
      HostRate r = e.getValue();
      if (r.rate() == null) {
        throw new dev.berth.server.settings.ConfigException(
            EntryMapCodec.entryKey(RateLimitConfig.Keys.HOSTS, e.getKey()) + ".rate",
            "is required");
      }
      if (r.burst() == null) {
        b.host(e.getKey(), r.rate());
      } else {
        b.host(e.getKey(), r.rate(), r.burst());
      }
    }
  }

  private static Map<String, HostRate> hosts(RateLimitConfig r) {
    Map<String, HostRate> hosts = new LinkedHashMap<>();
    for (HostRule rule : r.hosts().values()) {
      hosts.put(rule.pattern(), hostRate(r, rule));
    }
    return hosts;
  }

  /**
   * A host rule as its key's value: without a burst when it gave none, so that it keeps taking
   * {@code rate_limit.default_burst} when the policy is rebuilt from these values.
   */
  private static HostRate hostRate(RateLimitConfig rules, HostRule rule) {
    return new HostRate(
        rule.rate(), rules.inheritsBurst(rule.pattern()) ? null : (Integer) rule.burst());
  }

  private static void setJobs(Builders b, Map<String, JobSetting> jobs) {
    JobsConfig.Builder builder = JobsConfig.newBuilder();
    for (Map.Entry<String, JobSetting> e : jobs.entrySet()) {
      String name = e.getKey();
      JobSetting job = e.getValue();
      builder.job(name);
      if (job.weight() != null) {
        builder.weight(name, job.weight());
      }
      job.min().forEach((kind, n) -> builder.min(name, kind, n));
      job.max().forEach((kind, n) -> builder.max(name, kind, n));
      job.hosts()
          .forEach(
              (pattern, rate) -> {
                if (rate.rate() == null) {
                  throw new dev.berth.server.settings.ConfigException(
                      JobsConfig.Keys.hosts(name) + "['" + pattern + "'].rate", "is required");
                }
                builder.host(
                    name, pattern, rate.rate(), rate.burst() == null ? null : (long) rate.burst());
              });
    }
    b.jobs = builder;
  }

  /** The jobs as configured; a plain {@code default} (weight 1, nothing else) is left out. */
  private static Map<String, JobSetting> jobs(Policy p) {
    Map<String, JobSetting> jobs = new LinkedHashMap<>();
    for (JobSettings s : p.jobs().jobs().values()) {
      if (s.name().equals(JobsConfig.DEFAULT_JOB)
          && JobsConfig.newBuilder().build().get(s.name()).equals(s)) {
        continue;
      }
      Map<ResourceKind, Integer> min = new java.util.EnumMap<>(ResourceKind.class);
      Map<ResourceKind, Integer> max = new java.util.EnumMap<>(ResourceKind.class);
      for (ResourceKind kind : ResourceKind.values()) {
        if (s.min(kind) > 0) {
          min.put(kind, s.min(kind));
        }
        if (s.max(kind) > 0) {
          max.put(kind, s.max(kind));
        }
      }
      Map<String, HostRate> hosts = new LinkedHashMap<>();
      for (HostRule rule : s.hosts().values()) {
        hosts.put(rule.pattern(), hostRate(s.hostRates(), rule));
      }
      jobs.put(s.name(), new JobSetting(s.weight(), min, max, hosts));
    }
    return jobs;
  }

  private static Double optional(OptionalDouble value) {
    return value.isPresent() ? value.getAsDouble() : null;
  }

  private static String lower(ResourceKind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }
}
