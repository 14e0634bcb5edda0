package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.internal.SessionProbe;
import dev.berth.server.lease.LeaseEnd;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Leases against a real in-process broker: release on close, validity, revocation. Validity is
 * measured on the broker's fake ticker, which also paces heartbeats.
 */
class LeaseTest {
  private static final String URL = "https://example.com/a";
  private static final dev.berth.server.lease.ResourceKind SERVER_RENDER =
      dev.berth.server.lease.ResourceKind.RENDER;

  private TestBroker broker;

  @AfterEach
  void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void close_inTryWithResources_releasesWithRecordedOutcomeAndHeldTime() {
    broker = new TestBroker();
    FakeTicker ticker = broker.ticker;
    String leaseId;
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      try (Lease lease = granted(session.acquire(AcquireOptions.render(URL)))) {
        leaseId = lease.leaseId();
        assertThat(lease.kind()).isEqualTo(ResourceKind.RENDER);
        assertThat(lease.host()).isEqualTo("example.com");
        assertThat(lease.fencingToken()).isPositive();
        assertThat(lease.sessionId()).isEqualTo(session.sessionId());
        assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
        ticker.advance(Duration.ofMillis(1500));
        lease.recordOutcome(Outcome.http(429).withSiteRetryAfter(Duration.ofSeconds(30)));
      }
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
      TestBroker.Ended end = broker.endOf(leaseId);
      assertThat(end.how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(end.outcome().success()).isFalse();
      assertThat(end.outcome().httpStatus()).isEqualTo(429);
      assertThat(end.outcome().retryAfterNanos()).isEqualTo(Duration.ofSeconds(30).toNanos());
      assertThat(end.outcome().durationNanos()).isEqualTo(Duration.ofMillis(1500).toNanos());
    }
  }

  @Test
  void close_whileItsSessionCloses_doesNotThrowAndTheGoodbyeReleasesIt() {
    closeRacingAClose(false, (client, session) -> session.close());
  }

  @Test
  void closeUnary_whileItsClientCloses_doesNotThrowAndTheGoodbyeReleasesIt() {
    closeRacingAClose(true, (client, session) -> client.close());
  }

