package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.Daemon;
import dev.berth.server.config.ConfigSources;
import dev.berth.server.config.Flag;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.MemoryConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's answers to the broker's pushes — revoke, drain, cleanup — with a real broker on
 * loopback (in this JVM, so the test can push) and the worker running in-process on real Chromium.
 */
class WorkerPushesIT {
  private static final Path CHROMIUM = WorkerCommand.DEFAULT_CHROMIUM;

  @TempDir Path dir;

  private FakeSites sites;
  private Daemon daemon;
  private final ByteArrayOutputStream output = new ByteArrayOutputStream();

  @BeforeAll
  static void needsChromium() {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM),
        "skipped: no Chromium at " + CHROMIUM + " (apt-get install chromium; bin/test does)");
  }

  @BeforeEach
  void start() throws IOException {
    sites = new FakeSites(200, Set.of());
    startDaemon(Path.of(System.getProperty("berth.extractor.wasm", "../src/wasm/extractor.wasm")));
  }

  /** Starts the broker with {@code wasm} as its extractor module. */
  private void startDaemon(Path wasm) throws IOException {
    ConfigSources sources =
        ConfigSources.of(
            null,
            Map::of,
            List.of(
                new Flag("--listen", "127.0.0.1:0"),
                new Flag("--state-dir", dir.resolve("state").toString()),
                new Flag("--heartbeat-interval", "500ms"),
                new Flag("--session-ttl", "5s"),
                new Flag("--sweep-interval", "100ms"),
                new Flag("--rate_limit.default_rate", "100"),
                new Flag("--rate_limit.default_burst", "100"),
                new Flag("--shutdown_grace", "2s"),
                new Flag("--metrics.listen", "off"),
                new Flag("--wasm-module", "extractor=" + wasm.toAbsolutePath() + ":alloc,extract"),
                new Flag("--wasm.idle_timeout", "5m")));
    daemon = Daemon.start(sources.load(), sources, settings -> {});
  }

  @AfterEach
  void stop() {
    if (daemon != null) {
      daemon.close();
    }
    if (sites != null) {
      sites.close();
    }
  }

  /** Runs the worker in this JVM on another thread; completes with its exit status. */
  private CompletableFuture<Integer> runWorker(List<String> urls, String... extraArgs)
      throws IOException {
    Path urlFile = Files.write(dir.resolve("urls.txt"), urls);
    List<String> args =
        new ArrayList<>(
            List.of(
                "--broker",
                "127.0.0.1:" + daemon.port(),
                "--urls",
                urlFile.toString(),
                "--out",
                dir.resolve("out").toString(),
                "--worker-id",
                "pushed",
                "--chromium",
                CHROMIUM.toString(),
                "--chromium-arg",
                "--host-resolver-rules=MAP *.test 127.0.0.1"));
    args.addAll(List.of(extraArgs));
    PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);
    return CompletableFuture.supplyAsync(() -> WorkerMain.run(args, out, out, Map.of()));
  }

  private String output() {
    return output.toString(StandardCharsets.UTF_8);
  }

  private Optional<Lease> renderLeaseFor(String host) {
    return daemon.broker().leases().stream()
        .filter(l -> l.kind() == ResourceKind.RENDER && l.host().equals(host))
        .findFirst();
  }

  private void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime())
          .as("waiting for %s; output:\n%s", what, output())
          .isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private long results() throws IOException {
    Path out = dir.resolve("out");
    if (!Files.isDirectory(out)) {
      return 0;
    }
    try (var files = Files.list(out)) {
      return files.filter(f -> f.toString().endsWith(".json")).count();
    }
  }

  private String resultOf(String url) throws IOException {
    return Files.readString(dir.resolve("out").resolve(ResultWriter.name(url) + ".json"));
  }

  @Test
  void revoke_whilePageLoads_abortsThatPageAtOnce_andTheRestGoesOn() throws Exception {
    String slow = "http://slow.test:" + sites.port() + "/slow/1";
    String next = sites.url("a.test", 2);
    CompletableFuture<Integer> worker = runWorker(List.of(slow, next));

    await("the slow page's RENDER lease", () -> renderLeaseFor("slow.test").isPresent());
    Thread.sleep(1000); // the page's request is now waiting on the slow site
    Lease lease = renderLeaseFor("slow.test").orElseThrow();
    long revokedAt = System.nanoTime();
    daemon.broker().revoke(lease.id(), RevokeReason.ADMIN, Duration.ZERO);

    await("the slow page's result", () -> exists(slow));
    Duration abortedAfter = Duration.ofNanos(System.nanoTime() - revokedAt);
    assertThat(abortedAfter).isLessThan(Duration.ofSeconds(10));
    assertThat(resultOf(slow))
        .contains("\"ok\": false")
        .contains("aborted: RENDER lease revoked (ADMIN)");
    assertThat(worker.get(60, TimeUnit.SECONDS)).as("a failed page exits 1").isEqualTo(1);
    assertThat(resultOf(next)).contains("\"ok\": true");
    assertThat(daemon.broker().leases()).isEmpty();
    System.out.printf(
        "revoke: page aborted %.1fs after the revoke%n", abortedAfter.toMillis() / 1e3);
  }

  @Test
  void pageThatNeverYields_failsWithinItsTimeout_andItsBrowserAloneIsReplaced() throws Exception {
    String loop = sites.loopUrl("loop.test");
    List<String> urls = new ArrayList<>(List.of(loop));
    // Enough pages that the other browser cannot finish them alone before the loop is stopped
    // (each takes at least the site's 200 ms): the first thread relaunches and renders some too.
    for (int page = 1; page <= 30; page++) {
      urls.add(sites.url("a.test", page));
    }
    long started = System.nanoTime();
    // Two browsers: the other one renders a.test meanwhile, and must not be killed with it. With
    // PDFs, two pages at once share the session's WASM lease, which neither may release.
    CompletableFuture<Integer> worker =
        runWorker(urls, "--navigation-timeout", "3s", "--concurrency", "2", "--pdf");

    await("the looping page's result", () -> exists(loop));
    Duration failedAfter = Duration.ofNanos(System.nanoTime() - started);
    assertThat(failedAfter).isLessThan(Duration.ofSeconds(20));
    assertThat(resultOf(loop))
        .contains("\"ok\": false")
        .contains("the page did not finish within 3.0s; its browser was killed");
    assertThat(worker.get(60, TimeUnit.SECONDS)).as("output:\n%s", output()).isEqualTo(1);
    for (String url : urls.subList(1, urls.size())) {
      assertThat(resultOf(url))
          .as("output:\n%s", output())
          .contains("\"ok\": true")
          .containsPattern("\"pdf\": \"[^\"]+\\.pdf\"");
    }
    assertThat(output()).doesNotContain("replaced by");
    assertThat(output()).contains("the browser went away; starting another");
    assertThat(daemon.broker().leases()).isEmpty();
    System.out.printf("loop: page failed %.1fs after start%n", failedAfter.toMillis() / 1e3);
  }

  @Test
  void resultThatCannotBeWritten_failsThatPageAlone_andTheRestGoesOn() throws Exception {
    String blocked = sites.url("a.test", 1);
    String next = sites.url("a.test", 2);
    // A directory in the way of the first page's result: the move onto it fails.
    Path target = dir.resolve("out").resolve(ResultWriter.name(blocked) + ".json");
    Files.createDirectories(target);
    Files.writeString(target.resolve("in-the-way"), "x");

    CompletableFuture<Integer> worker = runWorker(List.of(blocked, next));

    assertThat(worker.get(60, TimeUnit.SECONDS)).as("output:\n%s", output()).isEqualTo(1);
    assertThat(output())
        .contains("[1/2] " + blocked + " 200 cannot write " + target)
        .contains("done: 2/2 pages (1 ok, 1 failed)");
    assertThat(resultOf(next)).contains("\"ok\": true");
    assertThat(daemon.broker().leases()).isEmpty();
  }

  private boolean exists(String url) {
    return Files.exists(dir.resolve("out").resolve(ResultWriter.name(url) + ".json"));
  }

  @Test
  void extractorThatNeverReturns_failsEachPageWithinItsTimeout_andTheWorkerEnds() throws Exception {
    daemon.close();
    Path loop = Files.write(dir.resolve("loop.wasm"), ExtractorTest.BadModules.LOOP);
    startDaemon(loop);
    List<String> urls = new ArrayList<>();
    for (int page = 1; page <= 3; page++) {
      urls.add(sites.url("a.test", page));
    }
    long started = System.nanoTime();

    // Two threads share the session's one instance: one runs the module, the other waits for it.
    CompletableFuture<Integer> worker =
        runWorker(urls, "--navigation-timeout", "3s", "--concurrency", "2");

    assertThat(worker.get(60, TimeUnit.SECONDS)).as("output:\n%s", output()).isEqualTo(1);
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    for (String url : urls) {
      assertThat(resultOf(url))
          .as("output:\n%s", output())
          .contains("\"ok\": false")
          .contains("extraction: the page did not finish within 3.0s");
    }
    assertThat(output()).contains("instantiated again after a failed extraction");
    assertThat(daemon.broker().leases()).isEmpty();
    System.out.printf("looping extractor: 3 pages failed in %.1fs%n", took.toMillis() / 1e3);
  }

  @Test
  void drain_finishesCurrentPage_acquiresNothingNew_andExitsZero() throws Exception {
    List<String> urls = new ArrayList<>();
    for (int page = 1; page <= 8; page++) {
      urls.add(sites.url("a.test", page));
    }
    CompletableFuture<Integer> worker = runWorker(urls);

    await("a first result", () -> uncheckedResults() >= 1);
    daemon.broker().drainBroker(false, Duration.ofSeconds(30));

    assertThat(worker.get(60, TimeUnit.SECONDS)).as("output:\n%s", output()).isZero();
    assertThat(results()).isBetween(1L, 7L);
    assertThat(output()).contains("drain: the broker asks to finish").contains("not attempted");
    assertThat(daemon.broker().leases()).isEmpty();
  }

  private long uncheckedResults() {
    try {
      return results();
    } catch (IOException e) {
      return 0;
    }
  }

  @Test
  void cleanup_underMemoryPressure_closesIdleBrowserContexts() throws Exception {
    Policy relaxed = daemon.broker().policy();
    List<String> urls =
        List.of(sites.url("a.test", 1), sites.url("b.test", 1), sites.url("c.test", 1));
    CompletableFuture<Integer> worker = runWorker(urls);

    await("a first result", () -> uncheckedResults() >= 1);
    // A fleet limit far below what a JVM with a browser uses: pressure, and a cleanup push.
    daemon
        .broker()
        .updatePolicy(
            relaxed.withMemory(
                MemoryConfig.newBuilder()
                    .fleetLimitMb(10)
                    .cleanupInterval(Duration.ofSeconds(1))
                    .build()));
    await("the cleanup push", () -> output().contains("cleanup: the broker asks to free"));
    daemon.broker().updatePolicy(relaxed);

    assertThat(worker.get(60, TimeUnit.SECONDS)).as("output:\n%s", output()).isZero();
    assertThat(output()).containsPattern("cleanup: closed [1-9]\\d* idle browser context");
    assertThat(results()).isEqualTo(3);
  }
}
