package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.server.security.TokenRegistry;
import dev.berth.testkit.Bearer;
import dev.berth.testkit.DaemonProcess;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real daemon configured with bearer tokens and per-principal caps from flags: the config keys
 * reach the listener, tokens change on SIGHUP, and the daemon never logs a token or its hash.
 */
class SecureDaemonIT {
  private static final String WORKER_TOKEN = "e2e-worker-token-7f3a9c";
  private static final String ADMIN_TOKEN = "e2e-admin-token-41b2d8";

  @TempDir Path dir;

  private static Channel as(ManagedChannel channel, String token) {
    return Bearer.as(channel, token);
  }

  @Test
  @Timeout(90)
  void tokensAndCapsFromFlags_enforcedByTheDaemon_tokensNeverLogged() throws Exception {
    String tokens =
        Bearer.tokensFlag(
            Map.of(
                "crawler", Map.entry(WORKER_TOKEN, "worker"),
                "ops", Map.entry(ADMIN_TOKEN, "admin")));
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"),
            dir.resolve("daemon.log"),
            "--auth.tokens",
            tokens,
            "--caps.sessions_per_principal",
            "1",
            "--session-ttl",
            "4s",
            "--heartbeat-interval",
            "1s")) {
      ManagedChannel channel = daemon.channel();
      try {
        ExecutionException anonymous =
            catchThrowableOfType(
                ExecutionException.class, () -> new LiveSession(channel, "anonymous").close());
        assertThat(Status.fromThrowable(anonymous.getCause()).getCode())
            .isEqualTo(Status.Code.UNAUTHENTICATED);

        try (LiveSession worker = new LiveSession(as(channel, WORKER_TOKEN), "w1")) {
          assertThat(worker.acquireRender("https://a.example/", 0).hasGranted()).isTrue();

          ExecutionException second =
              catchThrowableOfType(
                  ExecutionException.class,
                  () -> new LiveSession(as(channel, WORKER_TOKEN), "w2").close());
          Status capped = Status.fromThrowable(second.getCause());
          assertThat(capped.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(capped.getDescription()).contains("caps.sessions_per_principal");
        }

        StatusRuntimeException denied =
            catchThrowableOfType(
                StatusRuntimeException.class,
                () ->
                    BrokerAdminGrpc.newBlockingStub(as(channel, WORKER_TOKEN))
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getStatus(GetStatusRequest.getDefaultInstance()));
        assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(
                BrokerAdminGrpc.newBlockingStub(as(channel, ADMIN_TOKEN))
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getStatus(GetStatusRequest.getDefaultInstance())
                    .getBrokerEpoch())
            .isEqualTo(1);
      } finally {
        channel.shutdownNow();
      }
      assertThat(daemon.stop(Duration.ofSeconds(20))).isIn(0, 143);
      String log = daemon.logText();
      assertThat(log).contains("2 bearer tokens");
      assertThat(log)
          .doesNotContain(WORKER_TOKEN)
          .doesNotContain(ADMIN_TOKEN)
          .doesNotContain(TokenRegistry.hash(WORKER_TOKEN));
    }
  }

  private static String tokenFile(String... principalAndToken) {
    StringBuilder b = new StringBuilder("auth:\n  tokens:\n");
    for (int i = 0; i < principalAndToken.length; i += 2) {
      b.append("    ")
          .append(principalAndToken[i])
          .append(": {sha256: ")
          .append(TokenRegistry.hash(principalAndToken[i + 1]))
          .append(", roles: [worker, admin]}\n");
    }
    return b.toString();
  }

  private static Status.Code statusCall(ManagedChannel channel, String token) {
    try {
      BrokerAdminGrpc.newBlockingStub(as(channel, token))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .getStatus(GetStatusRequest.getDefaultInstance());
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  @Test
  @Timeout(90)
  void sighup_rotatesTokens_removedRefusedForNewCalls_openStreamKeepsRunning() throws Exception {
    String oldToken = "e2e-old-token-5c1e";
    String newToken = "e2e-new-token-9a0d";
    Path config = dir.resolve("berth.yaml");
    Files.writeString(config, tokenFile("crawler", oldToken));
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"), dir.resolve("daemon.log"), "--config", config.toString())) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession worker = new LiveSession(as(channel, oldToken), "w1")) {
        assertThat(statusCall(channel, newToken)).isEqualTo(Status.Code.UNAUTHENTICATED);

        Files.writeString(config, tokenFile("crawler-2", newToken));
        daemon.reload();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (statusCall(channel, newToken) != Status.Code.OK && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }

        assertThat(statusCall(channel, newToken)).as("the added token").isEqualTo(Status.Code.OK);
        assertThat(statusCall(channel, oldToken))
            .as("the removed token, new call")
            .isEqualTo(Status.Code.UNAUTHENTICATED);
        StatusRuntimeException acquire =
            catchThrowableOfType(
                StatusRuntimeException.class, () -> worker.acquireRender("https://a.example/", 0));
        assertThat(acquire.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        Thread.sleep(500); // a few background heartbeats on the open stream
        assertThat(worker.ended).as("the stream opened before the reload").isNotDone();

        Files.writeString(config, "auth:\n  tokens:\n    x: {sha256: " + newToken + "}\n");
        daemon.reload();
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!daemon.logText().contains("config reload refused")
            && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertThat(statusCall(channel, newToken))
            .as("kept after a bad reload")
            .isEqualTo(Status.Code.OK);
      } finally {
        channel.shutdownNow();
      }
      assertThat(daemon.stop(Duration.ofSeconds(20))).isIn(0, 143);
      String log = daemon.logText();
      assertThat(log)
          .contains("auth.tokens added [crawler-2], removed [crawler] (1 tokens)")
          .contains("config reload refused, keeping the running config: auth.tokens['x'].sha256")
          .doesNotContain(oldToken)
          .doesNotContain(newToken)
          .doesNotContain(TokenRegistry.hash(oldToken))
          .doesNotContain(TokenRegistry.hash(newToken));
    }
  }
}
