package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.berth.client.internal.SessionProbe;
import dev.berth.server.broker.Views;
import dev.berth.server.lease.LeaseEnd;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Sessions against a real in-process broker: acquire, retry, heartbeats, resume, loss, pushes,
 * close. The SDK's timers run on the broker's fake ticker, so a heartbeat is sent or a reconnect
 * made exactly when a test moves the ticker past it.
 */
class WorkerSessionTest {
  private static final dev.berth.server.lease.ResourceKind SERVER_RENDER =
      dev.berth.server.lease.ResourceKind.RENDER;

  private TestBroker broker;

  @AfterEach
  void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  private static AcquireOptions render(String path) {
    return AcquireOptions.render("https://example.com/" + path);
  }

  @Test
  void acquire_poolFull_returnsExhaustedWithRetryAfterAndDetail() {
    broker = oneRenderSlot(Duration.ofSeconds(2));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1");
        Lease held = granted(session.acquire(render("a")))) {

      AcquireResult result = session.acquire(render("b"));

      assertThat(held.isValid()).isTrue();
      assertThat(result.isGranted()).isFalse();
      assertThat(result)
          .isEqualTo(
              new AcquireResult.Refused(
                  RefusalReason.EXHAUSTED,
                  Duration.ofSeconds(2),
                  "pool RENDER 1/1 in use, 0 queued"));
    }
  }

  /**
   * A deadline of zero or less sent a real acquire (granted, then given back as an orphan) before
   * failing; one beyond ten years overflowed. Both are refused before anything is sent.
   */
  @Test
  void withRetry_deadlineNotPositiveOrBeyondTenYears_refusedNamingIt_nothingSent() {
    broker = oneRenderSlot(Duration.ofSeconds(2));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      for (Duration bad :
          List.of(
              Duration.ZERO,
              Duration.ofSeconds(-1),
              java.time.temporal.ChronoUnit.FOREVER.getDuration())) {
        assertThatThrownBy(() -> session.acquireWithRetry(render("a"), bad))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("deadline: must be");
        assertThatThrownBy(
                () ->
                    session.acquireBundleWithRetry(
                        BundleOptions.of(AcquireOptions.pdf(), render("b")), bad))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("deadline: must be");
      }
      assertThat(broker.broker.counters().grants()).as("nothing was asked").isZero();
    }
  }

  /** A broker with one RENDER slot, which refuses EXHAUSTED with {@code retryAfter} when held. */
  private static TestBroker oneRenderSlot(Duration retryAfter) {
    return new TestBroker(
        TestBroker.config().limit(SERVER_RENDER, 1).exhaustedRetryAfter(retryAfter));
  }

  @Test
  void acquireWithRetry_exhausted_waitsRetryAfterThenGrantedWhenCapacityFrees() {
    broker = oneRenderSlot(Duration.ofSeconds(2));
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Lease held = granted(session.acquire(render("a")));
      ticker.onSleep(held::close); // capacity frees while the caller waits
      SessionProbe.retryJitter(session, () -> 0.5);

      AcquireResult result = session.acquireWithRetry(render("b"), Duration.ofSeconds(30));

      assertThat(ticker.sleeps())
          .as("retryAfter stretched by half of a tenth")
          .containsExactly(Duration.ofMillis(2100));
      try (Lease lease = granted(result)) {
        assertThat(lease.isValid()).isTrue();
        assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      }
    }
  }

  @Test
  void acquireWithRetry_retryAfterBeyondDeadline_returnsRefusalWithoutWaiting() {
    assertThat(sleepsWhileRefused(Duration.ofSeconds(1), () -> 0.5)).isEmpty();
  }

  @Test
  void acquireWithRetry_pauses_neverBelowRetryAfterAndAtMostATenthMore() {
    double[] draws = {0.0, 0.999_999};
    int[] next = {0};

    List<Duration> sleeps =
        sleepsWhileRefused(Duration.ofSeconds(5), () -> draws[next[0]++ % draws.length]);

    assertThat(sleeps).hasSize(2);
    assertThat(sleeps.get(0)).isEqualTo(Duration.ofSeconds(2));
    assertThat(sleeps.get(1))
        .isGreaterThan(Duration.ofMillis(2199))
        .isLessThan(Duration.ofMillis(2200));
  }

  /**
   * Retries an acquire of the one RENDER slot while another lease holds it (refused EXHAUSTED,
   * retryAfter 2 s), until {@code deadline}, with each pause stretched by {@code jitter}'s draw;
   * returns the pauses slept, having checked that the last refusal came back.
   */
  private List<Duration> sleepsWhileRefused(Duration deadline, DoubleSupplier jitter) {
    broker = oneRenderSlot(Duration.ofSeconds(2));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1");
        Lease held = granted(session.acquire(render("a")))) {
      SessionProbe.retryJitter(session, jitter);

      AcquireResult result = session.acquireWithRetry(render("b"), deadline);

      assertThat(held.isValid()).isTrue();
      assertThat(((AcquireResult.Refused) result).reason()).isEqualTo(RefusalReason.EXHAUSTED);
      return broker.ticker.sleeps();
    }
  }

  @Test
  void acquireWithRetry_attemptOutlastingTheDeadline_endsAtItWithTheRefusalBefore()
      throws Exception {
    broker = oneRenderSlot(Duration.ofMillis(100));
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client = broker.client(); // call deadline 5 s
        WorkerSession session = client.openSession("worker-1");
        Lease held = granted(session.acquire(render("a")))) {
      SessionProbe.retryJitter(session, () -> 0);
      AcquireOptions queued = render("b").toBuilder().maxWait(Duration.ofSeconds(30)).build();
      CompletableFuture<AcquireResult> result =
          CompletableFuture.supplyAsync(
              () -> session.acquireWithRetry(queued, Duration.ofSeconds(2)));

      TestBroker.until(() -> broker.broker.queued(SERVER_RENDER) == 1, "attempt 1 queued");
      // Its queue wait was cut to end a tenth of the 2 s before the deadline.
      broker.time.advance(Duration.ofMillis(1800));
      TestBroker.until(
          () -> ticker.sleeps().size() == 1 && broker.broker.queued(SERVER_RENDER) == 1,
          "attempt 1 refused TIMEOUT, attempt 2 queued after a 100 ms pause");
      boolean doneEarly = result.isDone();
      ticker.advance(Duration.ofMillis(1900).minusNanos(1));
      boolean doneBeforeDeadline = result.isDone();
      ticker.advance(Duration.ofNanos(1)); // the deadline: 2 s after the call began

      AcquireResult last = result.get(5, TimeUnit.SECONDS);
      assertThat(doneEarly).isFalse();
      assertThat(doneBeforeDeadline).isFalse();
      assertThat(ticker.sleeps()).containsExactly(Duration.ofMillis(100));
      assertThat(((AcquireResult.Refused) last).reason()).isEqualTo(RefusalReason.TIMEOUT);
      assertThat(held.isValid()).isTrue();
    }
  }

  @Test
  void acquireWithRetry_withRequestId_usesFreshIdPerAttempt() {
    broker = oneRenderSlot(Duration.ofSeconds(1));
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Lease held = granted(session.acquire(render("a")));
      ticker.onSleep(held::close);
      AcquireOptions options = render("b").toBuilder().requestId("page-b").build();

      // Had the retry reused "page-b", the broker would have repeated its first answer (refused).
      try (Lease lease = granted(session.acquireWithRetry(options, Duration.ofSeconds(10)))) {
        assertThat(lease.isValid()).isTrue();
      }
    }
  }

  @Test
  void acquireWithRetry_draining_returnsRefusalAtOnce() throws Exception {
    broker = new TestBroker();
    FakeTicker ticker = broker.ticker;
    CountDownLatch drained = new CountDownLatch(1);
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      session.onDrain(d -> drained.countDown());
      broker.broker.drainSession(session.sessionId(), Duration.ofSeconds(30));

      AcquireResult result = session.acquireWithRetry(render("a"), Duration.ofMinutes(5));

      assertThat(((AcquireResult.Refused) result).reason()).isEqualTo(RefusalReason.DRAINING);
      assertThat(ticker.sleeps()).isEmpty();
      assertThat(drained.await(5, TimeUnit.SECONDS)).isTrue();
      assertThat(session.isDraining()).isTrue();
    }
  }

  @Test
  void openSession_duringABrokerDrain_isToldTheDrain() {
    broker = new TestBroker();
    broker.broker.drainBroker(false, Duration.ofSeconds(30));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("late-worker")) {
      AcquireResult result = session.acquire(render("a"));

      assertThat(((AcquireResult.Refused) result).reason()).isEqualTo(RefusalReason.DRAINING);
      // The drain came on the stream right after opened, so before this acquire's answer.
      assertThat(session.isDraining()).isTrue();
    }
  }

  @Test
  void acquire_wasmTwice_returnsTheSameLease() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Lease first = granted(session.acquire(AcquireOptions.wasm()));
      Lease second = granted(session.acquire(AcquireOptions.wasm()));

      assertThat(second).isSameAs(first);
      assertThat(first.module()).isEqualTo("extractor");
      second.close();
      assertThat(broker.inUse(dev.berth.server.lease.ResourceKind.WASM)).isZero();
    }
  }

  @Test
  void resume_afterDroppedStream_reconnectsWhenTickerPassesBackoffAndKeepsLeases() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      String sessionId = session.sessionId();
      Lease lease = granted(session.acquire(render("a")));

      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();

      assertThat(backoff).isBetween(Duration.ofMillis(4), Duration.ofMillis(6)); // 5 ms ± 20 %
      broker.ticker.advance(backoff.minusNanos(1));
      assertThat(probe.isQuiet()).as("no reconnect before the back-off").isTrue();
      assertThat(session.isLive()).isFalse();
      broker.ticker.advance(Duration.ofNanos(1));
      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      assertThat(session.sessionId()).isEqualTo(sessionId);
      assertThat(session.isLive()).isTrue();
      assertThat(lease.isValid()).isTrue();
      assertThat(broker.broker.leases()).extracting(l -> l.id()).containsExactly(lease.leaseId());
      lease.close();
      assertThat(broker.endOf(lease.leaseId()).how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void resume_leaseRevokedWhileDisconnected_reportedNotResumed() throws Exception {
    broker = new TestBroker();
    BlockingQueue<RevokedLease> heard = new ArrayBlockingQueue<>(4);
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      session.onRevoked(heard::add);
      Lease kept = granted(session.acquire(render("a")));
      Lease lost = granted(session.acquire(render("b")));
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      broker.broker.revoke(lost.leaseId(), dev.berth.server.lease.RevokeReason.ADMIN, null);

      broker.ticker.advance(backoff);

      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      assertThat(heard.poll(5, TimeUnit.SECONDS))
          .isEqualTo(new RevokedLease(lost.leaseId(), RevokeReason.NOT_RESUMED, Duration.ZERO));
      assertThat(lost.isValid()).isFalse();
      assertThat(kept.isValid()).isTrue();
      assertThat(probe.leaseCount()).isEqualTo(1);
    }
  }

  @Test
  void sessionLost_brokerExpiresSession_reportedAndWorkGoesOnInNewSession() throws Exception {
    broker = new TestBroker();
    BlockingQueue<SessionLost> lostSessions = new ArrayBlockingQueue<>(4);
    BlockingQueue<RevokedLease> revoked = new ArrayBlockingQueue<>(4);
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      session.onSessionLost(lostSessions::add);
      session.onRevoked(revoked::add);
      String oldSessionId = session.sessionId();
      Lease lease = granted(session.acquire(render("a")));

      broker.time.advance(TestBroker.TTL.plusSeconds(1));
      broker.broker.sweep(); // expires the session, revokes its lease, closes its stream
      broker.ticker.advance(probe.awaitReconnectScheduled());

      assertThat(probe.awaitOpened()).as("resumed").isFalse();
      SessionLost lost = lostSessions.poll(5, TimeUnit.SECONDS);
      assertThat(lost.sessionId()).isEqualTo(oldSessionId);
      assertThat(lost.newSessionId()).isEqualTo(session.sessionId()).isNotEqualTo(oldSessionId);
      assertThat(lost.lostLeaseIds()).isEqualTo(Set.of(lease.leaseId()));
      assertThat(revoked.poll(5, TimeUnit.SECONDS).reason()).isEqualTo(RevokeReason.NOT_RESUMED);
      assertThat(lease.isValid()).isFalse();
      lease.close(); // the broker already ended it: no call, no throw

      try (Lease next = granted(session.acquire(render("b")))) {
        assertThat(next.sessionId()).isEqualTo(session.sessionId());
        assertThat(next.isValid()).isTrue();
      }
    }
  }

  @Test
  void heartbeat_reportsProbedMemoryAndLimitToBroker() {
    broker = new TestBroker();
    SessionOptions options =
        SessionOptions.newBuilder()
            .label("zone", "a")
            .memoryLimitMb(4096)
            .memoryProbe(() -> 1234)
            .build();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1", options)) {
      SessionProbe probe = SessionProbe.attach(session);

      broker.ticker.advance(TestBroker.HEARTBEAT_INTERVAL);
      probe.awaitHeartbeatAck();

      Views.Session seen = broker.broker.sessions("worker-1", "", 10).get(0);
      assertThat(seen.memoryUsedMb()).isEqualTo(1234);
      assertThat(seen.memoryLimitMb()).isEqualTo(4096);
      assertThat(seen.labels()).containsEntry("zone", "a");
    }
  }

  /** The SDK had no way to name a job: its sessions could only run as their principal's. */
  @Test
  void openSession_withAJob_theBrokerRunsTheSessionAsThatJob() {
    broker = new TestBroker();
    broker.broker.updatePolicy(
        broker
            .broker
            .policy()
            .withJobs(dev.berth.server.jobs.JobsConfig.newBuilder().weight("recrawl", 2).build()));
    try (BrokerClient client = broker.client();
        WorkerSession session =
            client.openSession("worker-1", SessionOptions.newBuilder().job("recrawl").build())) {
      Views.Session seen = broker.broker.sessions("worker-1", "", 10).get(0);
      assertThat(seen.id()).isEqualTo(session.sessionId());
      assertThat(seen.job()).isEqualTo("recrawl");
    }
  }

  @Test
  void heartbeats_oneEachIntervalTheBrokerSetOnTheTicker() {
    broker = new TestBroker();
    AtomicInteger sent = new AtomicInteger(); // the probe is read once per heartbeat
    SessionOptions options =
        SessionOptions.newBuilder().memoryProbe(() -> sent.incrementAndGet()).build();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1", options)) {
      SessionProbe probe = SessionProbe.attach(session);

      for (int n = 1; n <= 3; n++) {
        broker.ticker.advance(TestBroker.HEARTBEAT_INTERVAL.minusNanos(1));
        assertThat(sent).as("before heartbeat %d is due", n).hasValue(n - 1);
        broker.ticker.advance(Duration.ofNanos(1));
        assertThat(probe.awaitHeartbeatAck()).isEqualTo(n);
        assertThat(sent).hasValue(n);
      }
      assertThat(session.isLive()).isTrue();
    }
  }

  @Test
  void close_session_saysGoodbyeSoBrokerReleasesEverything() {
    broker = new TestBroker();
    Lease lease;
    try (BrokerClient client = broker.client()) {
      WorkerSession session = client.openSession("worker-1");
      lease = granted(session.acquire(render("a")));

      session.close();

      assertThat(broker.broker.sessionCount()).isZero();
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
      assertThat(broker.endOf(lease.leaseId()).how()).isEqualTo(LeaseEnd.SESSION_CLOSED);
      assertThat(session.isLive()).isFalse();
      assertThat(lease.isValid()).isFalse();
      lease.close();
      assertThat(broker.ended).hasSize(1);
      assertThatThrownBy(() -> session.acquire(render("b")))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("closed");
    }
  }

  @Test
  void close_client_closesItsSessions() {
    broker = new TestBroker();
    BrokerClient client = broker.client();
    WorkerSession first = client.openSession("worker-1");
    WorkerSession second = client.openSession("worker-2");
    granted(first.acquire(render("a")));

    client.close();

    assertThat(first.isLive()).isFalse();
    assertThat(second.isLive()).isFalse();
    assertThat(broker.broker.sessionCount()).isZero();
    assertThat(broker.inUse(SERVER_RENDER)).isZero();
  }

  @Test
  void acquire_brokerShuttingDown_throwsUnavailable() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client(broker.clientBuilder().unaryLeaseCalls());
        WorkerSession session = client.openSession("worker-1")) {
      broker.broker.shutdown();

      assertShuttingDown(catchThrowable(() -> session.acquire(render("a"))));
    }
  }

  @Test
  void acquire_onStreamBrokerShuttingDown_waitsForReconnectThenThrowsUnavailable()
      throws Exception {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      broker.broker.shutdown(); // ends the session stream: the worker reconnects
      probe.awaitReconnectScheduled();

      java.util.concurrent.CompletableFuture<AcquireResult> result =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> session.acquire(render("a")));
      probe.awaitCallHeld();
      broker.ticker.advance(Duration.ofSeconds(5)); // the call deadline

      assertShuttingDown(result);
    }
  }

  /** {@code result} failed UNAVAILABLE, an error that may pass, saying the broker shuts down. */
  private static void assertShuttingDown(Future<AcquireResult> result) {
    assertShuttingDown(catchThrowable(() -> result.get(5, TimeUnit.SECONDS)).getCause());
  }

  private static void assertShuttingDown(Throwable thrown) {
    assertThat(thrown)
        .isInstanceOfSatisfying(
            BrokerException.class,
            e -> {
              assertThat(e.condition()).isEqualTo(BrokerException.Condition.UNAVAILABLE);
              assertThat(e.isTransient()).isTrue();
              assertThat(e).hasMessageContaining("shutting down");
            });
  }

  @Test
  void acquire_waitingWhenTheBrokerShutsDown_throwsUnavailableToAskAgain_notDraining()
      throws Exception {
    broker = oneRenderSlot(Duration.ofSeconds(2));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      assertThat(granted(session.acquire(render("a"))).isValid()).isTrue(); // the only slot
      AcquireOptions queued = render("b").toBuilder().maxWait(Duration.ofSeconds(30)).build();
      CompletableFuture<AcquireResult> result =
          CompletableFuture.supplyAsync(() -> session.acquire(queued));
      TestBroker.until(() -> broker.broker.queued(SERVER_RENDER) == 1, "acquire queued");

      broker.broker.shutdown(); // a restart, not a drain

      assertShuttingDown(result);
      assertThat(session.isDraining()).isFalse();
    }
  }

  @Test
  void acquire_invalidModuleName_throwsInvalidArgumentNamingTheField() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      AcquireOptions options = AcquireOptions.newBuilder(ResourceKind.WASM).module("a/b").build();

      assertThatThrownBy(() -> session.acquire(options))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.condition()).isEqualTo(BrokerException.Condition.INVALID_ARGUMENT))
          .hasMessageContaining("module");
    }
  }

  @Test
  void openSession_noBroker_throwsUnavailable() {
    try (BrokerClient client =
        TestBroker.connect(
            "nobody-listens-here",
            TestBroker.clientBuilder("nobody-listens-here").ticker(new FakeTicker()))) {
      assertThatThrownBy(() -> client.openSession("worker-1"))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.condition()).isEqualTo(BrokerException.Condition.UNAVAILABLE));
    }
  }

  @Test
  void openSession_invalidWorkerId_throwsNamingIt() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client()) {
      assertThatThrownBy(() -> client.openSession("has space"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("workerId:");
      assertThat(broker.broker.sessionCount()).isZero();
    }
  }
}
