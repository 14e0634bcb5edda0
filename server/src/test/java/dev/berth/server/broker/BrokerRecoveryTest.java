package dev.berth.server.broker;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
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
 * Restart recovery: a broker of epoch 2 takes back sessions and leases of epoch 1 that workers
 * re-declare within one session TTL, and grants nothing new until then, so no pool ever holds more
 * than its limit.
 */
class BrokerRecoveryTest {
  private static final Duration TTL = Duration.ofSeconds(10);
  private static final String PRINCIPAL = BrokerHarness.PRINCIPAL;
  private static final long OLD = FencingTokens.firstTokenOf(1);

  private final FakeTimeSource time = new FakeTimeSource();
  private final Broker broker =
      new Broker(
          BrokerHarness.withoutHostLimits(
              BrokerConfig.newBuilder().sessionTtl(TTL).limit(RENDER, 2).limit(PDF, 1).build()),
          time,
          2,
          () -> 3,
          LeaseIds.seeded(5),
          HeapProbe.NONE);

  @AfterEach
  void close() {
    broker.close();
  }

  private RecordingSessionChannel lastChannel;

  private Broker.Opened reconnect(String sessionId, List<HeldLease> held) {
    lastChannel = new RecordingSessionChannel();
    return broker.open(
        HelloSpec.validate("w1", Map.of(), 0, sessionId, held), PRINCIPAL, lastChannel);
  }

  private static HeldLease render(String id, long token) {
    return new HeldLease(id, token, RENDER, "example.com", "", 300);
  }

