package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.internal.SessionProbe;
import dev.berth.proto.v1.HeldLease;
import dev.berth.server.lease.LeaseEnd;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
  void resume_sessionExpiredDuringOutage_newSessionDeclaresTheLocalLeases() {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()));
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      String oldSessionId = session.sessionId();
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      broker.ticker.advance(Duration.ofMillis(3));
      Lease local = granted(session.acquire(AcquireOptions.render("https://a.example/1")));
      broker.time.advance(TestBroker.TTL.plusSeconds(1));
      broker.broker.sweep(); // the session expires while the worker is cut off

      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("the old session resumed").isFalse();
      // The new session resumes once more at once, to declare the local lease in its hello.
      broker.ticker.advance(probe.awaitReconnectScheduled());
      assertThat(probe.awaitOpened()).as("the new session resumed").isTrue();

      assertThat(session.sessionId()).isNotEqualTo(oldSessionId);
      assertThat(local.sessionId()).isEqualTo(session.sessionId());
      assertThat(broker.broker.leases()).extracting(l -> l.id()).containsExactly(local.leaseId());
      assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      assertThat(session.safeModeCounts()).isEqualTo(new SafeModeCounts(1, 1, 0, 1));
      assertThat(local.isValid()).isTrue();

      local.close();

      assertThat(broker.endOf(local.leaseId()).how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void revoke_adoptedLocalLease_reachesTheLeasesAndTheSessionsListeners() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    BlockingQueue<RevokedLease> own = new ArrayBlockingQueue<>(4);
    BlockingQueue<RevokedLease> sessions = new ArrayBlockingQueue<>(4);
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()));
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      session.onRevoked(sessions::add);
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      broker.ticker.advance(Duration.ofMillis(3));
      Lease local = granted(session.acquire(AcquireOptions.render("https://a.example/1")));
      local.onRevoked(own::add);
      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      assertThat(session.safeModeCounts().adopted()).isEqualTo(1);

      broker.broker.revoke(local.leaseId(), dev.berth.server.lease.RevokeReason.ADMIN, null);

      RevokedLease heard = own.poll(5, TimeUnit.SECONDS);
      assertThat(heard).isNotNull();
      assertThat(heard.leaseId()).isEqualTo(local.leaseId());
      assertThat(heard.reason()).isEqualTo(RevokeReason.ADMIN);
      assertThat(sessions.poll(5, TimeUnit.SECONDS)).isEqualTo(heard);
      assertThat(local.isValid()).isFalse();
      assertThat(session.safeModeCounts().held()).isZero();
      // A listener that comes after the revoke still hears it, once.
      BlockingQueue<RevokedLease> late = new ArrayBlockingQueue<>(4);
      local.onRevoked(late::add);
      assertThat(late.poll(5, TimeUnit.SECONDS)).isEqualTo(heard);
      local.close(); // already ended by the broker: no call, no throw
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  /**
   * The broker takes a local lease from a resume hello whose answer is lost; the worker closes the
   * lease before the next hello, which no longer declares it: the SDK gives it back all the same.
   */
  @Test
  void resume_helloAnswerLostThenLocalLeaseClosed_brokerCountsItNoLonger() {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    LostEvents lost = new LostEvents();
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()), lost);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      broker.ticker.advance(Duration.ofMillis(3));
      Lease local = granted(session.acquire(AcquireOptions.render("https://b.example/1")));
      assertThat(local.isLocal()).isTrue();

      lost.next(e -> e.hasOpened() && e.getOpened().getResumed());
      broker.ticker.advance(backoff); // the hello declares the lease; the broker takes it
      TestBroker.until(() -> broker.inUse(SERVER_RENDER) == 1 && lost.lost(), "taken, answer lost");
      local.close(); // the SDK never learned that the broker counts it

      broker.ticker.advance(Duration.ofSeconds(5)); // the hello's answer times out
      broker.ticker.advance(probe.awaitReconnectScheduled());
      assertThat(probe.awaitOpened()).as("resumed").isTrue();

      TestBroker.until(() -> broker.inUse(SERVER_RENDER) == 0, "the closed local lease given back");
    }
  }

  /**
   * A local lease adopted at one resume is still held when the stream drops again: the next resume,
   * a complete declaration, declares it once, as the broker knows it (token 0, its kind, host and
   * memory), so the broker keeps it rather than end it as released while the worker uses it; once
   * released (with its outcome) no resume declares it.
   */
  @Test
  void resume_again_adoptedLocalLeaseDeclaredOnceAndKeptByTheBroker() {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    StreamTap tap = new StreamTap();
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()), tap);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease local = adoptedLocalLease(session, probe, 300);

      probe.dropStream(); // again, while the worker holds the adopted lease
      broker.ticker.advance(probe.awaitReconnectScheduled());
      assertThat(probe.awaitOpened()).as("resumed again").isTrue();

      assertThat(broker.endOf(local.leaseId())).as("still live at the broker").isNull();
      assertThat(broker.broker.leases()).extracting(l -> l.id()).containsExactly(local.leaseId());
      assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      assertThat(tap.lastHello().getHeldLeasesComplete()).isTrue();
      assertThat(tap.lastHello().getHeldLeasesList())
          .containsExactly(
              HeldLease.newBuilder()
                  .setLeaseId(local.leaseId())
                  .setFencingToken(0)
                  .setKind(dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER)
                  .setHost("a.example")
                  .setMemoryMb(300)
                  .build());
      assertThat(local.isValid()).isTrue();
      assertThat(session.safeModeCounts()).isEqualTo(new SafeModeCounts(1, 1, 0, 1));

      local.recordOutcome(Outcome.http(429));
      local.close();
      assertThat(broker.endOf(local.leaseId()).how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(broker.endOf(local.leaseId()).outcome().httpStatus()).isEqualTo(429);

      probe.dropStream();
      broker.ticker.advance(probe.awaitReconnectScheduled());
      assertThat(probe.awaitOpened()).as("resumed a third time").isTrue();
      assertThat(tap.lastHello().getHeldLeasesList()).as("released: declared no more").isEmpty();
    }
  }

  /**
   * The broker revoked an adopted local lease while the stream was down, so the push never came:
   * the next resume declares it, the broker answers it lost, and the SDK ends it as not resumed.
   */
  @Test
  void resume_adoptedLocalLeaseRevokedWhileStreamDown_endedAsNotResumed() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    BlockingQueue<RevokedLease> own = new ArrayBlockingQueue<>(4);
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()));
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease local = adoptedLocalLease(session, probe, 0);
      local.onRevoked(own::add);
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      broker.broker.revoke(local.leaseId(), dev.berth.server.lease.RevokeReason.ADMIN, null);

      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("resumed again").isTrue();

      RevokedLease heard = own.poll(5, TimeUnit.SECONDS);
      assertThat(heard).isNotNull();
      assertThat(heard.reason()).isEqualTo(RevokeReason.NOT_RESUMED);
      assertThat(local.isValid()).isFalse();
      assertThat(session.safeModeCounts().held()).isZero();
    }
  }

  @Test
  void release_adoptedLocalLeaseWhileStreamDown_appliedWithItsOutcomeAtTheResume()
      throws Exception {
    releaseAdoptedThenResume(false);
  }

  @Test
  void release_adoptedLocalLeaseLostAndQueuedForRetry_appliedWithItsOutcomeAtTheResume()
      throws Exception {
    releaseAdoptedThenResume(true);
  }

  /**
   * Closes an adopted local lease with a 429 outcome, then resumes. Without {@code queuedFirst},
   * the stream is down when it is closed: its release waits for the next stream, which the resume's
   * hello opens. With it, the release is lost on the live stream and its call deadline passes, so
   * it is queued for a retry before the stream drops. Either way the resume declares the lease, the
   * broker keeps it for the release, and the lease ends with its outcome, not as released by the
   * resume.
   */
  private void releaseAdoptedThenResume(boolean queuedFirst) throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 2));
    StreamTap tap = new StreamTap();
    try (BrokerClient client = broker.client(broker.clientBuilder().safeMode(safeMode()), tap);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease local = adoptedLocalLease(session, probe, 0);
      local.recordOutcome(Outcome.http(429));
      Duration backoff;
      CompletableFuture<Void> closed;
      if (queuedFirst) {
        tap.loseRelease();
        closed = CompletableFuture.runAsync(local::close);
        TestBroker.until(tap::releaseLost, "the release lost on its way to the broker");
        broker.ticker.advance(Duration.ofSeconds(5)); // the call deadline
        closed.get(5, TimeUnit.SECONDS);
        probe.dropStream();
        backoff = probe.awaitReconnectScheduled();
      } else {
        probe.dropStream();
        backoff = probe.awaitReconnectScheduled();
        closed = CompletableFuture.runAsync(local::close);
        probe.awaitCallHeld();
      }
      assertThat(broker.endOf(local.leaseId())).as("still live at the broker").isNull();

      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      closed.get(5, TimeUnit.SECONDS);
      assertThat(tap.lastHello().getHeldLeasesList())
          .extracting(HeldLease::getLeaseId)
          .as("declared once")
          .containsExactly(local.leaseId());

      TestBroker.until(() -> broker.endOf(local.leaseId()) != null, "the lease ended");
      TestBroker.Ended ended = broker.endOf(local.leaseId());
      assertThat(ended.how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(ended.outcome().httpStatus()).isEqualTo(429);
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  /**
   * Takes a local lease for https://a.example/1 ({@code memoryMb}) while the stream is down, and
   * resumes: the broker adopts it.
   */
  private Lease adoptedLocalLease(WorkerSession session, SessionProbe probe, int memoryMb) {
    probe.dropStream();
    Duration backoff = probe.awaitReconnectScheduled();
    broker.ticker.advance(Duration.ofMillis(3));
    Lease local =
        granted(
            session.acquire(
                AcquireOptions.render("https://a.example/1").toBuilder()
                    .memoryEstimateMb(memoryMb)
                    .build()));
    assertThat(local.isLocal()).isTrue();
    broker.ticker.advance(backoff);
    assertThat(probe.awaitOpened()).as("resumed").isTrue();
    assertThat(session.safeModeCounts().adopted()).as("adopted").isEqualTo(1);
    assertThat(broker.broker.leases()).extracting(l -> l.id()).containsExactly(local.leaseId());
    return local;
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
