package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.server.lease.FencingTokens;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real daemon process over loopback: a worker process killed with SIGKILL gives its capacity
 * back after the session TTL (not before), fencing tokens keep growing across a restart, and
 * SIGTERM closes session streams and exits in bounded time.
 */
class DaemonProcessIT {
  private static final String[] FAST = {
    "--session-ttl",
    "2s",
    "--heartbeat-interval",
    "500ms",
    "--sweep-interval",
    "100ms",
    "--render-limit",
    "3"
  };

  @TempDir Path dir;

  @Test
  @Timeout(120)
  void killedWorker_capacityReturnsAfterTtl_tokensGrowAcrossRestart() throws Exception {
    Path state = dir.resolve("state");
    long highestToken;
    try (DaemonProcess daemon = DaemonProcess.start(state, dir.resolve("daemon-1.log"), FAST)) {
      ManagedChannel channel = daemon.channel();
      Process worker = startWorker(daemon.target(), 3);
      List<Long> workerTokens = new ArrayList<>();
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(worker.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = out.readLine(); ; line = out.readLine()) {
          assertThat(line).as("worker output; daemon log:\n%s", daemon.logText()).isNotNull();
          if (line.startsWith("HELD ")) {
            workerTokens.add(Long.parseUnsignedLong(line.substring(5)));
          } else if (line.startsWith("READY")) {
            break;
          } else {
            throw new AssertionError("worker said: " + line);
          }
        }
      }
      assertThat(workerTokens).hasSize(3).isSorted();

      try (LiveSession me = new LiveSession(channel, "observer")) {
        AcquireResponse full = me.acquireRender("https://a.example/", 0);
        assertThat(full.getRefused().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);

        long killedAt = System.nanoTime();
        worker.destroyForcibly();
        assertThat(worker.waitFor(10, TimeUnit.SECONDS)).isTrue();

        AcquireResponse beforeTtl = me.acquireRender("https://a.example/", 0);
        long beforeTtlAt = System.nanoTime() - killedAt;
        if (beforeTtlAt < Duration.ofMillis(1500).toNanos()) {
          assertThat(beforeTtl.getRefused().getReason())
              .as("capacity must not come back before the TTL")
              .isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
        }

        AcquireResponse granted = me.acquireRender("https://a.example/", 10_000);
        long waited = System.nanoTime() - killedAt;
        assertThat(granted.hasGranted()).as("granted: %s", granted).isTrue();
        // The worker's last heartbeat came at most ~300 ms before the kill; TTL is 2 s, sweep 100
        // ms.
        assertThat(Duration.ofNanos(waited))
            .isGreaterThanOrEqualTo(Duration.ofMillis(1600))
            .isLessThan(Duration.ofSeconds(5));
        assertThat(granted.getGranted().getFencingToken())
            .isGreaterThan(Collections.max(workerTokens));
        highestToken = granted.getGranted().getFencingToken();
        assertThat(me.opened.get().getBrokerEpoch()).isEqualTo(1);
      } finally {
        channel.shutdownNow();
      }
      int exit = daemon.stop(Duration.ofSeconds(20));
      assertThat(exit).as("exit code after SIGTERM").isIn(0, 143);
    }

    // A longer TTL after the restart, so the recovery window surely spans the first acquire.
    String[] restarted = FAST.clone();
    restarted[1] = "6s";
    try (DaemonProcess daemon =
        DaemonProcess.start(state, dir.resolve("daemon-2.log"), restarted)) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession me = new LiveSession(channel, "after-restart")) {
        assertThat(me.opened.get().getBrokerEpoch()).isEqualTo(2);
        // A restarted broker grants nothing new for one session TTL, while workers of the previous
        // run may still re-declare what they hold; then capacity nobody declared is free.
        AcquireResponse early = me.acquireRender("https://b.example/", 0);
        assertThat(early.getRefused().getDetail()).contains("restarted");
        AcquireResponse granted = me.acquireRender("https://b.example/", 10_000);
        assertThat(granted.hasGranted()).as("granted: %s", granted).isTrue();
        long token = granted.getGranted().getFencingToken();
        assertThat(token).isGreaterThan(highestToken);
        assertThat(FencingTokens.epochOf(token)).isEqualTo(2);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  @Timeout(60)
  void sigterm_closesSessionStreamsUnavailable_andExitsInBoundedTime() throws Exception {
    try (DaemonProcess daemon =
        DaemonProcess.start(dir.resolve("state"), dir.resolve("daemon.log"), FAST)) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession me = new LiveSession(channel, "to-be-stopped")) {
        long start = System.nanoTime();
        int exit = daemon.stop(Duration.ofSeconds(20));
        assertThat(exit).isIn(0, 143);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
        Status status = me.ended.get(5, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(daemon.logText()).contains("shutting down");
      } finally {
        channel.shutdownNow();
      }
    }
  }

  private static Process startWorker(String target, int leases) throws Exception {
    return new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx128m",
            "-cp",
            System.getProperty("java.class.path"),
            HoldingWorker.class.getName(),
            target,
            Integer.toString(leases))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }
}