  /**
   * Closes a lease while {@code closing} closes its session (or client) in between the lease's
   * check that the session is open and the release it then sends: a span processor runs it as the
   * release's span starts. The lease's close must not throw, and the session's goodbye releases the
   * lease at the broker.
   */
  private void closeRacingAClose(
      boolean unary, java.util.function.BiConsumer<BrokerClient, WorkerSession> closing) {
    broker = new TestBroker();
    Runnable[] onReleaseSpan = {() -> {}};
    SpanProcessor hook =
        new SpanProcessor() {
          @Override
          public void onStart(Context parent, ReadWriteSpan span) {
            if (span.getName().equals("berth.release")) {
              onReleaseSpan[0].run();
            }
          }

          @Override
          public boolean isStartRequired() {
            return true;
          }

          @Override
          public void onEnd(ReadableSpan span) {}

          @Override
          public boolean isEndRequired() {
            return false;
          }
        };
    BrokerClient.Builder builder =
        broker
            .clientBuilder()
            .openTelemetry(
                OpenTelemetrySdk.builder()
                    .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(hook).build())
                    .build());
    try (BrokerClient client = broker.client(unary ? builder.unaryLeaseCalls() : builder);
        WorkerSession session = client.openSession("worker-1")) {
      Lease lease = granted(session.acquire(AcquireOptions.render(URL)));
      onReleaseSpan[0] = () -> closing.accept(client, session);

      lease.close();

      assertThat(broker.inUse(SERVER_RENDER)).isZero();
      assertThat(broker.endOf(lease.leaseId()).how()).isEqualTo(LeaseEnd.SESSION_CLOSED);
    }
  }

  @Test
  void close_twice_releasesOnceAndDoesNotThrow() {
    broker = new TestBroker();
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Lease lease = granted(session.acquire(AcquireOptions.render(URL)));
      lease.close();
      lease.close();
      assertThat(lease.isValid()).isFalse();
      assertThat(broker.ended).hasSize(1);
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  /**
   * A client whose stream, once dropped, stays down for an hour: no heartbeat and no resume can
   * extend a lease's validity while a test moves the ticker through a session TTL.
   */
  private BrokerClient.Builder cutOffForAnHour() {
    return broker.clientBuilder().reconnectBackoff(Duration.ofHours(1), Duration.ofHours(1));
  }

  @Test
  void isValid_streamDown_untilHelloSendTimePlusTtlMinusMarginThenFalse() {
    broker = new TestBroker();
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client = broker.client(cutOffForAnHour());
        WorkerSession session = client.openSession("worker-1")) {
      long opened = ticker.nanoTime(); // the hello was sent at this instant
      ticker.advance(Duration.ofSeconds(3));
      Lease lease = granted(session.acquire(AcquireOptions.render(URL)));
      SessionProbe probe = SessionProbe.attach(session);
      probe.dropStream();
      probe.awaitReconnectScheduled();

      // The acquire (sent 3 s later) does not extend the session: the hello's send time counts.
      Duration margin = Duration.ofSeconds(1); // min(1 s, ttl / 5)
      long validUntil = opened + TestBroker.TTL.minus(margin).toNanos();
      ticker.advance(Duration.ofNanos(validUntil - ticker.nanoTime() - 1));
      assertThat(lease.isValid()).isTrue();
      assertThat(lease.remainingValidity()).isEqualTo(Duration.ofNanos(1));

      ticker.advance(Duration.ofNanos(1));
      assertThat(lease.isValid()).isFalse();
      assertThat(lease.remainingValidity()).isZero();
    }
  }

  @Test
  void isValid_afterAcknowledgedHeartbeat_extendsFromHeartbeatSendTime() {
    broker = new TestBroker();
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client = broker.client(cutOffForAnHour());
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease lease = granted(session.acquire(AcquireOptions.render(URL)));
      ticker.advance(TestBroker.HEARTBEAT_INTERVAL); // the first heartbeat is due
      long heartbeatSent = ticker.nanoTime();
      probe.awaitHeartbeatAck();
      probe.dropStream(); // no later heartbeat
      probe.awaitReconnectScheduled();

      ticker.advance(Duration.ofMinutes(7)); // past the hello's window, within the heartbeat's
      assertThat(lease.isValid()).isTrue();
      long validUntil = heartbeatSent + TestBroker.TTL.minusSeconds(1).toNanos();
      assertThat(lease.remainingValidity())
          .isEqualTo(Duration.ofNanos(validUntil - ticker.nanoTime()));

      ticker.advance(lease.remainingValidity());
      assertThat(lease.isValid()).isFalse();
    }
  }

  /**
   * A reload lowers the TTL: the broker keeps the session for the new TTL from the heartbeat whose
   * ack told it, and the lease is trusted exactly that long; the shorter interval paces the next
   * heartbeat at once.
   */
  @Test
  void isValid_ttlLoweredByReload_followsTheTtlTheAckTold() {
    broker = new TestBroker();
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client = broker.client(cutOffForAnHour());
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease lease = granted(session.acquire(AcquireOptions.render(URL)));
      Duration ttl = Duration.ofMinutes(2);
      Duration interval = Duration.ofSeconds(30);
      broker.broker.updateConfig(
          broker.broker.config().toBuilder().sessionTtl(ttl).heartbeatInterval(interval).build());

      broker.time.advance(TestBroker.HEARTBEAT_INTERVAL); // the broker's clock keeps up
      ticker.advance(TestBroker.HEARTBEAT_INTERVAL); // the first heartbeat, at the old pace
      long firstSent = ticker.nanoTime();
      assertThat(probe.awaitHeartbeatAck()).isEqualTo(1);
      broker.time.advance(interval);
      ticker.advance(interval); // the next one, at the new pace
      long secondSent = ticker.nanoTime();
      assertThat(probe.awaitHeartbeatAck()).isEqualTo(2);
      probe.dropStream();
      probe.awaitReconnectScheduled();

      long validUntil = secondSent + ttl.minusSeconds(1).toNanos();
      assertThat(lease.remainingValidity())
          .isEqualTo(Duration.ofNanos(validUntil - ticker.nanoTime()));
      assertThat(secondSent - firstSent).isEqualTo(interval.toNanos());
      ticker.advance(lease.remainingValidity());
      assertThat(lease.isValid()).isFalse();
    }
  }

  @Test
  void isValid_nearMaxHold_falseAtAcquireSendTimePlusMaxHoldMinusMargin() {
    broker = new TestBroker(TestBroker.config().maxHold(SERVER_RENDER, Duration.ofMinutes(1)));
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client =
            broker.client(broker.clientBuilder().validityMargin(Duration.ofMillis(200)));
        WorkerSession session = client.openSession("worker-1")) {
      ticker.advance(Duration.ofSeconds(5));
      long sent = ticker.nanoTime();
      Lease lease = granted(session.acquire(AcquireOptions.render(URL)));
      assertThat(Duration.between(lease.grantedAt(), lease.expiresAt()))
          .isEqualTo(Duration.ofMinutes(1));

      long validUntil = sent + Duration.ofMinutes(1).minusMillis(200).toNanos();
      ticker.advance(Duration.ofNanos(validUntil - ticker.nanoTime() - 1));
      assertThat(lease.isValid()).isTrue();
      ticker.advance(Duration.ofNanos(1));
      assertThat(lease.isValid()).isFalse();
    }
  }

  @Test
  void onRevoked_adminRevoke_callsListenersInvalidatesAndCloseDoesNotThrow() throws Exception {
    broker = new TestBroker();
    BlockingQueue<RevokedLease> sessionHeard = new ArrayBlockingQueue<>(4);
    BlockingQueue<RevokedLease> leaseHeard = new ArrayBlockingQueue<>(4);
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      session.onRevoked(sessionHeard::add);
      String leaseId;
      try (Lease lease = granted(session.acquire(AcquireOptions.render(URL)))) {
        leaseId = lease.leaseId();
        lease.onRevoked(leaseHeard::add);
        lease.recordOutcome(Outcome.succeeded());

        broker.broker.revoke(
            leaseId, dev.berth.server.lease.RevokeReason.ADMIN, Duration.ofSeconds(3));

        RevokedLease expected =
            new RevokedLease(leaseId, RevokeReason.ADMIN, Duration.ofSeconds(3));
        assertThat(leaseHeard.poll(5, TimeUnit.SECONDS)).isEqualTo(expected);
        assertThat(sessionHeard.poll(5, TimeUnit.SECONDS)).isEqualTo(expected);
        assertThat(lease.isValid()).isFalse();
      } // close() after a revoke: no throw, no release
      assertThat(broker.ended).hasSize(1);
      assertThat(broker.endOf(leaseId).how()).isEqualTo(LeaseEnd.REVOKED);
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
      assertThat(sessionHeard).isEmpty();
      assertThat(leaseHeard).isEmpty();
    }
  }

  @Test
  void onRevoked_registeredAfterRevocation_calledAtOnce() throws Exception {
    broker = new TestBroker();
    BlockingQueue<RevokedLease> sessionHeard = new ArrayBlockingQueue<>(4);
    BlockingQueue<RevokedLease> leaseHeard = new ArrayBlockingQueue<>(4);
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      session.onRevoked(sessionHeard::add);
      Lease lease = granted(session.acquire(AcquireOptions.render(URL)));
      broker.broker.revoke(lease.leaseId(), dev.berth.server.lease.RevokeReason.ADMIN, null);
      assertThat(sessionHeard.poll(5, TimeUnit.SECONDS)).isNotNull();

      lease.onRevoked(leaseHeard::add);

      assertThat(leaseHeard.poll(5, TimeUnit.SECONDS).reason()).isEqualTo(RevokeReason.ADMIN);
    }
  }
}