  private RecordingAcquireCallback acquire(String sessionId, Duration wait) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    broker.acquire(
        AcquireSpec.validate(sessionId, RENDER, "https://example.com/", "", wait, "", 0, 0),
        PRINCIPAL,
        callback);
    return callback;
  }

  @Test
  void open_declaredLeasesOfEarlierEpochWithinTtl_readmittedWithSameIdsAndTokens() {
    Broker.Opened opened =
        reconnect("s-old", List.of(render("l1", OLD + 5), render("l2", OLD + 9)));

    assertThat(opened.resumed()).isTrue();
    assertThat(opened.sessionId()).isEqualTo("s-old");
    assertThat(opened.lostLeases()).isEmpty();
    assertThat(broker.inUse(RENDER)).isEqualTo(2);
    assertThat(broker.leases())
        .extracting(Lease::id, Lease::fencingToken, Lease::sessionId)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("l1", OLD + 5, "s-old"),
            org.assertj.core.groups.Tuple.tuple("l2", OLD + 9, "s-old"));
    assertThat(broker.release("s-old", "l1", PRINCIPAL, Outcome.UNKNOWN).end())
        .isEqualTo(LeaseEnd.RELEASED);
  }

  @Test
  void open_declaredLeaseHeldNearlyItsMaxHold_readmittedWithOnlyWhatWasLeftOfIt() {
    long maxHold = BrokerConfig.newBuilder().build().maxHold(RENDER).toNanos();
    long left = Duration.ofSeconds(1).toNanos();
    HeldLease held = new HeldLease("l1", OLD + 5, RENDER, "example.com", "", 300, maxHold - left);

    reconnect("s-old", List.of(held));

    assertThat(broker.leases())
        .singleElement()
        .satisfies(l -> assertThat(l.expiresAtNanos() - time.nanoTime()).isEqualTo(left));
    time.advance(Duration.ofSeconds(2)); // the sweep ends it: the restart did not renew its hold
    assertThat(broker.inUse(RENDER)).isZero();
    assertThat(lastChannel.revokes())
        .singleElement()
        .extracting(RecordingSessionChannel.Revoke::reason)
        .isEqualTo(RevokeReason.MAX_HOLD);
  }

  @Test
  void open_declaredLeasesBeyondThePoolLimit_restReportedLost() {
    Broker.Opened a = reconnect("s-a", List.of(render("l1", OLD + 1), render("l2", OLD + 2)));
    Broker.Opened b = reconnect("s-b", List.of(render("l3", OLD + 3)));

    assertThat(a.lostLeases()).isEmpty();
    assertThat(b.resumed()).isTrue();
    assertThat(b.lostLeases()).containsExactly("l3");
    assertThat(broker.inUse(RENDER)).isEqualTo(2);
  }

  @Test
  void open_tokensNotFromAnEarlierEpochOrWithoutKind_reportedLost() {
    long current = FencingTokens.firstTokenOf(2);
    Broker.Opened opened =
        reconnect(
            "s-old",
            List.of(
                render("forged", current + 100),
                render("zero", 0),
                new HeldLease("no-kind", OLD + 1),
                new HeldLease("pdf", OLD + 2, PDF, "", "", 0)));

    assertThat(opened.lostLeases()).containsExactlyInAnyOrder("forged", "zero", "no-kind");
    assertThat(broker.inUse(PDF)).isEqualTo(1);
    assertThat(broker.inUse(RENDER)).isZero();
  }

  @Test
  void acquire_duringRecovery_refusedExhaustedUntilTheTtlThenGranted() {
    reconnect("s-old", List.of(render("l1", OLD + 1)));
    RecordingSessionChannel old = lastChannel;
    RecordingSessionChannel channel = new RecordingSessionChannel();
    Broker.Opened fresh =
        broker.open(HelloSpec.validate("w2", Map.of(), 0, "", List.of()), PRINCIPAL, channel);

    RecordingAcquireCallback now = acquire(fresh.sessionId(), null);
    assertThat(now.refused().reason()).isEqualTo(RefusalReason.EXHAUSTED);
    assertThat(now.refused().detail()).contains("restarted").contains("session_ttl");
    assertThat(now.refused().retryAfterNanos()).isEqualTo(TTL.toNanos());

    RecordingAcquireCallback waiting = acquire(fresh.sessionId(), Duration.ofSeconds(30));
    time.advance(TTL.minusMillis(1));
    broker.heartbeat(fresh.sessionId(), channel, 1, 0, 0);
    broker.heartbeat("s-old", old, 1, 0, 0);
    assertThat(waiting.isAnswered()).isFalse();

    time.advanceMillis(1);

    Lease granted = waiting.granted();
    assertThat(FencingTokens.epochOf(granted.fencingToken())).isEqualTo(2);
    assertThat(broker.inUse(RENDER)).isEqualTo(2);
  }

  @Test
  void release_429OfAReadmittedLease_pausesItsHostThoughNoGrantHereMadeItsBucket() {
    reconnect("s-old", List.of(render("l1", OLD + 1)));
    RecordingSessionChannel channel = lastChannel;

    broker.release(
        "s-old", "l1", PRINCIPAL, new Outcome(false, 0, 429, Duration.ofSeconds(30).toNanos(), ""));
    time.advance(TTL.minusMillis(1));
    broker.heartbeat("s-old", channel, 1, 0, 0);
    time.advanceMillis(1);

    RecordingAcquireCallback after = acquire("s-old", null);
    assertThat(after.refused().reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(after.refused().retryAfterNanos())
        .isEqualTo(Duration.ofSeconds(30).minus(TTL).toNanos());
  }

  @Test
  void open_afterRecovery_declaredLeasesLostAndSessionNew() {
    time.advance(TTL);

    Broker.Opened opened = reconnect("s-old", List.of(render("l1", OLD + 1)));

    assertThat(opened.resumed()).isFalse();
    assertThat(opened.sessionId()).isNotEqualTo("s-old");
    assertThat(opened.lostLeases()).containsExactly("l1");
    assertThat(broker.inUse(RENDER)).isZero();
  }

  @Test
  void open_wasmDeclaredTwice_onlyOneReadmitted() {
    Broker.Opened opened =
        reconnect(
            "s-old",
            List.of(
                new HeldLease("w1", OLD + 1, WASM, "", "extractor", 50),
                new HeldLease("w2", OLD + 2, WASM, "", "extractor", 50)));

    assertThat(opened.lostLeases()).containsExactly("w2");
    assertThat(broker.inUse(WASM)).isEqualTo(1);
  }

  @Test
  void open_freshBrokerOfEpochOne_noRecoveryAndNoReadmission() {
    FakeTimeSource t = new FakeTimeSource();
    try (Broker first =
        new Broker(BrokerConfig.newBuilder().build(), t, 1, () -> 2, LeaseIds.seeded(1))) {
      Broker.Opened opened =
          first.open(
              HelloSpec.validate("w1", Map.of(), 0, "s-old", List.of(render("l1", OLD))),
              PRINCIPAL,
              new RecordingSessionChannel());
      assertThat(opened.resumed()).isFalse();
      assertThat(opened.lostLeases()).containsExactly("l1");
    }
  }
}
