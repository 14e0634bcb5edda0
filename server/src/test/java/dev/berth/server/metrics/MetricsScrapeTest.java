package dev.berth.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.codahale.metrics.MetricRegistry;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.broker.Statuses;
import dev.berth.server.broker.Views;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.http.HttpListener;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus endpoint end to end: a broker on a fake clock does real grants and refusals, the
 * exporter serves them on a free loopback port, and the test scrapes and parses the text.
 */
class MetricsScrapeTest {
  private static final String PRINCIPAL = "anonymous";

  private final FakeTimeSource time = new FakeTimeSource();
  private final MetricRegistry registry = new MetricRegistry();
  private Broker broker;
  private BrokerMetrics metrics;
  private MetricsExporter exporter;
  private HttpListener web;

  /** A status a test puts in place of the broker's; null for the broker's own. */
  private volatile Views.Status status;

  @BeforeEach
  void start() {
    Policy policy =
        Policy.of(BrokerConfig.newBuilder().limit(ResourceKind.RENDER, 2).build())
            .withRateLimit(
                RateLimitConfig.newBuilder()
                    .defaultRate(100)
                    .defaultBurst(100)
                    .host("example.com", 0.1, 1)
                    .build());
    broker = new Broker(policy, time, 1, () -> 2, LeaseIds.seeded(3), HeapProbe.NONE);
    metrics = new BrokerMetrics(registry, () -> status != null ? status : broker.status(), time, 1);
    broker.addListener(metrics);
    exporter = MetricsExporter.start(registry, metrics, false);
    web =
        HttpListener.start(
            "metrics.listen",
            InetSocketAddress.createUnresolved("127.0.0.1", 0),
            Optional.empty(),
            2,
            Map.of("/metrics", exporter.scrapeHandler()));
  }

  @AfterEach
  void stop() {
    web.close();
    exporter.close();
    broker.close();
  }

