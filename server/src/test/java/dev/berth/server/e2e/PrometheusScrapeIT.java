package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.server.config.DistFilesTest;
import dev.berth.server.metrics.ExternalTools;
import dev.berth.testkit.DaemonProcess;
import io.grpc.ManagedChannel;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus (Debian's) scrapes a real daemon every second with the shipped rules loaded,
 * and its HTTP API answers the pool-utilization recording rule with what a worker holds: 3 of 8
 * RENDER slots, then 2 of 8 after a release.
 */
class PrometheusScrapeIT {
  private static final int RENDER_LIMIT = 8;
  private static final Duration SETTLE = Duration.ofSeconds(60);
  private static final String UTILIZATION = "berth:pool_utilization:ratio{kind=\"render\"}";

  @TempDir Path dir;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void recordingRule_poolUtilization_answersHeldOverLimit() throws Exception {
    Path prometheus = ExternalTools.require("prometheus", "prometheus");
    int metricsPort = DaemonProcess.freePort();
    try (DaemonProcess daemon =
        DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
            .metricsListen("127.0.0.1:" + metricsPort)
            .flags("--render-limit", String.valueOf(RENDER_LIMIT))
            .start()) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession session = new LiveSession(channel, "prometheus-it")) {
        List<String> leases = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          AcquireResponse r = session.acquireRender("https://site" + i + ".example/", 0);
          assertThat(r.hasGranted()).as("grant %d: %s", i, r).isTrue();
          leases.add(r.getGranted().getLeaseId());
        }
        int port = DaemonProcess.freePort();
        Process server = startPrometheus(prometheus, metricsPort, port);
        try {
          assertThat(awaitValue(port, UTILIZATION, 3.0 / RENDER_LIMIT))
              .as("%s with 3 of %d held", UTILIZATION, RENDER_LIMIT)
              .hasValue(3.0 / RENDER_LIMIT);
          assertThat(awaitValue(port, "up{job=\"berth\"}", 1.0)).hasValue(1.0);

          session.release(leases.get(0));

          assertThat(awaitValue(port, UTILIZATION, 2.0 / RENDER_LIMIT))
              .as("%s after a release", UTILIZATION)
              .hasValue(2.0 / RENDER_LIMIT);
        } finally {
          server.destroy();
          if (!server.waitFor(10, TimeUnit.SECONDS)) {
            server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
          }
        }
      } finally {
        channel.shutdownNow();
      }
    }
  }

  private Process startPrometheus(Path prometheus, int metricsPort, int port) throws Exception {
    Path rules = DistFilesTest.repo().resolve("src/dist/prometheus/berth.rules.yml");
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(
        config,
        "global:\n"
            + "  scrape_interval: 1s\n"
            + "  evaluation_interval: 1s\n"
            + "rule_files:\n"
            + "  - "
            + rules
            + "\n"
            + "scrape_configs:\n"
            + "  - job_name: berth\n"
            + "    static_configs:\n"
            + "      - targets: ['127.0.0.1:"
            + metricsPort
            + "']\n");
    return new ProcessBuilder(
            prometheus.toString(),
            "--config.file=" + config,
            "--storage.tsdb.path=" + dir.resolve("tsdb"),
            "--web.listen-address=127.0.0.1:" + port,
            "--log.level=warn")
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("prometheus.log").toFile())
        .start();
  }

  /**
   * Asks {@code /api/v1/query} for {@code query} until its single sample equals {@code want} or
   * {@link #SETTLE} passes; returns the last value seen (empty when there was none).
   */
  private OptionalDouble awaitValue(int port, String query, double want) throws Exception {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    OptionalDouble last = OptionalDouble.empty();
    while (System.nanoTime() < deadline) {
      last = query(port, query);
      if (last.isPresent() && Math.abs(last.getAsDouble() - want) < 1e-9) {
        return last;
      }
      Thread.sleep(250);
    }
    System.out.println(Files.readString(dir.resolve("prometheus.log")));
    return last;
  }

  private OptionalDouble query(int port, String query) throws Exception {
    HttpResponse<String> response;
    try {
      response =
          http.send(
              HttpRequest.newBuilder(
                      URI.create(
                          "http://127.0.0.1:"
                              + port
                              + "/api/v1/query?query="
                              + URLEncoder.encode(query, StandardCharsets.UTF_8)))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      return OptionalDouble.empty(); // Prometheus not listening yet
    }
    if (response.statusCode() != 200) {
      return OptionalDouble.empty();
    }
    JsonObject body = JsonParser.parseString(response.body()).getAsJsonObject();
    JsonArray result = body.getAsJsonObject("data").getAsJsonArray("result");
    if (result.size() != 1) {
      return OptionalDouble.empty();
    }
    return OptionalDouble.of(
        Double.parseDouble(
            result.get(0).getAsJsonObject().getAsJsonArray("value").get(1).getAsString()));
  }
}
