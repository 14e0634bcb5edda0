package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.server.lease.FencingTokens;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.ProcessProbe;
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
      BrokerAdminGrpc.BrokerAdminBlockingStub admin = BrokerAdminGrpc.newBlockingStub(channel);
      ProcessProbe probe = new ProcessProbe(daemon.pid());
      List<String> baseline = warmedUpThreads(daemon, admin, probe);
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

        // Nothing of the killed worker stays behind: its session and stream are gone, and the
        // daemon's threads are back to what they were before it connected.
        awaitQuiet(admin, 1, Duration.ofSeconds(10));
        assertThat(admin.listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList())
            .extracting(SessionInfo::getWorkerId)
            .containsExactly("observer");
        assertThat(awaitThreadsAtMost(probe, baseline, Duration.ofSeconds(10)))
            .as("daemon threads after the killed worker's session expired")
            .hasSizeLessThanOrEqualTo(baseline.size());
      } finally {
        channel.shutdownNow();
      }
      // A crash: no state is written, so the restart recovers from the workers' re-declarations
      // (a graceful stop keeps the state instead; see sigterm_thenRestart_*).
      daemon.kill();
    }

    // A longer TTL after the restart, so the recovery window surely spans the first acquire.
    String[] restarted = FAST.clone();
    restarted[1] = "15s"; // a loaded machine may take seconds from the start to the first call
    try (DaemonProcess daemon =
        DaemonProcess.start(state, dir.resolve("daemon-2.log"), restarted)) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession me = new LiveSession(channel, "after-restart")) {
        assertThat(me.opened.get().getBrokerEpoch()).isEqualTo(2);
        // A restarted broker grants nothing new for one session TTL, while workers of the previous
        // run may still re-declare what they hold; then capacity nobody declared is free.
        AcquireResponse early = me.acquireRender("https://b.example/", 0);
        assertThat(early.getRefused().getDetail()).contains("restarted");
        AcquireResponse granted = me.acquireRender("https://b.example/", 20_000);
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
  @Timeout(90)
  void sigterm_thenRestart_resumesTheSessionWithItsLeases_andGrantsAtOnce() throws Exception {
    Path state = dir.resolve("graceful");
    String[] slow = FAST.clone();
    slow[1] = "15s"; // the session must outlive the restart, and a recovery window would show
    String sessionId;
    Lease held;
    try (DaemonProcess daemon = DaemonProcess.start(state, dir.resolve("g-1.log"), slow)) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession me = new LiveSession(channel, "graceful")) {
        sessionId = me.id();
        AcquireResponse granted = me.acquireRender("https://g.example/", 5_000);
        assertThat(granted.hasGranted()).as("granted: %s", granted).isTrue();
        held = granted.getGranted();
        assertThat(daemon.stop(Duration.ofSeconds(20))).isIn(0, 143);
        assertThat(daemon.logText()).contains("for the next start");
      } finally {
        channel.shutdownNow();
      }
    }
    // A start that fails after taking the state (its metrics address is in use) gives it back.
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () ->
                  DaemonProcess.newBuilder(state, dir.resolve("g-fail.log"))
                      .flags(slow)
                      .metricsListen("127.0.0.1:" + taken.getLocalPort())
                      .start())
          .isInstanceOf(IllegalStateException.class);
    }
    assertThat(java.nio.file.Files.readString(dir.resolve("g-fail.log")))
        .contains("resumed the previous run's state")
        .contains("metrics.listen: cannot listen")
        .contains("for the next start");
    try (DaemonProcess daemon = DaemonProcess.start(state, dir.resolve("g-2.log"), slow)) {
      ManagedChannel channel = daemon.channel();
      Hello.Builder hello =
          Hello.newBuilder()
              .setWorkerId("graceful")
              .setResumeSessionId(sessionId)
              .addHeldLeases(
                  HeldLease.newBuilder()
                      .setLeaseId(held.getLeaseId())
                      .setFencingToken(held.getFencingToken())
                      .setKind(held.getKind())
                      .setHost(held.getHost()));
      try (LiveSession me = new LiveSession(channel, hello)) {
        assertThat(me.opened.get().getResumed()).isTrue();
        assertThat(me.opened.get().getLostLeasesList()).isEmpty();
        // The state was complete: no recovery window, a new grant at once, above the old token.
        AcquireResponse fresh = me.acquireRender("https://h.example/", 0);
        assertThat(fresh.hasGranted()).as("fresh: %s", fresh).isTrue();
        assertThat(fresh.getGranted().getFencingToken()).isGreaterThan(held.getFencingToken());
        assertThat(daemon.logText()).contains("resumed the previous run's state");
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /**
   * A graceful stop while a crash's recovery window is open writes no state: loading it would end
   * the next start's window, and the slots of leases workers had not re-declared yet (a paused
   * worker holding the whole pool) would be granted again.
   */
  @Test
  @Timeout(90)
  void sigterm_duringTheRecoveryWindowOfACrash_writesNoState_nextStartRecoversAgain()
      throws Exception {
    Path state = dir.resolve("recovering");
    String[] slow = FAST.clone();
    slow[1] = "30s"; // a window that outlasts the restarts below
    try (DaemonProcess daemon = DaemonProcess.start(state, dir.resolve("r-1.log"), slow)) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession me = new LiveSession(channel, "paused")) {
        assertThat(me.acquireRender("https://r.example/", 5_000).hasGranted()).isTrue();
        daemon.kill();
      } finally {
        channel.shutdownNow();
      }
    }
    try (DaemonProcess daemon = DaemonProcess.start(state, dir.resolve("r-2.log"), slow)) {
      assertThat(daemon.stop(Duration.ofSeconds(20))).isIn(0, 143);
      assertThat(daemon.logText()).contains("not writing").doesNotContain("for the next start");
    }
    assertThat(java.nio.file.Files.exists(state.resolve("fleet-state"))).isFalse();
    try (DaemonProcess daemon = DaemonProcess.start(state, dir.resolve("r-3.log"), slow)) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession other = new LiveSession(channel, "newcomer")) {
        AcquireResponse refused = other.acquireRender("https://n.example/", 0);
        assertThat(refused.hasRefused()).as("still recovering: %s", refused).isTrue();
        assertThat(daemon.logText()).doesNotContain("resumed the previous run's state");
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** Epochs used up (or an epoch file edited past them): refused, the file left as it was. */
  @Test
  @Timeout(60)
  void epochsExhausted_startRefusedNamingTheFile_andTheFileUntouched() throws Exception {
    for (String epoch : new String[] {"16777215", "9223372036854775807"}) {
      Path state = java.nio.file.Files.createDirectories(dir.resolve("exhausted-" + epoch));
      java.nio.file.Files.writeString(state.resolve("epoch"), epoch + "\n");
      Path log = dir.resolve("exhausted-" + epoch + ".log");

      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> DaemonProcess.start(state, log, FAST))
          .isInstanceOf(IllegalStateException.class);

      assertThat(java.nio.file.Files.readString(log))
          .contains("epochs exhausted: " + state.resolve("epoch") + " holds " + epoch)
          .doesNotContain("Exception");
      assertThat(java.nio.file.Files.readString(state.resolve("epoch"))).isEqualTo(epoch + "\n");
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

  /**
   * Brings every lazily started pool of the daemon (Netty event loops, call threads) to its size by
   * serving sessions on several connections, waits until those sessions expired, and returns the
   * daemon's threads then: the baseline a leak would exceed.
   */
  private static List<String> warmedUpThreads(
      DaemonProcess daemon, BrokerAdminGrpc.BrokerAdminBlockingStub admin, ProcessProbe probe)
      throws Exception {
    for (int i = 0; i < 8; i++) {
      ManagedChannel warmUp = daemon.channel();
      try (LiveSession session = new LiveSession(warmUp, "warm-up-" + i)) {
        AcquireResponse granted = session.acquireRender("https://warm" + i + ".example/", 0);
        assertThat(granted.hasGranted()).as("warm-up: %s", granted).isTrue();
        session.release(granted.getGranted().getLeaseId());
      } finally {
        warmUp.shutdownNow();
      }
    }
    awaitQuiet(admin, 0, Duration.ofSeconds(10));
    return stableThreads(probe);
  }

  /** Waits until the daemon has exactly {@code sessions} live sessions and no other. */
  private static void awaitQuiet(
      BrokerAdminGrpc.BrokerAdminBlockingStub admin, int sessions, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      BrokerStatus status = admin.getStatus(GetStatusRequest.getDefaultInstance());
      int inUse = status.getPoolsList().stream().mapToInt(PoolStatus::getInUse).sum();
      if (status.getSessions().getLive() == sessions
          && status.getSessions().getDisconnected() == 0
          && inUse <= sessions) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "expected "
                + sessions
                + " live sessions and nothing else within "
                + timeout
                + ":\n"
                + status);
      }
      Thread.sleep(100);
    }
  }

  /** The daemon's Java threads, without the JIT compiler threads the JVM adds and removes. */
  private static List<String> stableThreads(ProcessProbe probe) throws Exception {
    return probe.javaThreads().stream()
        .filter(name -> !name.matches("C[12] CompilerThread\\d+"))
        .sorted()
        .toList();
  }

  /** Polls until the daemon has no more threads than {@code baseline}; returns the last list. */
  private static List<String> awaitThreadsAtMost(
      ProcessProbe probe, List<String> baseline, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> now = stableThreads(probe);
    while (now.size() > baseline.size() && System.nanoTime() < deadline) {
      Thread.sleep(200);
      now = stableThreads(probe);
    }
    List<String> extra = new ArrayList<>(now);
    baseline.forEach(extra::remove);
    assertThat(now.size())
        .as("threads beyond the baseline: %s", extra)
        .isLessThanOrEqualTo(baseline.size());
    return now;
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
