package dev.berth.server.broker;

import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.HelloSpec.HeldLease;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A cluster member's broker taking over as leader with the cluster's epoch, and stepping down: the
 * takeover recovers as a restarted lone broker does (workers re-declare their leases within one
 * TTL, nothing new granted before), with tokens from the cluster's epoch; stepping down ends every
 * session, lease and waiting acquire.
 */
class BrokerTakeoverTest {
  private static final Duration TTL = Duration.ofSeconds(10);
  private static final String PRINCIPAL = BrokerHarness.PRINCIPAL;

  private final FakeTimeSource time = new FakeTimeSource();
  // Started long ago as epoch 1 (a first start: no restart window of its own).
  private final Broker broker =
      new Broker(
          BrokerHarness.withoutHostLimits(
              BrokerConfig.newBuilder().sessionTtl(TTL).limit(RENDER, 2).build()),
          time,
          1,
          () -> 2,
          LeaseIds.seeded(5),
          HeapProbe.NONE);

  @AfterEach
  void close() {
    broker.close();
  }

  private final RecordingSessionChannel channel = new RecordingSessionChannel();

  private Broker.Opened open(String resume, List<HeldLease> held) {
    return broker.open(HelloSpec.validate("w1", Map.of(), 0, resume, held), PRINCIPAL, channel);
  }

  private RecordingAcquireCallback acquire(String sessionId, Duration wait) {
    return acquire(broker, sessionId, "https://example.com/", wait);
  }

