package dev.berth.server.web;

import com.sun.net.httpserver.HttpHandler;
import dev.berth.server.broker.Broker;
import dev.berth.server.config.DaemonSettings;
import dev.berth.server.http.HttpListener;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.metrics.MetricsExporter;
import dev.berth.server.metrics.StreamDrops;
import dev.berth.server.replication.ServingRole;
import dev.berth.server.security.HttpsTls;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.time.TimeSource;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the daemon serves on {@code metrics.listen}: the Prometheus scrape at {@code /metrics} and,
 * unless {@code dashboard.enabled} is false, the dashboard at {@code /}; over HTTPS with the
 * daemon's certificate when {@code tls.*} is configured.
 *
 * <p>Thread-safe.
 */
public final class WebFront implements AutoCloseable {
  /** Request threads beyond those the dashboard's streams may hold, for scrapes and the page. */
  static final int SPARE_THREADS = 4;

  private final HttpListener server;
  private final Dashboard dashboard;

  private WebFront(HttpListener server, Dashboard dashboard) {
    this.server = server;
    this.dashboard = dashboard;
  }

  /**
   * Starts serving, or returns empty when {@code metrics.listen} is off.
   *
   * @param tls HTTPS credentials; empty for plain HTTP
   * @param role the broker's place in a cluster, for the dashboard's cluster section
   * @throws java.io.UncheckedIOException naming {@code metrics.listen} when it cannot be bound
   */
  public static Optional<WebFront> start(
      DaemonSettings settings,
      Broker broker,
      TimeSource time,
      MetricsExporter exporter,
      StreamDrops drops,
      Optional<HttpsTls> tls,
      ServingRole role) {
    if (settings.metricsListen().isEmpty()) {
      return Optional.empty();
    }
    InetSocketAddress listen = settings.metricsListen().get();
    Map<String, HttpHandler> handlers = new LinkedHashMap<>();
    handlers.put(MetricsExporter.SCRAPE_PATH, exporter.scrapeHandler());
    Dashboard dashboard = null;
    int threads = SPARE_THREADS;
    if (settings.dashboardEnabled()) {
      dashboard =
          Dashboard.start(
              broker,
              time,
              HeapProbe.jvm(),
              TokenRegistry.of(settings.tokens()),
              isLoopback(listen),
              settings.dashboardMaxStreams(),
              drops,
              role);
      handlers.put("/", dashboard);
      threads += settings.dashboardMaxStreams();
    }
    try {
      return Optional.of(
          new WebFront(
              HttpListener.start("metrics.listen", listen, tls, threads, handlers), dashboard));
    } catch (RuntimeException e) {
      if (dashboard != null) {
        dashboard.close();
      }
      throw e;
    }
  }

  /** Whether {@code address} is on loopback (a wildcard address is not). */
  static boolean isLoopback(InetSocketAddress address) {
    try {
      InetAddress ip =
          address.isUnresolved()
              ? InetAddress.getByName(address.getHostString())
              : address.getAddress();
      return ip.isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  public int port() {
    return server.port();
  }

  /** Whether the dashboard is served at {@code /}. */
  public boolean dashboard() {
    return dashboard != null;
  }

  /** Puts reloaded tokens in force for dashboard requests that arrive from now on. */
  public void replaceTokens(TokenRegistry tokens) {
    if (dashboard != null) {
      dashboard.replaceTokens(tokens);
    }
  }

  /** Ends the dashboard's streams, then stops listening. */
  @Override
  public void close() {
    if (dashboard != null) {
      dashboard.close();
    }
    server.close();
  }
}
