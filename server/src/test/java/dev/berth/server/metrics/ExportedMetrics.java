package dev.berth.server.metrics;

import com.codahale.metrics.MetricRegistry;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.http.HttpListener;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.time.FakeTimeSource;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the daemon exports, read the way Prometheus reads it: a broker with its metrics, served by
 * the daemon's own listener on loopback and scraped over HTTP once.
 */
public final class ExportedMetrics {
  private ExportedMetrics() {}

  /** One scrape of a fresh lone broker. */
  public static PrometheusText scrape() throws Exception {
    return scrape(false);
  }

  /**
   * One scrape of a fresh broker; {@code clustered}, with the families a cluster member exports as
   * well (Raft, replication and journal).
   */
  public static PrometheusText scrape(boolean clustered) throws Exception {
    FakeTimeSource time = new FakeTimeSource();
    Broker broker =
        new Broker(
            Policy.of(BrokerConfig.newBuilder().build()),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(1),
            HeapProbe.NONE);
    MetricRegistry registry = new MetricRegistry();
    BrokerMetrics metrics = new BrokerMetrics(registry, broker::status, time, 20);
    if (clustered) {
      metrics.cluster(() -> 1, () -> true);
      metrics.replication(
          new BrokerMetrics.Replication(
              () -> 0, () -> 0, kind -> 0, () -> 0, () -> 0, () -> 0, () -> 0));
      metrics.journalBatchSizes();
    }
    MetricsExporter exporter = MetricsExporter.start(registry, metrics, false);
    try (HttpListener web =
        HttpListener.start(
            "metrics.listen",
            InetSocketAddress.createUnresolved("127.0.0.1", 0),
            Optional.empty(),
            1,
            Map.of("/metrics", exporter.scrapeHandler()))) {
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web.port() + "/metrics"))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      return PrometheusText.parse(response.body());
    } finally {
      exporter.close();
      broker.close();
    }
  }

  /** Every sample name a scrape carries, e.g. {@code berth_grants_total}, {@code ..._count}. */
  public static Set<String> sampleNames(PrometheusText text) {
    Set<String> names = new TreeSet<>();
    for (String key : text.samples.keySet()) {
      int brace = key.indexOf('{');
      names.add(brace < 0 ? key : key.substring(0, brace));
    }
    return names;
  }
}