  private static RecordingAcquireCallback acquire(
      Broker b, String sessionId, String url, Duration wait) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    b.acquire(
        AcquireSpec.validate(sessionId, RENDER, url, "", wait, "", 0, 0), PRINCIPAL, callback);
    return callback;
  }

  @Test
  void takeOver_leasesOfTheOldLeaderReDeclared_keptWithSameIdsAndTokens() {
    long old = FencingTokens.firstTokenOf(6) + 41;

    broker.takeOver(7);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    Broker.Opened opened =
        open("s-1", List.of(new HeldLease("l-1", old, RENDER, "example.com", "", 0)));

    assertThat(opened.resumed()).isTrue();
    assertThat(opened.epoch()).isEqualTo(7);
    assertThat(broker.leases())
        .extracting(Lease::id, Lease::fencingToken)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("l-1", old));
  }

  @Test
  void takeOver_newGrantsWaitOneTtl_thenCarryTheClusterEpoch() {
    broker.takeOver(7);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    Broker.Opened fresh = open("", List.of());

    assertThat(acquire(fresh.sessionId(), null).refused().reason())
        .isEqualTo(RefusalReason.EXHAUSTED);
    RecordingAcquireCallback waiting = acquire(fresh.sessionId(), Duration.ofSeconds(30));
    time.advance(TTL.minusMillis(1));
    broker.heartbeat(fresh.sessionId(), channel, 1, 0, 0);
    assertThat(waiting.isAnswered()).isFalse();

    time.advanceMillis(1);

    assertThat(FencingTokens.epochOf(waiting.granted().fencingToken())).isEqualTo(7);
  }

  @Test
  void takeOver_aJobsOwnHostBucketsStartEmptyToo_soTheJobGetsNoSecondBurstForAHost() {
    try (Broker b =
        new Broker(
            BrokerHarness.withoutHostLimits(
                    BrokerConfig.newBuilder().sessionTtl(TTL).limit(RENDER, 10).build())
                .withJobs(
                    dev.berth.server.jobs.JobsConfig.newBuilder()
                        .host("partner", "x.example", 1.0, 2L)
                        .build()),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(5),
            HeapProbe.NONE)) {
      b.takeOver(7, Fleet.EMPTY, 0);
      String session =
          b.open(
                  HelloSpec.validate("w1", Map.of(), 0, "", List.of(), "partner"),
                  PRINCIPAL,
                  channel)
              .sessionId();
      // The broker-wide bucket (1e9/s) has refilled; the job's own (1/s, burst 2) has not.
      time.advance(Duration.ofNanos(1_000));

      RecordingAcquireCallback first = acquire(b, session, "https://x.example/", null);
      assertThat(first.refused().reason()).isEqualTo(RefusalReason.RATE_LIMITED);
      assertThat(first.refused().detail()).contains("partner");
      time.advance(Duration.ofSeconds(1));
      acquire(b, session, "https://x.example/", null).granted();
      assertThat(acquire(b, session, "https://x.example/", null).refused().reason())
          .isEqualTo(RefusalReason.RATE_LIMITED);
    }
  }

  @Test
  void takeOver_carriedPenalties_pauseOnlyForWhatIsLeftOfTheirPause() {
    long wall = time.wallTime().toEpochMilli();
    broker.takeOver(
        7,
        new Fleet(
            List.of(),
            List.of(),
            List.of(
                new Fleet.HostPenalty("over.example", 429, 30_000, wall - 60_000),
                new Fleet.HostPenalty("left.example", 503, 30_000, wall - 10_000),
                new Fleet.HostPenalty("default.example", 429, 0, wall - 2_000))),
        0);

    Map<String, String> reasons = new java.util.HashMap<>();
    for (dev.berth.server.ratelimit.HostStatus h : broker.status().hotHosts()) {
      reasons.put(h.host(), h.reason());
    }
    // The predecessor's pause is over: the rate cut carries, no new pause.
    assertThat(reasons.get("over.example")).startsWith("HTTP 429").doesNotContain("paused");
    assertThat(reasons.get("left.example")).contains("paused 20.0s more");
    assertThat(reasons.get("default.example")).contains("paused 3.0s more (default pause 5.0s)");
  }

  @Test
  void takeOver_epochNotAboveTheBrokers_refusedAndNothingChanges() {
    broker.takeOver(7);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s

    assertThatThrownBy(() -> broker.takeOver(7)).isInstanceOf(IllegalArgumentException.class);
    assertThat(broker.epoch()).isEqualTo(7);
  }

  @Test
  void stepDown_endsEverySessionItsLeasesAndItsWaitingAcquires() {
    Broker.Opened a = open("", List.of());
    Lease held = acquire(a.sessionId(), null).granted();
    acquire(a.sessionId(), null).granted();
    RecordingAcquireCallback waiting = acquire(a.sessionId(), Duration.ofSeconds(30));

    broker.stepDown();

    assertThat(broker.inUse(RENDER)).isZero();
    assertThat(broker.leases()).isEmpty();
    assertThat(waiting.failure().code()).isEqualTo(BrokerException.Code.NOT_FOUND);
    assertThat(broker.sessions("", "", 10)).isEmpty();
    assertThat(held.id()).isNotEmpty();
  }

  @Test
  void stepDown_slotsFreedByOneSessionsEnd_grantedToNoWaiterOfAnother() {
    // Each session holds one slot and waits for another: whichever ends first frees a slot the
    // other's waiter could take.
    Broker.Opened a = open("", List.of());
    Broker.Opened b =
        broker.open(
            HelloSpec.validate("w2", Map.of(), 0, "", List.of()),
            PRINCIPAL,
            new RecordingSessionChannel());
    acquire(a.sessionId(), null).granted();
    acquire(b.sessionId(), null).granted();
    RecordingAcquireCallback waitingA = acquire(a.sessionId(), Duration.ofSeconds(30));
    RecordingAcquireCallback waitingB = acquire(b.sessionId(), Duration.ofSeconds(30));

    broker.stepDown();

    assertThat(waitingA.failure().code()).isEqualTo(BrokerException.Code.NOT_FOUND);
    assertThat(waitingB.failure().code()).isEqualTo(BrokerException.Code.NOT_FOUND);
    assertThat(broker.leases()).isEmpty();
    assertThat(broker.inUse(RENDER)).isZero();
  }

  @Test
  void drainOfAnEarlierLeadership_doesNotComeBackWhenTheBrokerLeadsAgain() {
    broker.takeOver(3, Fleet.EMPTY, 0);
    broker.drainBroker(false, null);
    assertThat(broker.status().draining()).isTrue();

    broker.stepDown();
    assertThat(broker.status().draining()).isFalse();
    broker.drainBroker(false, null); // as if set on a follower's broker
    broker.takeOver(5, Fleet.EMPTY, 0);

    assertThat(broker.status().draining()).isFalse();
  }

  @Test
  void takeOver_afterAnEarlierLeadership_itsSessionsEndAndTheirLeasesAreNotReAdmitted() {
    broker.takeOver(3);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    time.advance(TTL);
    Broker.Opened a = open("", List.of());
    Lease held = acquire(a.sessionId(), null).granted();

    broker.takeOver(5);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    Broker.Opened again =
        open(
            a.sessionId(),
            List.of(new HeldLease(held.id(), held.fencingToken(), RENDER, "example.com", "", 0)));

    assertThat(again.resumed()).isFalse();
    assertThat(again.lostLeases()).containsExactly(held.id());
    assertThat(broker.inUse(RENDER)).isZero();
  }
}
