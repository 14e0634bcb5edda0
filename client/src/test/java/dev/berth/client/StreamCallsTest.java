package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.internal.SessionProbe;
import dev.berth.server.lease.LeaseEnd;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Acquires and releases as calls on the session stream (the SDK's default) against a real
 * in-process broker, on the fake ticker: they wait out a reconnect up to their deadline, are sent
 * again with the same request on the resumed stream and granted once; and the unary option, which
 * does not depend on the stream.
 */
class StreamCallsTest {
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
  void acquire_whileReconnecting_waitsForResumedStreamThenGranted() throws Exception {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();

      CompletableFuture<AcquireResult> result =
          CompletableFuture.supplyAsync(() -> session.acquire(render("a")));
      assertThat(probe.awaitCallHeld()).isEqualTo(1);
      assertThat(result).isNotDone();
      broker.ticker.advance(backoff);

      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      try (Lease lease = granted(result.get(5, TimeUnit.SECONDS))) {
        assertThat(lease.isValid()).isTrue();
        assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      }
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void acquire_reconnectOutlastsDeadline_throwsUnavailableAndNothingIsGranted() throws Exception {
    broker = new TestBroker();
    BrokerClient.Builder slowReconnect =
        broker.clientBuilder().reconnectBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1));
    try (BrokerClient client = broker.client(slowReconnect);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();

      CompletableFuture<AcquireResult> result =
          CompletableFuture.supplyAsync(() -> session.acquire(render("a")));
      probe.awaitCallHeld();
      broker.ticker.advance(Duration.ofSeconds(5)); // the call deadline; no queue wait asked

      assertThatThrownBy(() -> result.get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(BrokerException.class)
          .hasMessageContaining("no session stream to the broker within PT5S")
          .hasMessageContaining("stream dropped on purpose")
          .extracting(e -> ((BrokerException) e).condition())
          .isEqualTo(BrokerException.Condition.UNAVAILABLE);
      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      assertThat(broker.inUse(SERVER_RENDER)).as("the given-up call was not sent").isZero();
    }
  }

  @Test
  void acquire_queuedWhenStreamDrops_sentAgainOnResumeAndGrantedOnce() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 1));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease held = granted(session.acquire(render("a")));
      AcquireOptions waiting =
          render("b").toBuilder().maxWait(Duration.ofSeconds(30)).requestId("page-b").build();
      CompletableFuture<AcquireResult> result =
          CompletableFuture.supplyAsync(() -> session.acquire(waiting));
      TestBroker.until(
          () -> broker.broker.queued(SERVER_RENDER) == 1, "the acquire queued at the broker");

      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      TestBroker.until(
          () -> broker.broker.queued(SERVER_RENDER) == 0, "the dropped stream's wait cancelled");
      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      TestBroker.until(() -> broker.broker.queued(SERVER_RENDER) == 1, "the acquire queued again");
      assertThat(result).isNotDone();
      held.close();

      try (Lease lease = granted(result.get(5, TimeUnit.SECONDS))) {
        assertThat(broker.broker.leases()).extracting(l -> l.id()).containsExactly(lease.leaseId());
        assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      }
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  /**
   * Holds "a" (RENDER limit 1) and acquires "b" behind it on a thread of its own, which is
   * interrupted once "b" waits in the broker's queue and must throw CANCELLED; returns "a".
   */
  private Lease interruptedBehind(WorkerSession session) throws Exception {
    Lease held = granted(session.acquire(render("a")));
    AcquireOptions options = render("b").toBuilder().maxWait(Duration.ofSeconds(30)).build();
    CompletableFuture<Throwable> thrown = new CompletableFuture<>();
    Thread waiter =
        new Thread(
            () -> {
              try {
                session.acquire(options);
                thrown.complete(null);
              } catch (Throwable e) {
                thrown.complete(e);
              }
            });
    waiter.start();
    TestBroker.until(() -> broker.broker.queued(SERVER_RENDER) == 1, "b queued at the broker");

    waiter.interrupt();

    assertThat(thrown.get(5, TimeUnit.SECONDS))
        .isInstanceOf(BrokerException.class)
        .extracting(e -> ((BrokerException) e).condition())
        .isEqualTo(BrokerException.Condition.CANCELLED);
    return held;
  }

  /**
   * Interrupts that land just as answers come: a wait may report the interrupt although the answer
   * had completed it, and the grant in that answer was then neither handed out nor given back (two
   * of a pool of two leaked within a second, every run, before the fix). Each lease handed out is
   * closed (a close the interrupt cuts short retries its release with the next heartbeat), so none
   * may be left at the broker.
   */
  @Test
  void acquire_interruptsCrossingAnswers_noLeaseLeftUnreturned() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(dev.berth.server.lease.ResourceKind.PDF, 2));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      java.util.concurrent.atomic.AtomicBoolean stop =
          new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.atomic.AtomicLong granted = new java.util.concurrent.atomic.AtomicLong();
      Thread worker =
          new Thread(
              () -> {
                while (!stop.get()) {
                  try {
                    if (session.acquire(AcquireOptions.pdf()) instanceof AcquireResult.Granted g) {
                      granted.incrementAndGet();
                      Thread.interrupted(); // an acquire that returns keeps the flag for the caller
                      g.lease().close();
                    }
                  } catch (BrokerException e) {
                    // CANCELLED by the interrupt
                  }
                  Thread.interrupted();
                }
              });
      worker.start();
      java.util.concurrent.ThreadLocalRandom random =
          java.util.concurrent.ThreadLocalRandom.current();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (System.nanoTime() < end) {
        java.util.concurrent.locks.LockSupport.parkNanos(random.nextLong(50_000, 1_500_000));
        worker.interrupt();
      }
      stop.set(true);
      worker.join();

      assertThat(granted.get()).as("the loop was granted leases").isPositive();
      // A close the interrupt cut short queued its release for the next heartbeat's retry.
      broker.ticker.advance(TestBroker.HEARTBEAT_INTERVAL);
      TestBroker.until(
          () -> broker.broker.leases().isEmpty(), "every lease released or given back");
    }
  }

  @Test
  void acquire_interruptedWhileQueuedAtBroker_cancelledThere_freedSlotGoesToNobody()
      throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 1));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Lease held = interruptedBehind(session);
      TestBroker.until(
          () -> broker.broker.queued(SERVER_RENDER) == 0, "b's wait cancelled at the broker");
      held.close(); // frees the slot b waited for

      assertThat(broker.broker.leases()).as("nothing granted to the gone caller").isEmpty();
      assertThat(broker.ended).hasSize(1); // a's release, and nothing else
      try (Lease next = granted(session.acquire(render("c")))) {
        assertThat(next.isValid()).as("the stream goes on").isTrue();
      }
    }
  }

  @Test
  void acquire_interrupted_brokerThatPredatesCancel_notSentOne_laterGrantIsGivenBack()
      throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 1));
    OlderBroker older = new OlderBroker();
    try (BrokerClient client = broker.client(broker.clientBuilder(), older);
        WorkerSession session = client.openSession("worker-1")) {
      Lease held = interruptedBehind(session);
      assertThat(broker.broker.queued(SERVER_RENDER)).as("still queued at the broker").isEqualTo(1);
      held.close(); // the broker grants b to the session; its caller is gone

      TestBroker.until(
          () -> broker.broker.queued(SERVER_RENDER) == 0 && broker.broker.leases().isEmpty(),
          "b granted, then given back by the SDK");
      assertThat(broker.ended).extracting(TestBroker.Ended::how).containsOnly(LeaseEnd.RELEASED);
      assertThat(broker.ended).hasSize(2);
      assertThat(older.cancelsSent).as("nothing the broker would not understand").hasValue(0);
    }
  }

  /**
   * Makes the broker look like one that predates cancels ({@code opened.stream_call_cancel} false),
   * and counts the cancels the SDK sends all the same.
   */
  private static final class OlderBroker implements io.grpc.ClientInterceptor {
    final java.util.concurrent.atomic.AtomicInteger cancelsSent =
        new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(
        io.grpc.MethodDescriptor<Q, R> method, io.grpc.CallOptions options, io.grpc.Channel next) {
      return new io.grpc.ForwardingClientCall.SimpleForwardingClientCall<>(
          next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, io.grpc.Metadata headers) {
          super.start(
              new io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener<>(
                  listener) {
                @Override
                @SuppressWarnings("unchecked")
                public void onMessage(R message) {
                  if (message instanceof dev.berth.proto.v1.SessionEvent event
                      && event.hasOpened()) {
                    message =
                        (R)
                            event.toBuilder()
                                .setOpened(event.getOpened().toBuilder().setStreamCallCancel(false))
                                .build();
                  }
                  super.onMessage(message);
                }
              },
              headers);
        }

        @Override
        public void sendMessage(Q message) {
          if (message instanceof dev.berth.proto.v1.SessionRequest request && request.hasCancel()) {
            cancelsSent.incrementAndGet();
          }
          super.sendMessage(message);
        }
      };
    }
  }

  @Test
  void acquire_grantLostWithStreamAndDeadlinePassesWhileReconnecting_grantGivenBackOnResume()
      throws Exception {
    broker = new TestBroker();
    LostEvents lost = new LostEvents();
    BrokerClient.Builder slowReconnect =
        broker.clientBuilder().reconnectBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1));
    try (BrokerClient client = broker.client(slowReconnect, lost);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      lost.next(e -> e.hasAcquireResult());
      CompletableFuture<AcquireResult> result =
          CompletableFuture.supplyAsync(() -> session.acquire(render("a")));
      TestBroker.until(
          () -> broker.inUse(SERVER_RENDER) == 1 && lost.lost(), "granted, answer lost");
      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      broker.ticker.advance(Duration.ofSeconds(5)); // the call deadline, before the reconnect

      assertThatThrownBy(() -> result.get(5, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(BrokerException.class)
          .extracting(e -> ((BrokerException) e).condition())
          .isEqualTo(BrokerException.Condition.UNAVAILABLE);
      assertThat(broker.inUse(SERVER_RENDER)).as("the resumable session keeps it").isEqualTo(1);
      // To the reconnect's due time and no further: 5 s more would also be the hello's deadline,
      // and the resume would race its own timeout.
      assertThat(backoff).isGreaterThan(Duration.ofSeconds(5));
      broker.ticker.advance(backoff.minusSeconds(5));
      assertThat(probe.awaitOpened()).as("resumed").isTrue();

      // Sent again with its request_id, the acquire learns its grant, which nobody waits for.
      // The broker tells its listeners after it lets go of its lock, so the end is recorded a
      // moment after the pool shows the slot free: wait for both.
      TestBroker.until(
          () -> broker.inUse(SERVER_RENDER) == 0 && !broker.ended.isEmpty(),
          "the lost grant given back");
      assertThat(broker.ended).extracting(TestBroker.Ended::how).containsExactly(LeaseEnd.RELEASED);
    }
  }

  @Test
  void release_lostWithTheStream_leaseDeclaredOnResumeThenReleasedWithItsOutcome()
      throws Exception {
    releaseLostThenResume(false);
  }

  @Test
  void release_failedAndQueuedForRetry_leaseDeclaredOnResumeThenReleasedWithItsOutcome()
      throws Exception {
    releaseLostThenResume(true);
  }

  /**
   * Closes a lease with a FAILED "timeout" outcome, its release lost on the stream, then drops the
   * stream and resumes. With {@code queuedFirst}, the release's call deadline passes before the
   * drop: it fails and is queued for a retry, and {@code close()} returns with the session holding
   * nothing (heartbeats are minutes apart, so none retries it before the resume); otherwise it is
   * still unanswered at the resume. Either way the lease is declared at the resume, stays at the
   * broker for the release sent again, and ends with its outcome, not as released by the resume.
   */
  private void releaseLostThenResume(boolean queuedFirst) throws Exception {
    broker = new TestBroker();
    StreamTap tap = new StreamTap().loseRelease();
    try (BrokerClient client = broker.client(broker.clientBuilder(), tap);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease lease = granted(session.acquire(render("a")));
      lease.recordOutcome(Outcome.failed("timeout"));
      CompletableFuture<Void> closed = CompletableFuture.runAsync(lease::close);
      TestBroker.until(tap::releaseLost, "the release lost on its way to the broker");
      if (queuedFirst) {
        broker.ticker.advance(Duration.ofSeconds(5)); // the call deadline
        closed.get(5, TimeUnit.SECONDS);
        assertThat(probe.leaseCount()).isZero();
        assertThat(broker.endOf(lease.leaseId())).as("still live at the broker").isNull();
      }

      probe.dropStream();
      broker.ticker.advance(probe.awaitReconnectScheduled());
      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      closed.get(5, TimeUnit.SECONDS);

      TestBroker.until(() -> broker.endOf(lease.leaseId()) != null, "the lease ended");
      TestBroker.Ended ended = broker.endOf(lease.leaseId());
      assertThat(ended.how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(ended.outcome().error()).isEqualTo("timeout");
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void release_onStream_endsLeaseReleasedWithOutcome() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Lease lease = granted(session.acquire(render("a")));

      lease.recordOutcome(Outcome.failed("timeout"));
      lease.close();

      TestBroker.Ended ended = broker.endOf(lease.leaseId());
      assertThat(ended.how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(ended.outcome().success()).isFalse();
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void acquire_manyThreadsAtOnce_eachAnsweredByItsOwnCall() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 16));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      java.util.List<CompletableFuture<AcquireResult>> results = new java.util.ArrayList<>();
      for (int i = 0; i < 16; i++) {
        AcquireOptions page = AcquireOptions.render("https://site-" + i + ".example.com/");
        results.add(CompletableFuture.supplyAsync(() -> session.acquire(page)));
      }
      java.util.Set<String> leaseIds = new java.util.HashSet<>();
      for (CompletableFuture<AcquireResult> r : results) {
        leaseIds.add(granted(r.get(5, TimeUnit.SECONDS)).leaseId());
      }
      assertThat(leaseIds).hasSize(16);
      assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(16);
    }
  }

  @Test
  void unaryLeaseCalls_acquireWhileStreamDown_answeredWithoutTheStream() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client(broker.clientBuilder().unaryLeaseCalls());
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      probe.dropStream();
      probe.awaitReconnectScheduled();

      try (Lease lease = granted(session.acquire(render("a")))) {
        assertThat(broker.broker.leases()).extracting(l -> l.id()).containsExactly(lease.leaseId());
        assertThat(probe.isQuiet()).as("no call held for the stream").isTrue();
      }
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void close_callWaitingForStream_failsCancelled() throws Exception {
    broker = new TestBroker();
    try (BrokerClient client = broker.client()) {
      WorkerSession session = client.openSession("worker-1");
      SessionProbe probe = SessionProbe.attach(session);
      probe.dropStream();
      probe.awaitReconnectScheduled();
      CompletableFuture<AcquireResult> result =
          CompletableFuture.supplyAsync(() -> session.acquire(render("a")));
      probe.awaitCallHeld();

      session.close();

      assertThatThrownBy(() -> result.get(5, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(BrokerException.class)
          .extracting(e -> ((BrokerException) e).condition())
          .isEqualTo(BrokerException.Condition.CANCELLED);
    }
  }
}
