package dev.berth.client.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.SessionLost;
import dev.berth.client.WorkerSession;
import dev.berth.testkit.DaemonProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker itself stopped (SIGSTOP, as in a long GC pause) for longer than the session TTL while
 * its workers stay healthy: once it runs again, it does not blame them for its own pause. Every
 * worker resumes its session with the lease it holds; none is told its session expired.
 */
class PausedBrokerIT {
  @TempDir Path dir;

  @Test
  @Timeout(90)
  void brokerStoppedPastTtl_workersResumeTheirSessionsWithTheirLeases() throws Exception {
    try (DaemonProcess broker =
            DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
                .port(DaemonProcess.freePort())
                .flags(PausedWorkerIT.FAST_EXPIRY)
                .start();
        BrokerClient client = BrokerClient.newBuilder().target(broker.target()).build();
        WorkerSession a = client.openSession("a");
        WorkerSession b = client.openSession("b")) {
      List<SessionLost> lost = new CopyOnWriteArrayList<>();
      a.onSessionLost(lost::add);
      b.onSessionLost(lost::add);
      Lease first = granted(a.acquire(AcquireOptions.render("https://a.example/")));
      Lease second = granted(b.acquire(AcquireOptions.render("https://b.example/")));
      String sessionA = a.sessionId();
      String sessionB = b.sessionId();

      broker.pause();
      Thread.sleep(5_000); // longer than the TTL: the SDK gives the stream up and retries
      broker.resume();

      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline
          && !(first.isValid() && second.isValid() && a.isLive() && b.isLive())) {
        Thread.sleep(50);
      }
      assertThat(lost).as("no session lost for the broker's own pause").isEmpty();
      assertThat(a.sessionId()).isEqualTo(sessionA);
      assertThat(b.sessionId()).isEqualTo(sessionB);
      assertThat(first.isValid()).as("lease of a valid again").isTrue();
      assertThat(second.isValid()).as("lease of b valid again").isTrue();
      assertThat(broker.logText()).contains("did not run for").doesNotContain("expired: no heart");
      assertThat(a.acquire(AcquireOptions.render("https://c.example/")).isGranted())
          .as("the pool is still full: both leases held")
          .isFalse();
    }
  }

  private static Lease granted(AcquireResult result) {
    assertThat(result).isInstanceOf(AcquireResult.Granted.class);
    return ((AcquireResult.Granted) result).lease();
  }
}
