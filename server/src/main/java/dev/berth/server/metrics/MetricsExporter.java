package dev.berth.server.metrics;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.jmx.JmxReporter;
import com.sun.net.httpserver.HttpHandler;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Publishes a {@link BrokerMetrics} registry: as a Prometheus scrape handler (text, OpenMetrics or
 * protobuf, as the scraper asks) that the daemon's HTTP listener serves at {@code /metrics}, and,
 * when enabled, as JMX MBeans in the {@code dev.berth} domain. Closing stops JMX; the listener is
 * closed by its owner ({@code dev.berth.server.web.WebServer}).
 *
 * <p>Thread-safe.
 */
public final class MetricsExporter implements AutoCloseable {
  /** The JMX domain of Berth's MBeans. */
  public static final String JMX_DOMAIN = "dev.berth";

  private final HttpHandler scrape;
  private final JmxReporter jmx;

  private MetricsExporter(HttpHandler scrape, JmxReporter jmx) {
    this.scrape = scrape;
    this.jmx = jmx;
  }

  /**
   * Starts exporting.
   *
   * @param withJmx whether to register JMX MBeans
   */
  public static MetricsExporter start(
      MetricRegistry registry, BrokerMetrics metrics, boolean withJmx) {
    PrometheusRegistry prometheus = new PrometheusRegistry();
    prometheus.register(
        new LabelledExports(new DropwizardExports(registry), metrics.families(), metrics::refresh));
    JmxReporter jmx = null;
    if (withJmx) {
      jmx = JmxReporter.forRegistry(registry).inDomain(JMX_DOMAIN).build();
      jmx.start();
    }
    return new MetricsExporter(new MetricsHandler(prometheus), jmx);
  }

  /**
   * The Prometheus client's scrape handler over this registry, for {@code /metrics}: it answers
   * each scrape in the format the scraper's {@code Accept} header asks for.
   */
  public HttpHandler scrapeHandler() {
    return scrape;
  }

  @Override
  public void close() {
    if (jmx != null) {
      jmx.stop();
    }
  }
}
