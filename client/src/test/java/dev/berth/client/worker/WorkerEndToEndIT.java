package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.DaemonProcess;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole system over loopback with real processes: the daemon jar, a local web server with
 * several hosts (one answering 429 at first), and {@code berth worker} JVMs driving the system
 * Chromium. What the test checks is what the sites and the broker saw.
 */
class WorkerEndToEndIT {
  private static final Path CHROMIUM = WorkerCommand.DEFAULT_CHROMIUM;
  private static final int RENDER_LIMIT = 2;
  private static final double HOST_RATE = 1.0;
  private static final int HOST_BURST = 1;
  private static final Duration TTL = Duration.ofSeconds(4);

  /**
   * How much later than its grant a page's request may reach the site (context and page setup in a
   * loaded browser). Two grants a full rate interval apart can look closer by this much.
   */
  private static final double GRANT_TO_REQUEST_SLACK_SECONDS = 0.5;

  private static final List<String> HOSTS = List.of("a.test", "b.test", "c.test", "busy.test");

  @TempDir Path dir;

  @BeforeAll
  static void needsChromium() {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM),
        "skipped: no Chromium at " + CHROMIUM + " (apt-get install chromium; bin/test does)");
  }

  private LiveBroker startDaemon() throws Exception {
    Path wasm = Path.of(System.getProperty("berth.extractor.wasm", "../src/wasm/extractor.wasm"));
    return LiveBroker.start(
        dir,
        "--render-limit",
        String.valueOf(RENDER_LIMIT),
        "--pdf-limit",
        "1",
        "--heartbeat-interval",
        "1s",
        "--session-ttl",
        TTL.toSeconds() + "s",
        "--sweep-interval",
        "100ms",
        "--rate-limit-default-rate",
        String.valueOf(HOST_RATE),
        "--rate-limit-default-burst",
        String.valueOf(HOST_BURST),
        "--wasm-module",
        "extractor=" + wasm.toAbsolutePath() + ":alloc,extract",
        "--wasm-idle-timeout",
        "1m");
  }

  private static String[] workerOptions(boolean pdf) {
    List<String> options =
        new ArrayList<>(
            List.of(
                "--concurrency", "2",
                "--chromium", CHROMIUM.toString(),
                "--chromium-arg", "--host-resolver-rules=MAP *.test 127.0.0.1",
                "--navigation-timeout", "30s",
                "--acquire-timeout", "90s"));
    if (pdf) {
      options.add("--pdf");
    }
    return options.toArray(String[]::new);
  }

  /** Watches the broker's RENDER pool while the workers run; remembers the most in use. */
  private static final class PoolWatch implements AutoCloseable {
    final AtomicInteger maxInUse = new AtomicInteger();
    final AtomicBoolean running = new AtomicBoolean(true);
    final Thread thread;

    PoolWatch(LiveBroker daemon) {
      thread =
          new Thread(
              () -> {
                while (running.get()) {
                  try {
                    BrokerStatus status =
                        daemon.admin().getStatus(GetStatusRequest.getDefaultInstance());
                    for (PoolStatus pool : status.getPoolsList()) {
                      if (pool.getKind() == ResourceKind.RESOURCE_KIND_RENDER) {
                        maxInUse.accumulateAndGet(pool.getInUse(), Math::max);
                      }
                    }
                    Thread.sleep(50);
                  } catch (InterruptedException e) {
                    return;
                  } catch (RuntimeException e) {
                    // the daemon is stopping
                  }
                }
              },
              "pool-watch");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      running.set(false);
      thread.interrupt();
    }
  }

  @Test
  void twoWorkers_renderExtractAndPrintEveryPage_politelyAndWithinTheRenderLimit()
      throws Exception {
    long started = System.nanoTime();
    try (FakeSites sites = new FakeSites(300, Set.of("busy.test"));
        LiveBroker daemon = startDaemon();
        PoolWatch watch = new PoolWatch(daemon)) {
      List<String> urls = new ArrayList<>();
      for (int page = 1; page <= 3; page++) {
        for (String host : HOSTS) {
          urls.add(sites.url(host, page));
        }
      }
      List<String> first = new ArrayList<>();
      List<String> second = new ArrayList<>();
      for (int i = 0; i < urls.size(); i++) {
        (i % 2 == 0 ? first : second).add(urls.get(i));
      }

      try (Processes.Worker w1 =
              Processes.Worker.start(dir, "w1", daemon.target(), first, workerOptions(true));
          Processes.Worker w2 =
              Processes.Worker.start(dir, "w2", daemon.target(), second, workerOptions(true))) {
        int exit1 = w1.await(Duration.ofSeconds(150));
        int exit2 = w2.await(Duration.ofSeconds(60));
        assertThat(exit1).as("w1 exit; log:\n%s", Processes.tail(w1.log, 40)).isZero();
        assertThat(exit2).as("w2 exit; log:\n%s", Processes.tail(w2.log, 40)).isZero();

        // Every page rendered (the script ran), extracted and printed.
        Map<String, JsonObject> results = new HashMap<>();
        results.putAll(results(w1.out));
        results.putAll(results(w2.out));
        assertThat(results.keySet()).containsExactlyInAnyOrderElementsOf(urls);
        for (String host : HOSTS) {
          for (int page = 1; page <= 3; page++) {
            JsonObject r = results.get(sites.url(host, page));
            assertThat(r.get("ok").getAsBoolean()).as("ok: %s", r).isTrue();
            assertThat(r.get("http_status").getAsInt()).isEqualTo(200);
            assertThat(r.get("title").getAsString()).isEqualTo(FakeSites.title(host, page));
            assertThat(r.get("links").getAsInt()).isEqualTo(FakeSites.links(page));
            assertThat(r.getAsJsonObject("leases").keySet()).contains("render", "wasm", "pdf");
            Path pdf = Path.of(r.get("pdf").getAsString());
            byte[] head = new byte[5];
            try (var in = Files.newInputStream(pdf)) {
              assertThat(in.read(head)).isEqualTo(5);
            }
            assertThat(new String(head, StandardCharsets.US_ASCII)).isEqualTo("%PDF-");
            if (host.equals("busy.test")) {
              assertThat(r.get("attempts").getAsInt()).as("429 first, then 200").isEqualTo(2);
            }
          }
        }
        // Progress lines were printed.
        assertThat(Files.readString(w1.log)).contains("[6/6] ").contains(" title='");
        System.out.println("w1 log:\n" + Processes.tail(w1.log, 60));
      }

      // The sites were never hit faster than the fleet-wide per-host rate allows.
      Map<String, List<FakeSites.Hit>> byHost =
          sites.hits().stream()
              .filter(h -> h.path().startsWith("/page/"))
              .collect(Collectors.groupingBy(FakeSites.Hit::host));
      assertThat(byHost.keySet()).containsExactlyInAnyOrderElementsOf(HOSTS);
      for (Map.Entry<String, List<FakeSites.Hit>> host : byHost.entrySet()) {
        assertPolite(host.getKey(), host.getValue());
      }
      assertThat(byHost.get("busy.test")).extracting(FakeSites.Hit::status).contains(429);

      // Never more pages loading at once than RENDER slots.
      assertThat(sites.maxInFlight()).isBetween(1, RENDER_LIMIT);
      assertThat(watch.maxInUse.get()).isBetween(1, RENDER_LIMIT);

      // Nothing left behind at the broker.
      assertThat(daemon.admin().listLeases(ListLeasesRequest.getDefaultInstance()).getLeasesList())
          .isEmpty();
      assertThat(
              daemon
                  .admin()
                  .listSessions(ListSessionsRequest.getDefaultInstance())
                  .getSessionsList())
          .isEmpty();
      System.out.printf(
          "twoWorkers: %d pages, max in flight %d (broker RENDER in use %d), took %.1fs%n",
          urls.size(),
          sites.maxInFlight(),
          watch.maxInUse.get(),
          (System.nanoTime() - started) / 1e9);
    }
  }

  @Test
  void killedWorker_capacityReturnsAfterTheTtl_whileTheOtherFinishes() throws Exception {
    long started = System.nanoTime();
    try (FakeSites sites = new FakeSites(400, Set.of());
        LiveBroker daemon = startDaemon()) {
      List<String> doomed = new ArrayList<>();
      List<String> survivor = new ArrayList<>();
      for (int page = 1; page <= 4; page++) {
        for (String host : List.of("a.test", "b.test", "c.test")) {
          doomed.add(sites.url(host, page));
        }
        survivor.add(sites.url("d.test", page));
        survivor.add(sites.url("e.test", page));
      }

      try (Processes.Worker victim =
              Processes.Worker.start(dir, "victim", daemon.target(), doomed, workerOptions(false));
          Processes.Worker other =
              Processes.Worker.start(
                  dir, "other", daemon.target(), survivor, workerOptions(false))) {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (victim.results() < 2) {
          assertThat(victim.process.isAlive())
              .as("victim ended early:\n%s", Processes.tail(victim.log, 40))
              .isTrue();
          assertThat(System.nanoTime()).as("victim made no progress").isLessThan(deadline);
          Thread.sleep(50);
        }
        victim.kill();
        long killedAt = System.nanoTime();
        List<LeaseInfo> held = leasesOf(daemon, "victim");
        assertThat(held).as("the victim's leases right after the kill").isNotEmpty();

        while (!leasesOf(daemon, "victim").isEmpty()) {
          assertThat(Duration.ofNanos(System.nanoTime() - killedAt))
              .as("capacity back within the TTL")
              .isLessThan(TTL.plusSeconds(2));
          Thread.sleep(100);
        }
        Duration returnedAfter = Duration.ofNanos(System.nanoTime() - killedAt);
        // It was the TTL that returned it, not a goodbye: the last heartbeat was about one
        // interval (1 s) before the kill, more on a loaded machine, so allow half the TTL.
        assertThat(returnedAfter).isGreaterThan(TTL.dividedBy(2));

        int exit = other.await(Duration.ofMinutes(2));
        assertThat(exit).as("other exit; log:\n%s", Processes.tail(other.log, 40)).isZero();
        Map<String, JsonObject> results = results(other.out);
        assertThat(results.keySet()).containsExactlyInAnyOrderElementsOf(survivor);
        assertThat(results.values()).allMatch(r -> r.get("ok").getAsBoolean());
        assertThat(
                daemon.admin().listLeases(ListLeasesRequest.getDefaultInstance()).getLeasesList())
            .isEmpty();
        System.out.printf(
            "killedWorker: %d leases held at kill, returned after %.1fs (TTL %ds), took %.1fs%n",
            held.size(),
            returnedAfter.toMillis() / 1000.0,
            TTL.toSeconds(),
            (System.nanoTime() - started) / 1e9);
      }
    }
  }

  @Test
  void sigterm_whileWaitingForABundle_endsTheWaitAtOnce_grantsItNothing_andSaysGoodbye()
      throws Exception {
    try (LiveBroker daemon = startDaemon();
        dev.berth.client.BrokerClient client =
            dev.berth.client.BrokerClient.newBuilder().target(daemon.target()).build();
        dev.berth.client.WorkerSession holder = client.openSession("holder")) {
      List<dev.berth.client.Lease> held = new ArrayList<>();
      for (int i = 0; i < RENDER_LIMIT; i++) { // every RENDER slot, so the worker's bundle waits
        held.add(
            ((dev.berth.client.AcquireResult.Granted)
                    holder.acquire(
                        dev.berth.client.AcquireOptions.render("http://h" + i + ".test/")))
                .lease());
      }
      try (Processes.Worker worker =
          Processes.Worker.start(
              dir, "stopped", daemon.target(), List.of("http://a.test/"), workerOptions(false))) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (renderQueued(daemon) == 0) {
          assertThat(worker.process.isAlive())
              .as("worker ended early:\n%s", Processes.tail(worker.log, 40))
              .isTrue();
          assertThat(System.nanoTime()).as("the worker's bundle never queued").isLessThan(deadline);
          Thread.sleep(50);
        }

        long stoppedAt = System.nanoTime();
        worker.process.destroy(); // SIGTERM
        int exit = worker.await(Duration.ofSeconds(60));
        Duration took = Duration.ofNanos(System.nanoTime() - stoppedAt);

        String log = Files.readString(worker.log);
        // A JVM that a signal shut down exits 143 (128 + SIGTERM), whatever its status would be.
        assertThat(exit).as("exit; log:\n%s", log).isEqualTo(143);
        assertThat(took)
            .as("not the 20 s queue wait, nor the shutdown hook's patience; log:\n%s", log)
            .isLessThan(Duration.ofSeconds(10));
        assertThat(renderQueued(daemon)).as("its wait cancelled at the broker").isZero();
        assertThat(
                daemon
                    .admin()
                    .listSessions(ListSessionsRequest.newBuilder().setWorkerId("stopped").build())
                    .getSessionsList())
            .as("goodbye said")
            .isEmpty();
        held.get(0).close(); // a slot frees: nobody is waiting for it
        assertThat(leasesOf(daemon, "stopped")).isEmpty();
        assertThat(leasesOf(daemon, "holder")).hasSize(RENDER_LIMIT - 1);
        System.out.printf(
            "sigterm: worker waiting for a bundle exited %.2fs after SIGTERM%n",
            took.toMillis() / 1000.0);
      }
      held.forEach(dev.berth.client.Lease::close);
    }
  }

  private static int renderQueued(LiveBroker daemon) {
    return daemon.admin().getStatus(GetStatusRequest.getDefaultInstance()).getPoolsList().stream()
        .filter(p -> p.getKind() == ResourceKind.RESOURCE_KIND_RENDER)
        .mapToInt(PoolStatus::getQueued)
        .sum();
  }

  /** The daemon process and an admin stub on one channel, closed together. */
  private record LiveBroker(
      DaemonProcess process, ManagedChannel channel, BrokerAdminGrpc.BrokerAdminBlockingStub admin)
      implements AutoCloseable {
    static LiveBroker start(Path dir, String... flags) throws Exception {
      DaemonProcess process =
          DaemonProcess.start(dir.resolve("state"), dir.resolve("daemon.log"), flags);
      ManagedChannel channel = process.channel();
      return new LiveBroker(process, channel, BrokerAdminGrpc.newBlockingStub(channel));
    }

    String target() {
      return process.target();
    }

    @Override
    public void close() {
      channel.shutdownNow();
      process.close();
    }
  }

  private static List<LeaseInfo> leasesOf(LiveBroker daemon, String workerId) {
    return daemon
        .admin()
        .listLeases(ListLeasesRequest.newBuilder().setWorkerId(workerId).build())
        .getLeasesList();
  }

  /** The JSON results in {@code out}, by URL. */
  private static Map<String, JsonObject> results(Path out) throws IOException {
    Map<String, JsonObject> results = new HashMap<>();
    try (Stream<Path> files = Files.list(out)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".json")).toList()) {
        JsonObject r = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        results.put(r.get("url").getAsString(), r);
      }
    }
    return results;
  }

  /**
   * Checks the sites' own timestamps against the token bucket: in any window of length T at most
   * burst + rate × (T + slack) requests, where the slack allows for grant-to-request delay.
   */
  private static void assertPolite(String host, List<FakeSites.Hit> hits) {
    List<Long> times =
        hits.stream().map(FakeSites.Hit::arrivedNanos).sorted(Comparator.naturalOrder()).toList();
    for (int i = 0; i < times.size(); i++) {
      for (int j = i + 1; j < times.size(); j++) {
        double window = (times.get(j) - times.get(i)) / 1e9;
        int count = j - i + 1;
        double allowed = HOST_BURST + HOST_RATE * (window + GRANT_TO_REQUEST_SLACK_SECONDS);
        assertThat((double) count)
            .as(
                "%s: %d requests within %.3fs (rate %.1f/s, burst %d); gaps %s",
                host, count, window, HOST_RATE, HOST_BURST, gaps(times))
            .isLessThanOrEqualTo(allowed);
      }
    }
  }

  private static List<String> gaps(List<Long> times) {
    List<String> gaps = new ArrayList<>();
    for (int i = 1; i < times.size(); i++) {
      gaps.add(String.format("%.2f", (times.get(i) - times.get(i - 1)) / 1e9));
    }
    return gaps;
  }
}
