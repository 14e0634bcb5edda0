package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.internal.SessionProbe;
import dev.berth.server.lease.LeaseEnd;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Safe mode against a real broker on the in-process transport, on the fake ticker: while the
 * session's stream is down (its reconnect back-off not yet passed on the ticker) and has been for
 * longer than {@code after}, acquires are answered locally within the budget and host rate; on
 * resume the local leases are declared and the broker counts those its pool has room for.
 */
class SafeModeTest {
  private static final dev.berth.server.lease.ResourceKind SERVER_RENDER =
      dev.berth.server.lease.ResourceKind.RENDER;

  private TestBroker broker;

  @AfterEach
  void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  private static SafeMode safeMode() {
    return SafeMode.newBuilder()
        .after(Duration.ofMillis(2)) // shorter than the 4-6 ms reconnect back-off
        .budget(ResourceKind.RENDER, 2)
        .hostRate(1.0, 1)
        .build();
  }

  @Test
  void acquire_brokerOutOfReachLongerThanAfter_grantsLocallyWithinBudgetAndHostRate() {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()));
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease fromBroker = granted(session.acquire(AcquireOptions.render("https://a.example/1")));
      probe.dropStream();
      probe.awaitReconnectScheduled();
      broker.ticker.advance(Duration.ofMillis(3));

      Lease local = granted(session.acquire(AcquireOptions.render("https://a.example/2")));
      AcquireResult sameHost = session.acquire(AcquireOptions.render("https://a.example/3"));
      Lease other = granted(session.acquire(AcquireOptions.render("https://b.example/1")));
      AcquireResult overBudget = session.acquire(AcquireOptions.render("https://c.example/1"));
      AcquireResult noBudget = session.acquire(AcquireOptions.pdf());

      assertThat(fromBroker.isLocal()).isFalse();
      assertThat(local.isLocal()).isTrue();
      assertThat(local.fencingToken()).isZero();
      assertThat(local.isValid()).isTrue();
      assertThat(local.sessionId()).isEqualTo(session.sessionId());
      assertThat(((AcquireResult.Refused) sameHost).reason()).isEqualTo(RefusalReason.RATE_LIMITED);
      assertThat(((AcquireResult.Refused) sameHost).retryAfter()).isEqualTo(Duration.ofSeconds(1));
      assertThat(other.isLocal()).isTrue();
      assertThat(((AcquireResult.Refused) overBudget).reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(((AcquireResult.Refused) overBudget).detail())
          .contains("2 of a local budget of 2 RENDER held");
      assertThat(((AcquireResult.Refused) noBudget).detail()).contains("local budget of 0 PDF");
      assertThat(session.safeModeCounts()).isEqualTo(new SafeModeCounts(2, 0, 0, 2));
      // The broker saw none of it.
      assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
    }
  }

  @Test
  void resume_withLocalLeases_brokerCountsWhatItsPoolHasRoomForAndTheRestStayLocal() {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()));
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease fromBroker = granted(session.acquire(AcquireOptions.render("https://a.example/1")));
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      broker.ticker.advance(Duration.ofMillis(3));
      Lease first = granted(session.acquire(AcquireOptions.render("https://b.example/1")));
      Lease second = granted(session.acquire(AcquireOptions.render("https://c.example/1")));

      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("resumed").isTrue();

      // The pool of 2 had room for one of the two: the first declared is counted, the other not.
      assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(2);
      assertThat(broker.broker.leases())
          .extracting(l -> l.id())
          .containsExactlyInAnyOrder(fromBroker.leaseId(), first.leaseId());
      assertThat(session.safeModeCounts()).isEqualTo(new SafeModeCounts(2, 1, 1, 2));
      assertThat(second.isValid()).as("refused by the broker, still local").isTrue();
      // New acquires go to the broker again, which is full.
      AcquireResult full = session.acquire(AcquireOptions.render("https://d.example/1"));
      assertThat(full.isGranted()).isFalse();

      first.close();
      second.close();

      assertThat(broker.endOf(first.leaseId()).how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      assertThat(session.safeModeCounts().held()).isZero();
      Lease again = granted(session.acquire(AcquireOptions.render("https://d.example/2")));
      assertThat(again.isLocal()).isFalse();
      assertThat(again.fencingToken()).isPositive();
    }
  }

  @Test
  void safeModeCounts_safeModeOff_none() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      assertThat(session.safeModeCounts()).isEqualTo(SafeModeCounts.NONE);
    }
  }

  @Test
  void build_badSettings_namesTheSetting() {
    assertThatThrownBy(() -> SafeMode.newBuilder().build()).hasMessageContaining("safeMode.after");
    assertThatThrownBy(() -> SafeMode.newBuilder().budget(ResourceKind.WASM, 1))
        .hasMessageContaining("safeMode.budget");
    assertThatThrownBy(() -> SafeMode.newBuilder().hostRate(0, 1))
        .hasMessageContaining("safeMode.hostRate");
    assertThatThrownBy(
            () -> SafeMode.newBuilder().after(Duration.ofSeconds(1)).maxHold(Duration.ZERO).build())
        .hasMessageContaining("safeMode.maxHold");
  }
}
