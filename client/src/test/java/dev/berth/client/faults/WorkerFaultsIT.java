package dev.berth.client.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.RevokedLease;
import dev.berth.client.SessionLost;
import dev.berth.client.WorkerSession;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.TcpProxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults between real SDK workers and the real broker process on loopback: a connection that is
 * blackholed and then reset (through a TCP proxy), and a broker killed with SIGKILL and restarted
 * while workers hold 50 leases.
 */
class WorkerFaultsIT {
  @TempDir Path dir;

  /** Acquires a RENDER lease for {@code url}; fails the test when it is refused. */
  static Lease grant(WorkerSession session, String url) {
    AcquireResult result = session.acquire(AcquireOptions.render(url));
    assertThat(result.isGranted()).as("granted: %s", result).isTrue();
    return ((AcquireResult.Granted) result).lease();
  }

  /** Polls {@code condition} every 50 ms until it holds; fails the test after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  @Test
  @Timeout(90)
  void connectionBlackholedThenReset_reconnectWithinTtl_sameSessionLeasesAndTokens()
      throws Exception {
    int port = DaemonProcess.freePort();
    try (DaemonProcess broker =
            DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
                .port(port)
                .flags("--session-ttl", "6s", "--heartbeat-interval", "1s")
                .start();
        TcpProxy proxy =
            new TcpProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        BrokerClient client =
            BrokerClient.newBuilder()
                .target(proxy.target())
                .callDeadline(
                    Duration.ofSeconds(
                        10)) // a loaded machine may be slow to answer the first hello
                .reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
                .build();
        WorkerSession session = client.openSession("proxied-worker")) {
      List<RevokedLease> revoked = new CopyOnWriteArrayList<>();
      List<SessionLost> lost = new CopyOnWriteArrayList<>();
      session.onRevoked(revoked::add);
      session.onSessionLost(lost::add);
      Lease first = grant(session, "https://one.example/");
      Lease second = grant(session, "https://two.example/");
      String sessionId = session.sessionId();

      proxy.pause(); // blackhole: no bytes pass, nothing is closed
      Thread.sleep(2000);
      proxy.resetAll(); // then the path is reset, as a middlebox would
      proxy.resume();

      await("the session to reconnect", Duration.ofSeconds(20), session::isLive);
      assertThat(session.sessionId()).isEqualTo(sessionId);
      assertThat(first.isValid()).isTrue();
      assertThat(second.isValid()).isTrue();
      assertThat(revoked).isEmpty();
      assertThat(lost).isEmpty();
      // Still the same leases at the broker: releasing them works and frees capacity.
      long highest = Math.max(first.fencingToken(), second.fencingToken());
      first.close();
      second.close();
      Lease next = grant(session, "https://three.example/");
      assertThat(next.fencingToken()).isGreaterThan(highest);
      next.close();
      assertThat(broker.logText()).doesNotContain("expired");
    }
  }

  @Test
  @Timeout(120)
  void brokerKilledWith50LeasesHeld_restartedOnSamePort_everyWorkerResumesWithoutDoubleGrant()
      throws Exception {
    int port = DaemonProcess.freePort();
    Path state = dir.resolve("state");
    String[] options = {
      "--session-ttl", "8s", "--heartbeat-interval", "1s", "--render-limit", "50"
    };
    List<BrokerClient> clients = new ArrayList<>();
    List<WorkerSession> sessions = new ArrayList<>();
    Map<WorkerSession, List<Lease>> held = new HashMap<>();
    List<Object> events = new CopyOnWriteArrayList<>();
    DaemonProcess first =
        DaemonProcess.newBuilder(state, dir.resolve("daemon-1.log"))
            .port(port)
            .flags(options)
            .start();
    try {
      long highest = 0;
      for (int w = 0; w < 5; w++) {
        BrokerClient client =
            BrokerClient.newBuilder()
                .target("127.0.0.1:" + port)
                .callDeadline(Duration.ofSeconds(5))
                .reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
                .build();
        clients.add(client);
        WorkerSession session = client.openSession("worker-" + w);
        session.onRevoked(events::add);
        session.onSessionLost(events::add);
        sessions.add(session);
        List<Lease> leases = new ArrayList<>();
        for (int l = 0; l < 10; l++) {
          Lease lease = grant(session, "https://w" + w + "-l" + l + ".example/");
          leases.add(lease);
          highest = Math.max(highest, lease.fencingToken());
        }
        held.put(session, leases);
      }
      Map<WorkerSession, String> ids = new HashMap<>();
      sessions.forEach(s -> ids.put(s, s.sessionId()));

      first.kill();
      try (DaemonProcess second =
          DaemonProcess.newBuilder(state, dir.resolve("daemon-2.log"))
              .port(port)
              .flags(options)
              .start()) {
        await(
            "every worker to resume with the restarted broker",
            Duration.ofSeconds(30),
            () -> sessions.stream().allMatch(s -> s.isLive() && s.epoch() == 2));
        assertThat(second.logText()).as("second daemon log").contains("epoch 2");

        for (WorkerSession s : sessions) {
          assertThat(s.sessionId()).as("resumed, not replaced").isEqualTo(ids.get(s));
          assertThat(held.get(s)).allMatch(Lease::isValid);
        }
        assertThat(events).as("no lease revoked or session lost").isEmpty();

        // The pool is full with the 50 re-declared leases: a newcomer is refused, not granted a
        // 51st; after one release it is granted, above every earlier token.
        try (BrokerClient newcomerClient =
                BrokerClient.newBuilder().target("127.0.0.1:" + port).build();
            WorkerSession newcomer = newcomerClient.openSession("newcomer")) {
          AcquireResult refused = newcomer.acquire(AcquireOptions.render("https://new.example/"));
          assertThat(refused.isGranted()).as("no 51st lease: %s", refused).isFalse();

          held.get(sessions.get(0)).get(0).close();
          AcquireResult granted =
              newcomer.acquireWithRetry(
                  AcquireOptions.render("https://new.example/"), Duration.ofSeconds(30));
          assertThat(granted.isGranted()).as("granted after a release: %s", granted).isTrue();
          Lease lease = ((AcquireResult.Granted) granted).lease();
          assertThat(lease.fencingToken()).isGreaterThan(highest);
          AcquireResult full = newcomer.acquire(AcquireOptions.render("https://new2.example/"));
          assertThat(full.isGranted()).as("still no 51st lease: %s", full).isFalse();
          lease.close();
        }
      }
    } finally {
      clients.forEach(BrokerClient::close);
      first.close();
    }
  }

  @Test
  @Timeout(90)
  void oneSecondRoundTripLatency_ttl5s_noSpuriousExpiry() throws Exception {
    int port = DaemonProcess.freePort();
    try (DaemonProcess broker =
            DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
                .port(port)
                .flags("--session-ttl", "5s", "--heartbeat-interval", "1s")
                .start();
        TcpProxy proxy =
            new TcpProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        BrokerClient client =
            BrokerClient.newBuilder()
                .target(proxy.target())
                .callDeadline(Duration.ofSeconds(5))
                .build();
        WorkerSession session = client.openSession("far-worker")) {
      List<RevokedLease> revoked = new CopyOnWriteArrayList<>();
      List<SessionLost> lost = new CopyOnWriteArrayList<>();
      session.onRevoked(revoked::add);
      session.onSessionLost(lost::add);
      Lease lease = grant(session, "https://far.example/");
      String sessionId = session.sessionId();

      proxy.delay(Duration.ofMillis(500)); // 1 s round trip, a fifth of the TTL
      long until = System.nanoTime() + Duration.ofSeconds(12).toNanos();
      while (System.nanoTime() < until) {
        assertThat(lease.isValid()).as("lease valid under latency").isTrue();
        Thread.sleep(100);
      }

      assertThat(session.sessionId()).isEqualTo(sessionId);
      assertThat(revoked).isEmpty();
      assertThat(lost).isEmpty();
      assertThat(broker.logText()).doesNotContain("expired");
      proxy.delay(Duration.ZERO);
      lease.close();
    }
  }
}
