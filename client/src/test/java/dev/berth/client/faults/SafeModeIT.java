package dev.berth.client.faults;

import static dev.berth.client.faults.WorkerFaultsIT.await;
import static dev.berth.client.faults.WorkerFaultsIT.grant;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.RefusalReason;
import dev.berth.client.ResourceKind;
import dev.berth.client.SafeMode;
import dev.berth.client.SafeModeCounts;
import dev.berth.client.WorkerSession;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.TcpProxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Safe mode end to end: a real SDK worker, a real broker process and a TCP proxy between them. The
 * broker is cut off, the worker goes on within its local budget, the broker comes back, and its
 * pool counts what the worker still holds: the leases the pool had room for.
 */
class SafeModeIT {
  @TempDir Path dir;

  private static int renderInUse(DaemonProcess broker) {
    for (PoolStatus pool :
        BrokerAdminGrpc.newBlockingStub(broker.channel())
            .getStatus(GetStatusRequest.getDefaultInstance())
            .getPoolsList()) {
      if (pool.getKind() == dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER) {
        return pool.getInUse();
      }
    }
    throw new AssertionError("no RENDER pool in the status");
  }

  @Test
  @Timeout(120)
  void brokerCutOff_workerGoesOnWithinBudget_brokerBack_poolCountsWhatItHasRoomFor()
      throws Exception {
    int port = DaemonProcess.freePort();
    try (DaemonProcess broker =
            DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
                .port(port)
                .flags("--session-ttl", "60s", "--heartbeat-interval", "1s", "--render-limit", "3")
                .start();
        TcpProxy proxy =
            new TcpProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        BrokerClient client =
            BrokerClient.newBuilder()
                .target(proxy.target())
                .callDeadline(Duration.ofSeconds(10))
                .reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
                .safeMode(
                    SafeMode.newBuilder()
                        .after(Duration.ofSeconds(1))
                        .budget(ResourceKind.RENDER, 3)
                        .hostRate(100, 10)
                        .build())
                .build();
        WorkerSession session = client.openSession("safe-worker")) {
      Lease fromBroker = grant(session, "https://one.example/");
      assertThat(renderInUse(broker)).isEqualTo(1);

      proxy.pause(); // nothing passes; the reset ends the stream at once
      proxy.resetAll();
      await("the stream to drop", Duration.ofSeconds(20), () -> !session.isLive());
      Thread.sleep(1_500); // out of reach longer than safeMode.after
      Lease localA = grant(session, "https://two.example/");
      Lease localB = grant(session, "https://three.example/");
      Lease localC = grant(session, "https://four.example/");
      AcquireResult overBudget = session.acquire(AcquireOptions.render("https://five.example/"));
      assertThat(localA.isLocal()).isTrue();
      assertThat(localA.fencingToken()).isZero();
      assertThat(((AcquireResult.Refused) overBudget).reason()).isEqualTo(RefusalReason.EXHAUSTED);
      localC.close(); // done while cut off: the broker never hears of it

      proxy.resume();
      await("the session to resume", Duration.ofSeconds(30), session::isLive);
      await(
          "the broker to count the local leases",
          Duration.ofSeconds(10),
          () -> session.safeModeCounts().adopted() + session.safeModeCounts().refused() == 2);

      // The pool of 3 had room for both leases still held: 1 granted + 2 declared.
      assertThat(session.safeModeCounts()).isEqualTo(new SafeModeCounts(3, 2, 0, 2));
      assertThat(renderInUse(broker)).isEqualTo(3);
      // New acquires go to the broker again, which is full now.
      AcquireResult full = session.acquire(AcquireOptions.render("https://six.example/"));
      assertThat(full.isGranted()).isFalse();
      assertThat(((AcquireResult.Refused) full).detail()).contains("RENDER 3/3");

      localA.close();
      localB.close();
      fromBroker.close();
      assertThat(renderInUse(broker)).isZero();
      Lease again = grant(session, "https://seven.example/");
      assertThat(again.isLocal()).isFalse();
      assertThat(again.fencingToken()).isPositive();
      again.close();
    }
  }
}
