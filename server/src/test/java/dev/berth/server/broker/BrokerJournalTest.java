package dev.berth.server.broker;

import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
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
 * A cluster leader's broker journals every change to its lease state, lets its journal hold grants
 * back (in-band, retryable), and takes over from a replica: the same sessions and leases, with only
 * K slots per pool held back until they are re-declared or one TTL passes.
 */
class BrokerJournalTest {
  private static final Duration TTL = Duration.ofSeconds(10);
  private static final String PRINCIPAL = BrokerHarness.PRINCIPAL;

  private final FakeTimeSource time = new FakeTimeSource();
  private final Broker broker =
      new Broker(
          BrokerHarness.withoutHostLimits(
              BrokerConfig.newBuilder().sessionTtl(TTL).limit(RENDER, 4).build()),
          time,
          1,
          () -> 2,
          LeaseIds.seeded(5),
          HeapProbe.NONE);
  private final RecordingJournal journal = new RecordingJournal();
  private final RecordingSessionChannel channel = new RecordingSessionChannel();

  @AfterEach
  void close() {
    broker.close();
  }

  private Broker.Opened open(String resume, List<HeldLease> held) {
    return broker.open(HelloSpec.validate("w1", Map.of(), 0, resume, held), PRINCIPAL, channel);
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
  void everyLeaseStateChange_isJournaledInOrder() {
    broker.journalTo(journal);
    Broker.Opened s = open("", List.of());
    Lease a = acquire(s.sessionId(), null).granted();
    Lease b = acquire(s.sessionId(), null).granted();
    broker.release(s.sessionId(), a.id(), PRINCIPAL, new Outcome(false, 0, 429, 0, ""));
    broker.goodbye(s.sessionId(), channel);

    assertThat(journal.lines)
        .containsExactly(
            "opened " + s.sessionId(),
            "granted " + a.id() + " RENDER",
            "granted " + b.id() + " RENDER",
            "ended " + a.id() + " RELEASED",
            "penalty example.com 429",
            "ended " + b.id() + " SESSION_CLOSED",
            "closed " + s.sessionId() + " SESSION_CLOSED");
    assertThat(journal.grants.get(0).fencingToken()).isEqualTo(a.fencingToken());
  }

  @Test
  void aLoneBroker_journalsNothing() {
    Broker.Opened s = open("", List.of());
    acquire(s.sessionId(), null).granted();

    assertThat(journal.lines).isEmpty();
    assertThat(broker.explain(BrokerHarness.spec(s.sessionId(), RENDER, null, "", 0)).steps())
        .extracting(Admission.Step::rule)
        .doesNotContain("replication");
  }

  @Test
  void acquire_journalHoldsGrantsBack_refusedInBandRetryable_withTheReason() {
    broker.journalTo(journal);
    Broker.Opened s = open("", List.of());
    journal.hold = "4 RENDER grants await their commit";

    var refused = acquire(s.sessionId(), null).refused();

    assertThat(refused.reason()).isEqualTo(RefusalReason.EXHAUSTED);
    assertThat(refused.rule()).isEqualTo("replication");
    assertThat(refused.detail()).contains("await their commit");
    assertThat(refused.retryAfterNanos()).isEqualTo(AcquireCommands.JOURNAL_RETRY_NANOS);
    assertThat(broker.inUse(RENDER)).isZero();
  }

  @Test
  void acquire_journalIsToldTheFencingTokensLeftInTheEpoch() {
    broker.journalTo(journal);
    Broker.Opened s = open("", List.of());
    long full = (1L << FencingTokens.COUNTER_BITS) - 1;

    acquire(s.sessionId(), null).granted();
    acquire(s.sessionId(), null).granted();

    assertThat(journal.tokensLeft).containsExactly(full, full - 1);
  }

  @Test
  void acquire_waitingWhileHeldBack_grantedWhenTheQueueWakesAtRetryAfter() {
    broker.journalTo(journal);
    Broker.Opened s = open("", List.of());
    journal.hold = "held";
    RecordingAcquireCallback waiting = acquire(s.sessionId(), Duration.ofSeconds(5));
    assertThat(waiting.isAnswered()).isFalse();

    journal.hold = null;
    time.advance(Duration.ofNanos(AcquireCommands.JOURNAL_RETRY_NANOS));

    assertThat(waiting.granted().kind()).isEqualTo(RENDER);
  }

  @Test
  void acquire_waitRunsOutDuringAHandoff_notRefused_failsUnavailableToAskTheSuccessor() {
    broker.journalTo(journal);
    Broker.Opened s = open("", List.of());
    journal.hold = "handing leadership to another";
    journal.handingOff = true;
    RecordingAcquireCallback waiting = acquire(s.sessionId(), Duration.ofMillis(500));

    time.advance(Duration.ofMillis(500));

    // Not a refusal (the handoff's doing, not the pool's), and not held on either: a member that
    // stops after its handoff would answer it no more while the worker's session ran out on the
    // successor. The caller goes to the new leader, resumes and asks again.
    BrokerException failure = waiting.failure();
    assertThat(failure.code()).isEqualTo(BrokerException.Code.UNAVAILABLE);
    assertThat(failure).hasMessageContaining("new leader");
    assertThat(broker.inUse(RENDER)).isZero();
  }

  @Test
  void acquire_waitRunsOutWhileHeldBackWithoutAHandoff_refusedRuleReplication() {
    broker.journalTo(journal);
    Broker.Opened s = open("", List.of());
    journal.hold = "4 RENDER grants await their commit";
    RecordingAcquireCallback waiting = acquire(s.sessionId(), Duration.ofMillis(500));

    time.advance(Duration.ofMillis(500));

    assertThat(waiting.refused().rule()).isEqualTo(Admission.Rules.REPLICATION);
  }

  private static Fleet fleetOfTwoLeases(long wallMs) {
    long t1 = FencingTokens.firstTokenOf(6) + 1;
    return new Fleet(
        List.of(new Fleet.SessionEntry("s-9", "w1", PRINCIPAL, Map.of(), 0, PRINCIPAL, wallMs)),
        List.of(
            new Fleet.LeaseEntry(
                "l-1",
                "s-9",
                RENDER,
                t1,
                "example.com",
                "",
                "",
                100,
                new Fleet.Asked("r-1", "https://example.com/a", "", 0, 1),
                wallMs,
                60_000),
            new Fleet.LeaseEntry(
                "l-2",
                "s-9",
                RENDER,
                t1 + 1,
                "example.com",
                "",
                "",
                100,
                Fleet.Asked.NONE,
                wallMs,
                60_000)),
        List.of());
  }

  @Test
  void takeOver_fromAReplica_sameLeasesKept_andGrantsAtOnceBesideKHeldBack() {
    broker.journalTo(journal);

    broker.takeOver(7, fleetOfTwoLeases(time.wallTime().toEpochMilli()), 1);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s

    assertThat(broker.leases())
        .extracting(Lease::id, Lease::fencingToken)
        .containsExactlyInAnyOrder(
            tuple("l-1", FencingTokens.firstTokenOf(6) + 1),
            tuple("l-2", FencingTokens.firstTokenOf(6) + 2));
    assertThat(journal.lines).as("the replica has it already").isEmpty();
    Broker.Opened fresh = open("", List.of());
    Lease third = acquire(fresh.sessionId(), null).granted();
    assertThat(FencingTokens.epochOf(third.fencingToken())).isEqualTo(7);
    var refused = acquire(fresh.sessionId(), null).refused();
    assertThat(refused.detail()).contains("1 held back after a change of cluster leader");
  }

  @Test
  void takeOver_aDeclaredLeaseTheReplicaMissed_isReAdmittedIntoTheHeldBackSlot() {
    broker.takeOver(7, fleetOfTwoLeases(time.wallTime().toEpochMilli()), 1);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    long missed = FencingTokens.firstTokenOf(6) + 3;

    Broker.Opened resumed =
        open(
            "s-9",
            List.of(
                new HeldLease(
                    "l-1", FencingTokens.firstTokenOf(6) + 1, RENDER, "example.com", "", 0),
                new HeldLease("l-3", missed, RENDER, "example.com", "", 0)));

    assertThat(resumed.resumed()).isTrue();
    assertThat(resumed.lostLeases()).isEmpty();
    assertThat(broker.inUse(RENDER)).isEqualTo(3);
    // The held-back slot is filled; the last slot is free for a new grant.
    assertThat(acquire(resumed.sessionId(), null).granted()).isNotNull();
  }

  @Test
  void takeOver_leasesTakenInSafeMode_adoptedOnlyIntoSlotsNotHeldBack() {
    broker.takeOver(7, fleetOfTwoLeases(time.wallTime().toEpochMilli()), 1);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s

    // RENDER 4: the two loaded leases, one slot held back, one free.
    Broker.Opened resumed =
        open(
            "s-9",
            List.of(
                new HeldLease("local-1", 0, RENDER, "example.com", "", 0),
                new HeldLease("local-2", 0, RENDER, "example.com", "", 0)));

    assertThat(resumed.resumed()).isTrue();
    assertThat(resumed.lostLeases()).containsExactly("local-2");
    assertThat(broker.inUse(RENDER)).isEqualTo(3);
    // The held-back slot is still there for a lease the earlier leader granted.
    Broker.Opened other =
        broker.open(
            HelloSpec.validate(
                "w2",
                Map.of(),
                0,
                "s-8",
                List.of(
                    new HeldLease(
                        "l-3", FencingTokens.firstTokenOf(6) + 3, RENDER, "example.com", "", 0))),
            PRINCIPAL,
            new RecordingSessionChannel());
    assertThat(other.lostLeases()).isEmpty();
    assertThat(broker.inUse(RENDER)).isEqualTo(4);
  }

  @Test
  void takeOver_sessionsNotResumedWithinOneTtl_expireWithTheirLeases_andTheHoldBackEnds() {
    broker.journalTo(journal);
    broker.takeOver(7, fleetOfTwoLeases(time.wallTime().toEpochMilli()), 2);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    Broker.Opened fresh = open("", List.of());
    assertThat(acquire(fresh.sessionId(), null).refused().detail()).contains("held back");

    time.advance(TTL.minusMillis(1));
    broker.heartbeat(fresh.sessionId(), channel, 1, 0, 0);
    time.advanceMillis(2);
    broker.sweep();

    assertThat(broker.leases()).isEmpty();
    assertThat(journal.lines)
        .contains("ended l-1 SESSION_EXPIRED", "ended l-2 SESSION_EXPIRED")
        .contains("closed s-9 SESSION_EXPIRED");
    assertThat(acquire(fresh.sessionId(), null).granted()).isNotNull();
  }

  /**
   * The hold-back is journaled, so that a leader elected within it keeps the same slots free; a
   * handoff carries what is left of it (a re-admitted lease fills its slot), and nothing once it
   * has run out.
   */
  @Test
  void takeOver_holdingBack_isJournaled_andWhatIsLeftIsCarriedUntilItEnds() {
    broker.journalTo(journal);
    long wallMs = time.wallTime().toEpochMilli();
    broker.takeOver(7, fleetOfTwoLeases(wallMs), kind -> kind == RENDER ? 2 : 0);

    assertThat(journal.holdBacks)
        .containsExactly(new Fleet.HoldBack(Map.of(RENDER, 2), wallMs + TTL.toMillis()));
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    open(
        "s-9",
        List.of(
            new HeldLease("l-1", FencingTokens.firstTokenOf(6) + 1, RENDER, "example.com", "", 0),
            new HeldLease("l-3", FencingTokens.firstTokenOf(6) + 3, RENDER, "example.com", "", 0)));
    assertThat(broker.holdBack())
        .as("the re-admitted lease filled one slot")
        .isEqualTo(new Fleet.HoldBack(Map.of(RENDER, 1), wallMs + TTL.toMillis()));

    time.advance(TTL);
    assertThat(broker.holdBack()).isNull();
    assertThat(journal.holdBacks).hasSize(1);
  }

  @Test
  void takeOver_heldBackPerPool_holdsBackEachPoolsOwnCount() {
    broker.takeOver(
        7, fleetOfTwoLeases(time.wallTime().toEpochMilli()), kind -> kind == RENDER ? 1 : 0);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    Broker.Opened fresh = open("", List.of());

    assertThat(acquire(fresh.sessionId(), null).granted()).isNotNull();
    assertThat(acquire(fresh.sessionId(), null).refused().detail())
        .contains("1 held back after a change of cluster leader");
    assertThat(broker.inUse(RENDER)).isEqualTo(3);
  }

  @Test
  void takeOver_afterAHandoff_holdsNothingBack() {
    broker.takeOver(7, fleetOfTwoLeases(time.wallTime().toEpochMilli()), 0);
    time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    Broker.Opened fresh = open("", List.of());

    acquire(fresh.sessionId(), null).granted();
    acquire(fresh.sessionId(), null).granted();

    assertThat(broker.inUse(RENDER)).isEqualTo(4);
  }

  @Test
  void fleet_thenLoad_intoAnotherBroker_keepsSessionsLeasesAndTokens() {
    Broker.Opened s = open("", List.of());
    Lease a = acquire(s.sessionId(), null).granted();
    Fleet fleet = broker.fleet();
    Broker next = new Broker(broker.policy(), time, 2, () -> 3, LeaseIds.seeded(6), HeapProbe.NONE);
    try {
      int skipped = next.load(fleet);

      assertThat(skipped).isZero();
      assertThat(next.leases())
          .extracting(Lease::id, Lease::fencingToken)
          .containsExactly(tuple(a.id(), a.fencingToken()));
      assertThat(next.sessions("", "", 10)).extracting(Views.Session::id).contains(s.sessionId());
      // The state was complete: no restart recovery window, new grants at once.
      Broker.Opened again =
          next.open(
              HelloSpec.validate("w1", Map.of(), 0, s.sessionId(), List.of()), PRINCIPAL, channel);
      assertThat(again.resumed()).isTrue();
      RecordingAcquireCallback more = new RecordingAcquireCallback();
      next.acquire(
          AcquireSpec.validate(s.sessionId(), RENDER, "https://example.com/", "", null, "", 0, 0),
          PRINCIPAL,
          more);
      assertThat(more.granted()).isNotNull();
    } finally {
      next.close();
    }
  }

  /**
   * A state file whose lease carries a token of the loading run's epoch (an edited or foreign file)
   * would put a grant's token below one already held: that lease is skipped, not loaded.
   */
  @Test
  void load_aLeaseWithATokenOfTheLoadingRunsEpoch_skipped() {
    Broker.Opened s = open("", List.of());
    acquire(s.sessionId(), null).granted(); // epoch 1's token
    Fleet fleet = broker.fleet();
    Broker sameEpoch =
        new Broker(broker.policy(), time, 1, () -> 2, LeaseIds.seeded(7), HeapProbe.NONE);
    try {
      assertThat(sameEpoch.load(fleet)).isEqualTo(1);
      assertThat(sameEpoch.leases()).isEmpty();
    } finally {
      sameEpoch.close();
    }
  }
}