  private RecordingAcquireCallback acquire(String session, String url) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    broker.acquire(
        AcquireSpec.validate(session, ResourceKind.RENDER, url, "", null, "", 0, 0),
        PRINCIPAL,
        callback);
    return callback;
  }

  private PrometheusText scrape() throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> response =
        client.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web.port() + "/metrics"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
    return PrometheusText.parse(response.body());
  }

  @Test
  void scrape_ofAClusterMember_showsItsTermWhetherItLeadsAndTheLeaderChangesItSaw()
      throws Exception {
    AtomicLong term = new AtomicLong(3);
    AtomicBoolean serving = new AtomicBoolean(false);
    Runnable leaderChanged = metrics.cluster(term::get, serving::get);
    assertThat(scrape().value("berth_raft_leader")).isEqualTo(0.0);
    leaderChanged.run();
    leaderChanged.run();
    term.set(5);
    serving.set(true);

    PrometheusText m = scrape();

    assertThat(m.types)
        .containsEntry("berth_raft_term", "gauge")
        .containsEntry("berth_raft_leader", "gauge")
        .containsEntry("berth_raft_leader_changes_total", "counter");
    assertThat(m.value("berth_raft_term")).isEqualTo(5.0);
    assertThat(m.value("berth_raft_leader")).isEqualTo(1.0);
    assertThat(m.value("berth_raft_leader_changes_total")).isEqualTo(2.0);
  }

  @Test
  void scrape_ofAClusterMember_showsItsReplicationLagsAndJournal() throws Exception {
    metrics.replication(
        new BrokerMetrics.Replication(
            () -> 7,
            () -> 2,
            kind -> kind == dev.berth.server.lease.ResourceKind.RENDER ? 3 : 0,
            () -> 10,
            () -> 45,
            () -> 30,
            () -> 12));

    PrometheusText m = scrape();

    assertThat(m.types)
        .containsEntry("berth_raft_commit_lag", "gauge")
        .containsEntry("berth_journal_uncommitted_grants", "gauge");
    assertThat(m.value("berth_raft_commit_lag")).isEqualTo(7.0);
    assertThat(m.value("berth_raft_apply_lag")).isEqualTo(2.0);
    assertThat(m.value("berth_journal_uncommitted_grants", "kind", "render")).isEqualTo(3.0);
    assertThat(m.value("berth_journal_entries")).isEqualTo(45.0);
    assertThat(m.value("berth_journal_entries_folded")).isEqualTo(30.0);
    assertThat(m.value("berth_journal_largest_batch")).isEqualTo(12.0);
  }

  @Test
  void scrape_ofALeaderThatSentJournalBatches_showsTheirSizesAsASummary() throws Exception {
    java.util.function.IntConsumer batchSent = metrics.journalBatchSizes();
    for (int entries : new int[] {1, 3, 3, 40}) {
      batchSent.accept(entries);
    }

    PrometheusText m = scrape();

    assertThat(m.types).containsEntry("berth_journal_batch_size", "summary");
    assertThat(m.value("berth_journal_batch_size_count")).isEqualTo(4.0);
    assertThat(m.value("berth_journal_batch_size", "quantile", "0.5")).isEqualTo(3.0);
    assertThat(m.value("berth_journal_batch_size", "quantile", "0.99")).isEqualTo(40.0);
  }

  @Test
  void scrape_afterGrantsAndRefusals_showsThemByKindReasonAndHost() throws Exception {
    String session =
        broker
            .open(
                HelloSpec.validate("w1", Map.of(), 0, "", List.of()),
                PRINCIPAL,
                new RecordingSessionChannel())
            .sessionId();
    Lease first = acquire(session, "https://example.com/a").granted();
    assertThat(acquire(session, "https://example.com/b").refused().reason())
        .isEqualTo(RefusalReason.RATE_LIMITED);
    acquire(session, "https://b.example.org/").granted();
    assertThat(acquire(session, "https://c.example.net/").refused().reason())
        .isEqualTo(RefusalReason.EXHAUSTED);
    broker.release(session, first.id(), PRINCIPAL, Outcome.UNKNOWN);
    metrics.answered(ResourceKind.RENDER, TimeUnit.MILLISECONDS.toNanos(5), false);
    metrics.answered(ResourceKind.RENDER, TimeUnit.MILLISECONDS.toNanos(5), false);
    metrics.answered(ResourceKind.PDF, TimeUnit.MILLISECONDS.toNanos(250), true);

    PrometheusText m = scrape();

    assertThat(m.types).containsEntry("berth_grants_total", "counter");
    assertThat(m.value("berth_grants_total", "kind", "render")).isEqualTo(2.0);
    assertThat(m.value("berth_grants_total", "kind", "pdf")).isEqualTo(0.0);
    assertThat(m.value("berth_refusals_total", "kind", "render", "reason", "rate_limited"))
        .isEqualTo(1.0);
    assertThat(m.value("berth_refusals_total", "kind", "render", "reason", "exhausted"))
        .isEqualTo(1.0);
    assertThat(m.value("berth_refusals_total", "kind", "wasm", "reason", "timeout")).isZero();
    assertThat(m.value("berth_leases_ended_total", "kind", "render", "how", "released"))
        .isEqualTo(1.0);

    // One host series (metrics.host_series = 1); the second refused host counts as other.
    assertThat(m.value("berth_host_refusals_total", "host", "example.com")).isEqualTo(1.0);
    assertThat(m.value("berth_host_refusals_total", "host", "other")).isEqualTo(1.0);
    assertThat(m.samples.keySet())
        .filteredOn(k -> k.startsWith("berth_host_refusals_total"))
        .hasSize(2);

    assertThat(m.types).containsEntry("berth_leases_in_use", "gauge");
    assertThat(m.value("berth_leases_in_use", "kind", "render")).isEqualTo(1.0);
    assertThat(m.value("berth_pool_limit", "kind", "render")).isEqualTo(2.0);
    assertThat(m.value("berth_pool_effective_limit", "kind", "pdf")).isEqualTo(2.0);
    assertThat(m.value("berth_pool_queued", "kind", "render")).isZero();
    assertThat(m.value("berth_sessions", "state", "connected")).isEqualTo(1.0);
    assertThat(m.value("berth_sessions", "state", "disconnected")).isZero();
    assertThat(m.value("berth_sessions_opened_total", "how", "new")).isEqualTo(1.0);
    assertThat(m.value("berth_memory_pressure_level")).isZero();
    assertThat(m.value("berth_degradation_score")).isZero();
    assertThat(m.value("berth_draining")).isZero();

    assertThat(m.types).containsEntry("berth_acquire_latency_seconds", "summary");
    assertThat(m.value("berth_acquire_latency_seconds_count", "kind", "render")).isEqualTo(2.0);
    // Quantiles come from a histogram with two significant digits: within 1 %.
    assertThat(m.value("berth_acquire_latency_seconds", "kind", "render", "quantile", "0.5"))
        .isCloseTo(0.005, within(0.005 * 0.01));
    assertThat(m.value("berth_acquire_queue_wait_seconds_count", "kind", "render")).isZero();
    assertThat(m.value("berth_acquire_queue_wait_seconds_count", "kind", "pdf")).isEqualTo(1.0);
    assertThat(m.value("berth_acquire_queue_wait_seconds", "kind", "pdf", "quantile", "0.99"))
        .isCloseTo(0.25, within(0.25 * 0.01));
    assertThat(m.help.get("berth_refusals_total")).contains("by kind and reason");
  }

  /**
   * A lease a worker re-declares after a restart keeps its id and token: it was granted by the run
   * before, so it is in use again but no grant, as GetStatus's totals count it.
   */
  @Test
  void scrape_afterARestartTookBackADeclaredLease_showsItInUseButCountsNoGrant() throws Exception {
    broker.close();
    broker =
        new Broker(
            Policy.of(BrokerConfig.newBuilder().limit(ResourceKind.RENDER, 2).build()),
            time,
            2,
            () -> 3,
            LeaseIds.seeded(5),
            HeapProbe.NONE);
    broker.addListener(metrics);
    Broker.Opened opened =
        broker.open(
            HelloSpec.validate(
                "w1",
                Map.of(),
                0,
                "s-old",
                List.of(
                    new HelloSpec.HeldLease(
                        "l1",
                        FencingTokens.firstTokenOf(1) + 5,
                        ResourceKind.RENDER,
                        "example.com",
                        "",
                        300))),
            PRINCIPAL,
            new RecordingSessionChannel());
    assertThat(opened.resumed()).isTrue();

    PrometheusText m = scrape();

    assertThat(m.value("berth_leases_in_use", "kind", "render")).isEqualTo(1.0);
    assertThat(m.value("berth_job_held", "crawl_job", "default", "kind", "render")).isEqualTo(1.0);
    assertThat(broker.status().counters().grants()).isZero();
    assertThat(m.value("berth_grants_total", "kind", "render")).isZero();
    assertThat(m.value("berth_job_grants_total", "crawl_job", "default", "kind", "render"))
        .isZero();
  }

  @Test
  void scrape_ofJobs_showsEachOnesMinThatAppliesNow_byKind() throws Exception {
    status = Statuses.withAScaledMin(broker.status()); // urgent: render min 4, 2 now

    PrometheusText m = scrape();

    assertThat(m.types).containsEntry("berth_job_guaranteed_min", "gauge");
    assertThat(m.value("berth_job_guaranteed_min", "crawl_job", "urgent", "kind", "render"))
        .isEqualTo(2.0);
    assertThat(m.value("berth_job_guaranteed_min", "crawl_job", "urgent", "kind", "pdf")).isZero();
    assertThat(m.value("berth_job_held", "crawl_job", "urgent", "kind", "render")).isEqualTo(1.0);
    assertThat(m.help.get("berth_job_guaranteed_min")).contains("min that applies now");
  }

  @Test
  void scrape_seesChangesBetweenScrapes_withoutWaitingForTheCache() throws Exception {
    assertThat(scrape().value("berth_sessions", "state", "connected")).isZero();

    broker.open(
        HelloSpec.validate("w1", Map.of(), 0, "", List.of()),
        PRINCIPAL,
        new RecordingSessionChannel());

    assertThat(scrape().value("berth_sessions", "state", "connected")).isEqualTo(1.0);
  }

  @Test
  void scrape_withTheEventLog_showsItsDroppedLines() throws Exception {
    metrics.eventLog(() -> 4);

    PrometheusText m = scrape();

    assertThat(m.types).containsEntry("berth_events_log_dropped", "gauge");
    assertThat(m.value("berth_events_log_dropped")).isEqualTo(4.0);
  }

  @Test
  void everyExportedFamily_isDocumented() throws Exception {
    Path dir = Path.of("").toAbsolutePath();
    while (!Files.exists(dir.resolve("docs/configuration.md"))) {
      dir = dir.getParent();
    }
    Set<String> documented =
        Files.readString(dir.resolve("docs/configuration.md"))
            .lines()
            .filter(l -> l.startsWith("| `berth_"))
            .map(l -> l.substring(3, l.indexOf('`', 3)))
            .collect(Collectors.toSet());
    metrics.cluster(() -> 1, () -> true); // a cluster member's families too
    metrics.eventLog(() -> 0); // and those of a daemon with events.log on
    metrics.replication(
        new BrokerMetrics.Replication(
            () -> 0, () -> 0, kind -> 0, () -> 0, () -> 0, () -> 0, () -> 0));
    metrics.journalBatchSizes();

    assertThat(documented).containsExactlyInAnyOrderElementsOf(scrape().types.keySet());
  }

  @Test
  void manyRefusedHosts_costNoNewSeries() throws Exception {
    String session =
        broker
            .open(
                HelloSpec.validate("w1", Map.of(), 0, "", List.of()),
                PRINCIPAL,
                new RecordingSessionChannel())
            .sessionId();
    acquire(session, "https://a.example/").granted();
    acquire(session, "https://b.example/").granted();
    for (int i = 0; i < 50; i++) {
      acquire(session, "https://h" + i + ".example/").refused();
    }

    PrometheusText m = scrape();

    assertThat(m.samples.keySet())
        .filteredOn(k -> k.startsWith("berth_host_refusals_total"))
        .containsExactlyInAnyOrder(
            "berth_host_refusals_total{host=\"h0.example\"}",
            "berth_host_refusals_total{host=\"other\"}");
    assertThat(m.value("berth_host_refusals_total", "host", "other")).isEqualTo(49.0);
  }

  /**
   * A scraper that leaves before its answer is written (a scrape timeout, Ctrl-C) is the client's
   * doing: it is noted at DEBUG, not logged as an error with a stack trace once per scrape.
   */
  @Test
  void scraperLeavesBeforeTheAnswer_notedAtDebug_noErrorLogged() throws Exception {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(MetricsExporter.class);
    ch.qos.logback.classic.Level level = logger.getLevel();
    java.util.concurrent.CountDownLatch noted = new java.util.concurrent.CountDownLatch(1);
    List<ch.qos.logback.classic.spi.ILoggingEvent> errors =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    ch.qos.logback.core.AppenderBase<ch.qos.logback.classic.spi.ILoggingEvent> appender =
        new ch.qos.logback.core.AppenderBase<>() {
          @Override
          protected void append(ch.qos.logback.classic.spi.ILoggingEvent event) {
            if (event.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN)) {
              errors.add(event);
            } else if (event.getFormattedMessage().startsWith("a scraper left")) {
              noted.countDown();
            }
          }
        };
    appender.start();
    logger.setLevel(ch.qos.logback.classic.Level.DEBUG);
    logger.addAppender(appender);
    try {
      // An answer of many megabytes, more than the socket buffers hold: it is still being written
      // when the scraper, having read its first byte, resets the connection.
      for (int i = 0; i < 200_000; i++) {
        int value = i;
        registry.register(
            "berth.test.filler." + i, (com.codahale.metrics.Gauge<Integer>) () -> value);
      }
      try (java.net.Socket socket =
          new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), web.port())) {
        socket
            .getOutputStream()
            .write(
                "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(socket.getInputStream().read()).as("the answer has begun").isNotNegative();
        socket.setSoLinger(true, 0); // close with a reset, not a FIN
      }
      noted.await(30, TimeUnit.SECONDS);
      for (int i = 0; i < 200_000; i++) {
        registry.remove("berth.test.filler." + i);
      }
      assertThat(noted.getCount()).as("a scraper's leaving was noted").isZero();
      assertThat(scrape().types).as("the next scrape is answered").isNotEmpty();
    } finally {
      logger.detachAppender(appender);
      logger.setLevel(level);
    }
    assertThat(errors).isEmpty();
  }

  @Test
  void onlyGetOrHeadOfMetricsItself_isAScrape() throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String base = "http://127.0.0.1:" + web.port();

    HttpResponse<String> other =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/metricsfoo")).build(),
            HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> below =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/metrics/x")).build(),
            HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> post =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/metrics"))
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(other.statusCode()).isEqualTo(404);
    assertThat(other.body()).isEqualTo("no such page; the scrape is at /metrics\n");
    assertThat(below.statusCode()).isEqualTo(404);
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    assertThat(scrape().types).isNotEmpty();
  }
}
