package dev.berth.server.metrics;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.jmx.JmxReporter;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.prometheus.metrics.exporter.common.PrometheusHttpExchange;
import io.prometheus.metrics.exporter.common.PrometheusHttpRequest;
import io.prometheus.metrics.exporter.common.PrometheusHttpResponse;
import io.prometheus.metrics.exporter.common.PrometheusScrapeHandler;
import io.prometheus.metrics.exporter.httpserver.HttpExchangeAdapter;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a {@link BrokerMetrics} registry: as a Prometheus scrape handler (text, OpenMetrics or
 * protobuf, as the scraper asks) that the daemon's HTTP listener serves at {@code /metrics}, and,
 * when enabled, as JMX MBeans in the {@code dev.berth} domain. Closing stops JMX; the listener is
 * closed by its owner ({@code dev.berth.server.web.WebServer}).
 *
 * <p>Thread-safe.
 */
public final class MetricsExporter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MetricsExporter.class);

  /** The JMX domain of Berth's MBeans. */
  public static final String JMX_DOMAIN = "dev.berth";

  /** Where the scrape is served. */
  public static final String SCRAPE_PATH = "/metrics";

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
    return new MetricsExporter(new ScrapeHandler(new PrometheusScrapeHandler(prometheus)), jmx);
  }

  /**
   * The library's scrape over the JDK handler interface, less its log line for a scraper that went
   * away: the library logs every failed write of an answer as an error with its stack trace, so a
   * scraper that times out or is stopped mid-answer (a normal event) would flood the log, one trace
   * per scrape. Writes are the only input or output of a scrape, so a failed one is the client's
   * leaving, noted at DEBUG; anything else is answered 500 and logged by the library as before.
   */
  private static final class ScrapeHandler implements HttpHandler {
    private final PrometheusScrapeHandler scrape;

    ScrapeHandler(PrometheusScrapeHandler scrape) {
      this.scrape = scrape;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
      // Mounted at the prefix /metrics: /metricsfoo and /metrics/x are other pages, not scrapes.
      if (!SCRAPE_PATH.equals(exchange.getRequestURI().getPath())) {
        refuse(exchange, 404, "no such page; the scrape is at " + SCRAPE_PATH);
        return;
      }
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        refuse(exchange, 405, "the scrape takes GET or HEAD, not " + method);
        return;
      }
      scrape.handleRequest(new Exchange(new HttpExchangeAdapter(exchange)));
    }

    private static void refuse(HttpExchange exchange, int status, String message)
        throws IOException {
      byte[] body = (message + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
      try (exchange) {
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
      }
    }
  }

  /** The library's exchange, but for what a failed write does. */
  private static final class Exchange implements PrometheusHttpExchange {
    private final HttpExchangeAdapter adapter;

    Exchange(HttpExchangeAdapter adapter) {
      this.adapter = adapter;
    }

    @Override
    public PrometheusHttpRequest getRequest() {
      return adapter.getRequest();
    }

    @Override
    public PrometheusHttpResponse getResponse() {
      return adapter.getResponse();
    }

    @Override
    public void handleException(IOException e) {
      log.debug("a scraper left before its answer was sent: {}", e.toString());
    }

    @Override
    public void handleException(RuntimeException e) {
      adapter.handleException(e);
    }

    @Override
    public void close() {
      adapter.close();
    }
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
