package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

import dev.berth.server.security.TlsSettings;
import dev.berth.server.security.TokenRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The settings of the daemon around the broker: where it listens, where its state lives, how it
 * shuts down, how it exports metrics and how it logs. Immutable; {@link #newBuilder()} starts from
 * the defaults.
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
 * @param dashboardEnabled whether the dashboard is served at / of {@code metricsListen} ({@code
 *     dashboard.enabled})
 * @param dashboardMaxStreams live dashboard streams at once ({@code dashboard.max_streams})
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
    boolean dashboardEnabled,
    int dashboardMaxStreams) {

  /** The most live dashboard streams {@code dashboard.max_streams} allows. */
  public static final int MAX_DASHBOARD_STREAMS = 64;

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
    private boolean dashboardEnabled = true;
    private int dashboardMaxStreams = 8;

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

    public Builder dashboardEnabled(boolean value) {
      this.dashboardEnabled = value;
      return this;
    }

    public Builder dashboardMaxStreams(int value) {
      this.dashboardMaxStreams = value;
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
            "shutdown_grace", "must be 0s..1h, got " + Durations.format(shutdownGrace));
      }
      if (metricsHostSeries < 0 || metricsHostSeries > 1000) {
        throw new ConfigException(
            "metrics.host_series", "must be 0..1000, got " + metricsHostSeries);
      }
      if (metricsListen.isPresent() && listen.getPort() != 0) {
        InetSocketAddress m = metricsListen.get();
        if (m.getPort() == listen.getPort() && m.getHostString().equals(listen.getHostString())) {
          throw new ConfigException(
              "metrics.listen", "must differ from listen (" + Addresses.format(listen) + ")");
        }
      }
      if (tlsRefresh.isNegative() || tlsRefresh.isZero()) {
        throw new ConfigException(
            "tls.refresh", "must be > 0, got " + Durations.format(tlsRefresh));
      }
      if (maxConnectionAge != null && maxConnectionAge.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new ConfigException(
            "transport.max_connection_age",
            "must be at least 1s, got " + Durations.format(maxConnectionAge));
      }
      if (dashboardMaxStreams < 1 || dashboardMaxStreams > MAX_DASHBOARD_STREAMS) {
        throw new ConfigException(
            "dashboard.max_streams",
            "must be 1.." + MAX_DASHBOARD_STREAMS + ", got " + dashboardMaxStreams);
      }
      try {
        TokenRegistry.of(tokens);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("auth.tokens", e.getMessage());
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
          dashboardEnabled,
          dashboardMaxStreams);
    }

    private Optional<TlsSettings> tls() {
      if (tlsCert == null && tlsKey == null) {
        if (tlsClientCa != null) {
          throw new ConfigException("tls.client_ca", "needs tls.cert and tls.key");
        }
        if (tlsRequireClientCert) {
          throw new ConfigException("tls.require_client_cert", "needs tls.cert and tls.key");
        }
        return Optional.empty();
      }
      if (tlsCert == null) {
        throw new ConfigException("tls.cert", "is required when tls.key is set");
      }
      if (tlsKey == null) {
        throw new ConfigException("tls.key", "is required when tls.cert is set");
      }
      if (tlsRequireClientCert && tlsClientCa == null) {
        throw new ConfigException("tls.require_client_cert", "needs tls.client_ca");
      }
      return Optional.of(
          new TlsSettings(tlsCert, tlsKey, tlsClientCa, tlsRequireClientCert, tlsRefresh));
    }
  }
}
