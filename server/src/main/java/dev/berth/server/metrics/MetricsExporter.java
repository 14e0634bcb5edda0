package dev.berth.server.metrics;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.jmx.JmxReporter;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * Publishes a {@link BrokerMetrics} registry: as Prometheus text on {@code
 * http://HOST:PORT/metrics} and, when enabled, as JMX MBeans in the {@code dev.berth} domain.
 * Closing stops both.
 *
 * <p>Thread-safe.
 */
public final class MetricsExporter implements AutoCloseable {
  /** The JMX domain of Berth's MBeans. */
  public static final String JMX_DOMAIN = "dev.berth";

  private final HTTPServer http;
  private final JmxReporter jmx;

  private MetricsExporter(HTTPServer http, JmxReporter jmx) {
    this.http = http;
    this.jmx = jmx;
  }

  /**
   * Starts exporting.
   *
   * @param listen where to serve Prometheus text; empty for no HTTP endpoint (port 0 picks one)
   * @param withJmx whether to register JMX MBeans
   * @throws UncheckedIOException when the HTTP port cannot be bound
   */
  public static MetricsExporter start(
      MetricRegistry registry,
      BrokerMetrics metrics,
      Optional<InetSocketAddress> listen,
      boolean withJmx) {
    HTTPServer http = null;
    if (listen.isPresent()) {
      PrometheusRegistry prometheus = new PrometheusRegistry();
      prometheus.register(
          new LabelledExports(
              new DropwizardExports(registry), metrics.families(), metrics::refresh));
      try {
        http =
            HTTPServer.builder()
                .hostname(listen.get().getHostString())
                .port(listen.get().getPort())
                .registry(prometheus)
                .buildAndStart();
      } catch (IOException e) {
        throw new UncheckedIOException(
            "metrics.listen: cannot listen on "
                + listen.get().getHostString()
                + ":"
                + listen.get().getPort()
                + ": "
                + e.getMessage(),
            e);
      }
    }
    JmxReporter jmx = null;
    if (withJmx) {
      jmx = JmxReporter.forRegistry(registry).inDomain(JMX_DOMAIN).build();
      jmx.start();
    }
    return new MetricsExporter(http, jmx);
  }

  /** The Prometheus HTTP port, or -1 when the endpoint is off. */
  public int port() {
    return http == null ? -1 : http.getPort();
  }

  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
    if (jmx != null) {
      jmx.stop();
    }
  }
}
