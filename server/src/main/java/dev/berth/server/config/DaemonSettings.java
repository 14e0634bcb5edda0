package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

import dev.berth.server.cluster.ClusterSettings;
import dev.berth.server.cluster.Peer;
import dev.berth.server.security.TlsSettings;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.settings.Addresses;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import dev.berth.server.tracing.TracingConfig;
import dev.berth.server.wasm.WasmConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The settings of the daemon around the broker: where it listens, where its state lives, how it
 * shuts down, how it exports metrics and how it logs, which WASM modules it serves. Immutable;
 * {@link #newBuilder()} starts from the defaults.
 *
 * @param listen the gRPC listen address ({@code listen}); unresolved, as configured
 * @param stateDir the durable state directory ({@code state_dir})
 * @param shutdownGrace how long in-flight calls may finish on SIGTERM ({@code shutdown_grace})
 * @param metricsListen the Prometheus HTTP address, empty when off ({@code metrics.listen})
 * @param metricsJmx whether metrics are registered as JMX MBeans ({@code metrics.jmx})
 * @param metricsHostSeries how many hosts get their own refusal series ({@code
 *     metrics.host_series})
 * @param logFormat text or JSON lines ({@code log.format})
 * @param logLevel the root log level ({@code log.level})
 * @param tokens the accepted bearer tokens, hashed; empty turns authentication off ({@code
 *     auth.tokens})
 * @param tls TLS on the listener, empty for plaintext ({@code tls.*})
 * @param maxConnectionAge connections are closed gracefully after this, so clients rebalance and
 *     pick up rotated certificates; empty for never ({@code transport.max_connection_age})
 * @param eventLoops the threads that run the listener's connections and the calls on them; 0 for
 *     the transport's default, two per available processor ({@code transport.event_loops})
 * @param wasm the WASM modules served and the idle timeout of WASM leases ({@code wasm.modules},
 *     {@code wasm.idle_timeout})
 * @param dashboardEnabled whether the dashboard is served at / of {@code metricsListen} ({@code
 *     dashboard.enabled})
 * @param dashboardMaxStreams live dashboard streams at once ({@code dashboard.max_streams})
 * @param tracing where spans go over OTLP, if anywhere ({@code tracing.*})
 * @param cluster this broker's place in a replicated cluster ({@code cluster.*}); empty for a
 *     single broker, which starts no Raft at all
 * @param eventsLog whether grants, lease ends and sessions are logged to {@code
 *     <state_dir>/events.log} for the fault suite's timeline checker ({@code events.log})
 */
public record DaemonSettings(
    InetSocketAddress listen,
    Path stateDir,
    Duration shutdownGrace,
    Optional<InetSocketAddress> metricsListen,
    boolean metricsJmx,
    int metricsHostSeries,
    LogFormat logFormat,
    String logLevel,
    List<TokenRegistry.Entry> tokens,
    Optional<TlsSettings> tls,
    Optional<Duration> maxConnectionAge,
    int eventLoops,
    WasmConfig wasm,
    boolean dashboardEnabled,
    int dashboardMaxStreams,
    TracingConfig tracing,
    Optional<ClusterSettings> cluster,
    boolean eventsLog) {

  /** The most live dashboard streams {@code dashboard.max_streams} allows. */
  public static final int MAX_DASHBOARD_STREAMS = 64;

  /** The most event loops {@code transport.event_loops} allows. */
  public static final int MAX_EVENT_LOOPS = 1024;

  /**
   * The names of the daemon's configuration keys, written once: {@link ConfigKeys} defines the keys
   * with them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String LISTEN = "listen";
    public static final String STATE_DIR = "state_dir";
    public static final String SHUTDOWN_GRACE = "shutdown_grace";
    public static final String METRICS_LISTEN = "metrics.listen";
    public static final String METRICS_JMX = "metrics.jmx";
    public static final String METRICS_HOST_SERIES = "metrics.host_series";
    public static final String LOG_FORMAT = "log.format";
    public static final String LOG_LEVEL = "log.level";
    public static final String AUTH_TOKENS = "auth.tokens";
    public static final String TLS_CERT = "tls.cert";
    public static final String TLS_KEY = "tls.key";
    public static final String TLS_CLIENT_CA = "tls.client_ca";
    public static final String TLS_REQUIRE_CLIENT_CERT = "tls.require_client_cert";
    public static final String TLS_REFRESH = "tls.refresh";
    public static final String MAX_CONNECTION_AGE = "transport.max_connection_age";
    public static final String EVENT_LOOPS = "transport.event_loops";
    public static final String DASHBOARD_ENABLED = "dashboard.enabled";
    public static final String DASHBOARD_MAX_STREAMS = "dashboard.max_streams";
    public static final String EVENTS_LOG = "events.log";

    private Keys() {}
  }

  public DaemonSettings {
    requireNonNull(listen, "listen");
    requireNonNull(stateDir, "stateDir");
    requireNonNull(shutdownGrace, "shutdownGrace");
    requireNonNull(metricsListen, "metricsListen");
    requireNonNull(logFormat, "logFormat");
    requireNonNull(logLevel, "logLevel");
    tokens = List.copyOf(tokens);
    requireNonNull(tls, "tls");
    requireNonNull(maxConnectionAge, "maxConnectionAge");
    requireNonNull(wasm, "wasm");
    requireNonNull(tracing, "tracing");
    requireNonNull(cluster, "cluster");
  }

  /** The event log's file, {@code <state_dir>/events.log}, when {@link #eventsLog()} is on. */
  public Optional<Path> eventsLogFile() {
    return eventsLog ? Optional.of(stateDir.resolve("events.log")) : Optional.empty();
  }

  /** {@link #wasm()}'s modules as configured: name to path and exports, in configured order. */
  public Map<String, ModuleSetting> wasmModules() {
    Map<String, ModuleSetting> modules = new LinkedHashMap<>();
    for (WasmConfig.ModuleEntry m : wasm.modules()) {
      modules.put(m.name(), new ModuleSetting(m.path(), m.exports()));
    }
    return modules;
  }

  public static DaemonSettings defaults() {
    return newBuilder().build();
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** Collects settings; {@link #build()} validates them. */
  public static final class Builder {
    private InetSocketAddress listen = InetSocketAddress.createUnresolved("127.0.0.1", 7433);
    private Path stateDir = Path.of("berth-state");
    private Duration shutdownGrace = Duration.ofSeconds(10);
    private Optional<InetSocketAddress> metricsListen =
        Optional.of(InetSocketAddress.createUnresolved("127.0.0.1", 9464));
    private boolean metricsJmx = true;
    private boolean eventsLog;
    private int metricsHostSeries = 20;
    private LogFormat logFormat = LogFormat.TEXT;
    private String logLevel = "INFO";
    private List<TokenRegistry.Entry> tokens = List.of();
    private Path tlsCert;
    private Path tlsKey;
    private Path tlsClientCa;
    private boolean tlsRequireClientCert;
    private Duration tlsRefresh = Duration.ofMinutes(1);
    private Duration maxConnectionAge;
    private int eventLoops;
    private Map<String, ModuleSetting> wasmModules = Map.of();
    private Duration wasmIdleTimeout = WasmConfig.DEFAULT_IDLE_TIMEOUT;
    private boolean dashboardEnabled = true;
    private int dashboardMaxStreams = 8;
    private Optional<URI> tracingEndpoint = TracingConfig.OFF.otlpEndpoint();
    private double tracingSampleRatio = TracingConfig.OFF.sampleRatio();
    private String tracingServiceName = TracingConfig.OFF.serviceName();
    private String clusterId;
    private String clusterSelf;
    private Map<String, PeerSetting> clusterPeers = Map.of();
    // The tuning keys of a cluster; null leaves ClusterSettings' default.
    private Duration electionTimeoutMin;
    private Duration electionTimeoutMax;
    private Duration leaderLease;
    private Integer maxUncommittedGrants;
    private Integer uncommittedLimitDivisor;
    private Duration flushInterval;
    private Integer batchRecords;
    private Duration requestTimeout;
    private Integer appendAttempts;
    private Long snapshotEvery;
    private Long maxRecordBytes;
    private Duration pauseFatalAfter;
    private Long directMemoryBytes;
    private Duration sessionTtl;

    private Builder() {}

    public Builder listen(InetSocketAddress value) {
      this.listen = value;
      return this;
    }

    public Builder stateDir(Path value) {
      this.stateDir = value;
      return this;
    }

    public Builder shutdownGrace(Duration value) {
      this.shutdownGrace = value;
      return this;
    }

    public Builder metricsListen(Optional<InetSocketAddress> value) {
      this.metricsListen = value;
      return this;
    }

    public Builder eventsLog(boolean value) {
      this.eventsLog = value;
      return this;
    }

    public Builder metricsJmx(boolean value) {
      this.metricsJmx = value;
      return this;
    }

    public Builder metricsHostSeries(int value) {
      this.metricsHostSeries = value;
      return this;
    }

    public Builder logFormat(LogFormat value) {
      this.logFormat = value;
      return this;
    }

    public Builder logLevel(String value) {
      this.logLevel = value;
      return this;
    }

    public Builder tokens(List<TokenRegistry.Entry> value) {
      this.tokens = List.copyOf(value);
      return this;
    }

    public Builder tlsCert(Path value) {
      this.tlsCert = value;
      return this;
    }

    public Builder tlsKey(Path value) {
      this.tlsKey = value;
      return this;
    }

    public Builder tlsClientCa(Path value) {
      this.tlsClientCa = value;
      return this;
    }

    public Builder tlsRequireClientCert(boolean value) {
      this.tlsRequireClientCert = value;
      return this;
    }

    public Builder tlsRefresh(Duration value) {
      this.tlsRefresh = value;
      return this;
    }

    public Builder maxConnectionAge(Duration value) {
      this.maxConnectionAge = value;
      return this;
    }

    public Builder eventLoops(int value) {
      this.eventLoops = value;
      return this;
    }

    /** The WASM modules to serve by name; each must name its file. */
    public Builder wasmModules(Map<String, ModuleSetting> value) {
      this.wasmModules = new LinkedHashMap<>(value);
      return this;
    }

    public Builder wasmIdleTimeout(Duration value) {
      this.wasmIdleTimeout = value;
      return this;
    }

    public Builder dashboardEnabled(boolean value) {
      this.dashboardEnabled = value;
      return this;
    }

    public Builder dashboardMaxStreams(int value) {
      this.dashboardMaxStreams = value;
      return this;
    }

    /** The OTLP/HTTP receiver of spans; empty turns tracing off. */
    public Builder tracingEndpoint(Optional<URI> value) {
      this.tracingEndpoint = value;
      return this;
    }

    public Builder tracingSampleRatio(double value) {
      this.tracingSampleRatio = value;
      return this;
    }

    public Builder tracingServiceName(String value) {
      this.tracingServiceName = value;
      return this;
    }

    public Builder clusterId(String value) {
      this.clusterId = value;
      return this;
    }

    public Builder clusterSelf(String value) {
      this.clusterSelf = value;
      return this;
    }

    /** The members by id, each with its Raft and API address. */
    public Builder clusterPeers(Map<String, PeerSetting> value) {
      this.clusterPeers = new LinkedHashMap<>(value);
      return this;
    }

    public Builder electionTimeoutMin(Duration value) {
      this.electionTimeoutMin = value;
      return this;
    }

    public Builder electionTimeoutMax(Duration value) {
      this.electionTimeoutMax = value;
      return this;
    }

    public Builder leaderLease(Duration value) {
      this.leaderLease = value;
      return this;
    }

    public Builder uncommittedLimitDivisor(int value) {
      this.uncommittedLimitDivisor = value;
      return this;
    }

    public Builder maxUncommittedGrants(int value) {
      this.maxUncommittedGrants = value;
      return this;
    }

    public Builder flushInterval(Duration value) {
      this.flushInterval = value;
      return this;
    }

    public Builder batchRecords(int value) {
      this.batchRecords = value;
      return this;
    }

    public Builder requestTimeout(Duration value) {
      this.requestTimeout = value;
      return this;
    }

    public Builder appendAttempts(int value) {
      this.appendAttempts = value;
      return this;
    }

    public Builder snapshotEvery(long value) {
      this.snapshotEvery = value;
      return this;
    }

    public Builder maxRecordBytes(long value) {
      this.maxRecordBytes = value;
      return this;
    }

    public Builder pauseFatalAfter(Duration value) {
      this.pauseFatalAfter = value;
      return this;
    }

    public Builder directMemoryBytes(long value) {
      this.directMemoryBytes = value;
      return this;
    }

    /** The broker's {@code session.ttl}, which a cluster's failover timing must fit into. */
    public Builder sessionTtl(Duration value) {
      this.sessionTtl = value;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws ConfigException naming the first key that breaks its rule
     */
    public DaemonSettings build() {
      if (shutdownGrace.isNegative() || shutdownGrace.compareTo(Duration.ofHours(1)) > 0) {
        throw new ConfigException(
            Keys.SHUTDOWN_GRACE, "must be 0s..1h, got " + Durations.format(shutdownGrace));
      }
      if (metricsHostSeries < 0 || metricsHostSeries > 1000) {
        throw new ConfigException(
            Keys.METRICS_HOST_SERIES, "must be 0..1000, got " + metricsHostSeries);
      }
      if (metricsListen.isPresent() && listen.getPort() != 0) {
        InetSocketAddress m = metricsListen.get();
        if (m.getPort() == listen.getPort() && m.getHostString().equals(listen.getHostString())) {
          throw new ConfigException(
              Keys.METRICS_LISTEN,
              "must differ from " + Keys.LISTEN + " (" + Addresses.format(listen) + ")");
        }
      }
      if (tlsRefresh.isNegative() || tlsRefresh.isZero()) {
        throw new ConfigException(
            Keys.TLS_REFRESH, "must be > 0, got " + Durations.format(tlsRefresh));
      }
      if (maxConnectionAge != null && maxConnectionAge.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new ConfigException(
            Keys.MAX_CONNECTION_AGE,
            "must be at least 1s, got " + Durations.format(maxConnectionAge));
      }
      if (eventLoops < 0 || eventLoops > MAX_EVENT_LOOPS) {
        throw new ConfigException(
            Keys.EVENT_LOOPS,
            "must be 0 (the transport's default) to " + MAX_EVENT_LOOPS + ", got " + eventLoops);
      }
      if (dashboardMaxStreams < 1 || dashboardMaxStreams > MAX_DASHBOARD_STREAMS) {
        throw new ConfigException(
            Keys.DASHBOARD_MAX_STREAMS,
            "must be 1.." + MAX_DASHBOARD_STREAMS + ", got " + dashboardMaxStreams);
      }
      try {
        TokenRegistry.of(tokens);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(Keys.AUTH_TOKENS, e.getMessage());
      }
      return new DaemonSettings(
          listen,
          stateDir,
          shutdownGrace,
          metricsListen,
          metricsJmx,
          metricsHostSeries,
          logFormat,
          logLevel,
          tokens,
          tls(),
          Optional.ofNullable(maxConnectionAge),
          eventLoops,
          wasm(),
          dashboardEnabled,
          dashboardMaxStreams,
          new TracingConfig(tracingEndpoint, tracingSampleRatio, tracingServiceName),
          cluster(),
          eventsLog);
    }

    /**
     * The cluster settings, when {@code cluster.peers} names members: then {@code cluster.id} and
     * {@code cluster.self} are required too. An id or self without members is an error, so a
     * half-configured cluster never starts as a lone broker unnoticed; the tuning keys are only
     * read when there are members (the example file names them at their defaults).
     */
    private Optional<ClusterSettings> cluster() {
      if (clusterPeers.isEmpty()) {
        String stray =
            clusterId != null
                ? ClusterSettings.Keys.ID
                : clusterSelf != null ? ClusterSettings.Keys.SELF : null;
        if (stray != null) {
          throw new ConfigException(
              stray,
              "is set but "
                  + ClusterSettings.Keys.PEERS
                  + " names no members; set the members too, or leave every cluster key unset"
                  + " to run a single broker");
        }
        return Optional.empty();
      }
      if (clusterId == null) {
        throw new ConfigException(
            ClusterSettings.Keys.ID, "is required when " + ClusterSettings.Keys.PEERS + " is set");
      }
      ClusterSettings.Builder b = ClusterSettings.newBuilder().id(clusterId).self(clusterSelf);
      for (Map.Entry<String, PeerSetting> e : clusterPeers.entrySet()) {
        String entryKey = ClusterSettings.Keys.PEERS + "." + e.getKey();
        PeerSetting p = e.getValue();
        if (p.raft() == null) {
          throw new ConfigException(entryKey + ".raft", "is required (HOST:PORT of its Raft port)");
        }
        if (p.api() == null) {
          throw new ConfigException(
              entryKey + ".api", "is required (HOST:PORT workers reach it on)");
        }
        b.peer(new Peer(e.getKey(), p.raft(), p.api(), p.dashboard() == null ? "" : p.dashboard()));
      }
      b.electionTimeout(
          electionTimeoutMin != null
              ? electionTimeoutMin
              : ClusterSettings.Defaults.ELECTION_TIMEOUT_MIN,
          electionTimeoutMax != null
              ? electionTimeoutMax
              : ClusterSettings.Defaults.ELECTION_TIMEOUT_MAX);
      if (leaderLease != null) {
        b.leaderLease(leaderLease);
      }
      if (maxUncommittedGrants != null) {
        b.maxUncommittedGrants(maxUncommittedGrants);
      }
      if (uncommittedLimitDivisor != null) {
        b.uncommittedLimitDivisor(uncommittedLimitDivisor);
      }
      if (flushInterval != null) {
        b.flushInterval(flushInterval);
      }
      if (batchRecords != null) {
        b.batchRecords(batchRecords);
      }
      if (requestTimeout != null) {
        b.requestTimeout(requestTimeout);
      }
      if (appendAttempts != null) {
        b.appendAttempts(appendAttempts);
      }
      if (snapshotEvery != null) {
        b.snapshotEvery(snapshotEvery);
      }
      if (maxRecordBytes != null) {
        b.maxRecordBytes(maxRecordBytes);
      }
      if (pauseFatalAfter != null) {
        b.pauseFatalAfter(pauseFatalAfter);
      }
      if (directMemoryBytes != null) {
        b.directMemoryBytes(directMemoryBytes);
      }
      if (sessionTtl != null) {
        b.sessionTtl(sessionTtl);
      }
      return Optional.of(b.build());
    }

    private WasmConfig wasm() {
      List<WasmConfig.ModuleEntry> modules = new ArrayList<>();
      for (Map.Entry<String, ModuleSetting> e : wasmModules.entrySet()) {
        String name = e.getKey();
        ModuleSetting m = e.getValue();
        if (m.path() == null) {
          throw new ConfigException(WasmConfig.Keys.module(name) + ".path", "is required");
        }
        modules.add(new WasmConfig.ModuleEntry(name, m.path(), m.exports()));
      }
      return new WasmConfig(modules, wasmIdleTimeout);
    }

    private static final String BOTH = Keys.TLS_CERT + " and " + Keys.TLS_KEY;

    private Optional<TlsSettings> tls() {
      if (tlsCert == null && tlsKey == null) {
        if (tlsClientCa != null) {
          throw new ConfigException(Keys.TLS_CLIENT_CA, "needs " + BOTH);
        }
        if (tlsRequireClientCert) {
          throw new ConfigException(Keys.TLS_REQUIRE_CLIENT_CERT, "needs " + BOTH);
        }
        return Optional.empty();
      }
      if (tlsCert == null) {
        throw new ConfigException(Keys.TLS_CERT, "is required when " + Keys.TLS_KEY + " is set");
      }
      if (tlsKey == null) {
        throw new ConfigException(Keys.TLS_KEY, "is required when " + Keys.TLS_CERT + " is set");
      }
      if (tlsRequireClientCert && tlsClientCa == null) {
        throw new ConfigException(Keys.TLS_REQUIRE_CLIENT_CERT, "needs " + Keys.TLS_CLIENT_CA);
      }
      return Optional.of(
          new TlsSettings(tlsCert, tlsKey, tlsClientCa, tlsRequireClientCert, tlsRefresh));
    }
  }
}
