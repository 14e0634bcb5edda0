package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.GetModuleRequest;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.server.metrics.PrometheusText;
import dev.berth.server.wasm.TestModules;
import dev.berth.testkit.DaemonProcess;
import io.grpc.ManagedChannel;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real daemon with a config file: SIGHUP applies new limits while a lease stays held, a bad
 * file is refused with one log line, and the Prometheus endpoint shows both; SIGHUP also re-reads
 * the WASM module files, keeping the last good set when one is broken.
 */
class ReloadAndMetricsIT {
  @TempDir Path dir;

  @Test
  @Timeout(120)
  void sighup_appliesNewLimitsKeepingTheLease_andRefusesABadFile() throws Exception {
    Path config = dir.resolve("berth.yaml");
    Files.writeString(config, "pools:\n  render:\n    limit: 2\n");
    int metricsPort = DaemonProcess.freePort();
    try (DaemonProcess daemon =
            DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
                .metricsListen("127.0.0.1:" + metricsPort)
                .flags("--config", config.toString())
                .start();
        LiveSession worker = new LiveSession(daemon.channel(), "w1")) {
      ManagedChannel channel = daemon.channel();
      AcquireResponse held = worker.acquireRender("https://a.example/", 0);
      assertThat(held.hasGranted()).as("%s", held).isTrue();
      assertThat(renderPool(channel).getLimit()).isEqualTo(2);

      Files.writeString(config, "pools:\n  render:\n    limit: 4\n");
      daemon.reload();
      await(() -> renderPool(channel).getLimit() == 4, daemon);

      PoolStatus pool = renderPool(channel);
      assertThat(pool.getInUse()).as("the lease survives the reload").isEqualTo(1);
      PrometheusText metrics = scrape(metricsPort);
      assertThat(metrics.value("berth_pool_limit", "kind", "render")).isEqualTo(4.0);
      assertThat(metrics.value("berth_leases_in_use", "kind", "render")).isEqualTo(1.0);
      assertThat(metrics.value("berth_grants_total", "kind", "render")).isEqualTo(1.0);
      assertThat(metrics.value("berth_config_reloads_total", "result", "applied")).isEqualTo(1.0);
      assertThat(daemon.logText()).contains("config reloaded from " + config);

      Files.writeString(config, "pools:\n  render:\n    limit: lots\n");
      daemon.reload();
      await(
          () -> scrape(metricsPort).value("berth_config_reloads_total", "result", "refused") == 1.0,
          daemon);

      assertThat(renderPool(channel).getLimit()).isEqualTo(4);
      assertThat(daemon.logText())
          .contains(
              "config reload refused, keeping the running config: pools.render.limit: must be a"
                  + " whole number, got 'lots' (from file "
                  + config
                  + ")");
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  @Timeout(120)
  void sighup_rereadsTheWasmModules_andKeepsTheLastGoodSetOnABadFile() throws Exception {
    Path module = dir.resolve("extractor.wasm");
    byte[] first = Files.readAllBytes(TestModules.extractor());
    Files.write(module, first);
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"),
            dir.resolve("daemon.log"),
            "--wasm-module",
            "extractor=" + module + ":alloc,extract")) {
      ManagedChannel channel = daemon.channel();
      assertThat(servedDigest(channel)).isEqualTo(sha256(first));

      // A rebuilt module: the same code plus a custom section, so a different digest.
      byte[] rebuilt = withCustomSection(first, "rebuilt");
      Files.write(module, rebuilt);
      daemon.reload();
      await(() -> servedDigest(channel).equals(sha256(rebuilt)), daemon);
      assertThat(daemon.logText()).contains("WASM modules reloaded");

      Files.write(module, "not wasm".getBytes(StandardCharsets.UTF_8));
      daemon.reload();
      await(() -> daemon.logText().contains("WASM modules not reloaded"), daemon);
      assertThat(daemon.logText()).contains(module.toString());
      assertThat(servedDigest(channel)).as("the last good set stays").isEqualTo(sha256(rebuilt));
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  @Timeout(120)
  void sighup_configRefused_wasmModulesNotRereadEither() throws Exception {
    Path module = dir.resolve("extractor.wasm");
    byte[] first = Files.readAllBytes(TestModules.extractor());
    Files.write(module, first);
    Path config = dir.resolve("berth.yaml");
    String modules =
        "wasm:\n  modules:\n    extractor: {path: " + module + ", exports: [alloc, extract]}\n";
    Files.writeString(config, modules);
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"), dir.resolve("daemon.log"), "--config", config.toString())) {
      ManagedChannel channel = daemon.channel();
      assertThat(servedDigest(channel)).isEqualTo(sha256(first));

      Files.write(module, withCustomSection(first, "rebuilt"));
      Files.writeString(config, modules + "pools:\n  render:\n    limit: -5\n");
      daemon.reload();
      await(() -> daemon.logText().contains("config reload refused"), daemon);

      assertThat(servedDigest(channel))
          .as("a refused reload changes nothing")
          .isEqualTo(sha256(first));
      assertThat(daemon.logText()).doesNotContain("WASM modules reloaded");
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static String servedDigest(ManagedChannel channel) {
    return LeaseBrokerGrpc.newBlockingStub(channel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .getModule(GetModuleRequest.newBuilder().setName("extractor").build())
        .getDigest();
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e); // every JVM has SHA-256
    }
  }

  /** {@code wasm} with a custom section (id 0) appended; still a valid module. */
  private static byte[] withCustomSection(byte[] wasm, String name) {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(wasm);
    out.write(0); // section id: custom
    out.write(1 + nameBytes.length); // section size (< 128, so one LEB128 byte)
    out.write(nameBytes.length);
    out.writeBytes(nameBytes);
    return out.toByteArray();
  }

  private static PoolStatus renderPool(ManagedChannel channel) {
    BrokerStatus status =
        BrokerAdminGrpc.newBlockingStub(channel)
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .getStatus(GetStatusRequest.getDefaultInstance());
    return status.getPoolsList().stream()
        .filter(p -> p.getKind() == ResourceKind.RESOURCE_KIND_RENDER)
        .findFirst()
        .orElseThrow();
  }

  private static PrometheusText scrape(int port) {
    try {
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      return PrometheusText.parse(response.body());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Polls a real process: the signal is handled on the daemon's own thread, some time later. */
  private static void await(BooleanSupplier condition, DaemonProcess daemon) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 20s; daemon log:\n" + daemon.logText());
      }
      Thread.sleep(50);
    }
  }
}
