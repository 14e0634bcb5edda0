package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.session.SessionChannel.CloseReason;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Draining one session or the whole broker, and shutdown. */
class BrokerDrainTest {

  private static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(Duration.ofSeconds(2))
        .sessionTtl(Duration.ofSeconds(10))
        .sweepInterval(Duration.ofMillis(250))
        .limit(RENDER, 1)
        .drainDeadline(Duration.ofSeconds(30));
  }

  private static void assertDraining(RecordingAcquireCallback callback) {
    Decision.Refused refused = callback.refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.DRAINING);
    assertThat(refused.retryAfterNanos()).isNotNegative();
  }

  @Test
  void drainSession_sessionHoldingLeases_refusesItsAcquiresDrainingAndPushesDrain() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease held = h.grant(a, PDF);
      h.grant(a, WASM);

      int leasesHeld = h.broker.drainSession(a.sessionId(), Duration.ofSeconds(12));

      assertThat(leasesHeld).isEqualTo(2);
      assertThat(a.channel().drains())
          .containsExactly(new RecordingSessionChannel.Drain(1, h.time.wallTime().plusSeconds(12)));
      assertDraining(h.acquire(a, RENDER));
      assertDraining(h.acquire(a, WASM));
      assertThat(h.isLive(held)).isTrue();
      assertThat(h.grant(b, RENDER).sessionId()).isEqualTo(b.sessionId());
      assertThat(b.channel().drains()).isEmpty();
      assertThat(h.broker.counters().refusals(RefusalReason.DRAINING)).isEqualTo(2);
    }
  }

  @Test
  void drainSession_noDeadlineGiven_pushesConfiguredDeadline() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");

      h.broker.drainSession(a.sessionId(), null);

      assertThat(a.channel().drains())
          .singleElement()
          .extracting(RecordingSessionChannel.Drain::deadline)
          .isEqualTo(h.time.wallTime().plusSeconds(30));
    }
  }

  @Test
  void drainSession_itsWaiterFirstInQueue_refusedDraining() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      h.grant(holder, RENDER);
      Worker a = h.open("a");
      RecordingAcquireCallback waiting = h.acquire(a, RENDER, Duration.ofSeconds(5));

      h.broker.drainSession(a.sessionId(), null);

      assertDraining(waiting);
      assertThat(h.broker.queued(RENDER)).isZero();
    }
  }

  @Test
  void drainSession_itsWaiterBehindAnotherSessionsWaiter_refusedDraining() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      h.grant(holder, RENDER);
      Worker b = h.open("b");
      RecordingAcquireCallback ahead = h.acquire(b, RENDER, Duration.ofSeconds(5));
      Worker a = h.open("a");
      RecordingAcquireCallback waiting = h.acquire(a, RENDER, Duration.ofSeconds(5));

      h.broker.drainSession(a.sessionId(), null);

      assertDraining(waiting);
      assertThat(ahead.isAnswered()).isFalse();
      assertThat(h.broker.queued(RENDER)).isEqualTo(1);
    }
  }

  @Test
  void drainSession_unknownSession_throwsNotFound() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      assertThatThrownBy(() -> h.broker.drainSession("nosuchsession", null))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND));
    }
  }

  @Test
  void drainBroker_sessionsAndWaiters_refusesAllDrainingAndPushesDrainToEverySession() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease held = h.grant(a, RENDER);
      RecordingAcquireCallback waitingA = h.acquire(a, RENDER, Duration.ofSeconds(5));
      RecordingAcquireCallback waitingB = h.acquire(b, RENDER, Duration.ofSeconds(5));

      h.broker.drainBroker(false, Duration.ofSeconds(3));

      assertDraining(waitingA);
      assertDraining(waitingB);
      assertThat(h.broker.queued(RENDER)).isZero();
      for (Worker w : List.of(a, b)) {
        assertThat(w.channel().drains())
            .singleElement()
            .extracting(RecordingSessionChannel.Drain::deadline)
            .isEqualTo(h.time.wallTime().plusSeconds(3));
      }
      assertDraining(h.acquire(b, PDF));
      Worker late = h.open("late");
      assertDraining(h.acquire(late, WASM));
      assertThat(h.isLive(held)).isTrue();
    }
  }

  private static Broker.Opened openNew(BrokerHarness h, String workerId) {
    return h.broker.open(
        HelloSpec.validate(workerId, Map.of(), 0, "", List.of()),
        PRINCIPAL,
        new RecordingSessionChannel());
  }

  @Test
  void drainBroker_aSessionOpenedDuringIt_isToldTheDrainAfterItsOpened() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      h.broker.drainBroker(false, Duration.ofSeconds(3));
      Instant deadline = h.time.wallTime().plusSeconds(3);
      h.time.advanceMillis(1_000);

      Broker.Opened opened = openNew(h, "late");

      assertThat(opened.drain()).isNotNull();
      assertThat(opened.drain().deadline()).as("the drain's own deadline").isEqualTo(deadline);
    }
  }

  @Test
  void drainSession_whileItsStreamIsDown_isToldWhenItResumes() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.broker.detach(a.sessionId(), a.channel());

      h.broker.drainSession(a.sessionId(), Duration.ofSeconds(12));
      Instant deadline = h.time.wallTime().plusSeconds(12);
      RecordingSessionChannel again = new RecordingSessionChannel();
      Broker.Opened opened =
          h.broker.open(
              HelloSpec.validate("a", Map.of(), 0, a.sessionId(), List.of()), PRINCIPAL, again);

      assertThat(opened.resumed()).isTrue();
      assertThat(opened.drain()).isNotNull();
      assertThat(opened.drain().deadline()).isEqualTo(deadline);
      assertThat(a.channel().drains()).isEmpty();
    }
  }

  @Test
  void drainBroker_resumed_aSessionOpenedAfterIsToldNoDrain() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      h.broker.drainBroker(false, null);
      h.broker.drainBroker(true, null);

      Broker.Opened opened = openNew(h, "fresh");

      assertThat(opened.drain()).isNull();
    }
  }

  @Test
  void drainBroker_resumed_newSessionsGrantedAgain() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      h.open("a");
      h.broker.drainBroker(false, null);

      h.broker.drainBroker(true, null);

      Worker fresh = h.open("fresh");
      assertThat(h.grant(fresh, PDF).sessionId()).isEqualTo(fresh.sessionId());
    }
  }

  @Test
  void drainBroker_resumed_existingSessionGrantedAgain() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.broker.drainBroker(false, null);

      h.broker.drainBroker(true, null);

      assertThat(h.grant(a, PDF).sessionId()).isEqualTo(a.sessionId());
    }
  }

  @Test
  void shutdown_waitersQueued_failUnavailableNotDraining_andStreamsClosed() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease held = h.grant(a, RENDER);
      RecordingAcquireCallback waiting = h.acquire(b, RENDER, Duration.ofSeconds(5));

      h.broker.shutdown();

      // A restart is not a drain: the worker is to ask the restarted broker again.
      assertThat(waiting.failure().code()).isEqualTo(BrokerException.Code.UNAVAILABLE);
      assertThat(waiting.failure()).hasMessageContaining("shutting down");
      assertThat(h.broker.queued(RENDER)).isZero();
      for (Worker w : List.of(a, b)) {
        assertThat(w.channel().closes())
            .singleElement()
            .extracting(RecordingSessionChannel.Close::why)
            .isEqualTo(CloseReason.SHUTDOWN);
      }
      // Leases survive shutdown, so a restarted broker can let workers re-declare them.
      assertThat(h.isLive(held)).isTrue();
      assertThatThrownBy(() -> h.acquire(a, PDF))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.UNAVAILABLE));
      assertThatThrownBy(
              () ->
                  h.broker.open(
                      HelloSpec.validate("c", Map.of(), 0, "", List.of()),
                      PRINCIPAL,
                      new RecordingSessionChannel()))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.UNAVAILABLE));
      // The periodic sweep stopped with the broker; a second shutdown is harmless.
      h.broker.shutdown();
      assertThat(waiting.answerCount()).isEqualTo(1);
      assertThat(h.time.pendingTasks()).isZero();
    }
  }
}
