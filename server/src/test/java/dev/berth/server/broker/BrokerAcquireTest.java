package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.RevokeReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Admission, the fair wait queue and idempotency, on a fake clock. */
class BrokerAcquireTest {

  private static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(Duration.ofSeconds(2))
        .sessionTtl(Duration.ofSeconds(10))
        .sweepInterval(Duration.ofMillis(250))
        .limit(RENDER, 1)
        .limit(PDF, 2)
        .limit(WASM, 2);
  }

  @Test
  void acquire_freeCapacity_grantsLeaseWithKindDefaults() {
    try (BrokerHarness h = new BrokerHarness(config().maxHold(RENDER, Duration.ofSeconds(30)))) {
      Worker a = h.open("a");
      long now = h.time.nanoTime();

      Lease lease = h.grant(a, RENDER);

      assertThat(lease.sessionId()).isEqualTo(a.sessionId());
      assertThat(lease.kind()).isEqualTo(RENDER);
      assertThat(lease.host()).isEqualTo("example.com");
      assertThat(lease.id()).matches("[0-9a-f]{32}");
      assertThat(lease.fencingToken()).isEqualTo(FencingTokens.firstTokenOf(1));
      assertThat(lease.memoryMb()).isEqualTo(300);
      assertThat(lease.grantedAtNanos()).isEqualTo(now);
      assertThat(lease.expiresAtNanos()).isEqualTo(now + Duration.ofSeconds(30).toNanos());
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(h.broker.counters().grants()).isEqualTo(1);
    }
  }

  @Test
  void acquire_poolFullWithoutWait_refusedExhausted() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, RENDER);

      Decision.Refused refused = h.acquire(a, RENDER).refused();

      assertThat(refused.reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(refused.retryAfterNanos()).isEqualTo(Duration.ofSeconds(1).toNanos());
      assertThat(refused.detail()).contains("RENDER 1/1");
      assertThat(h.broker.queued(RENDER)).isZero();
      assertThat(h.broker.counters().refusals(RefusalReason.EXHAUSTED)).isEqualTo(1);
    }
  }

  @Test
  void acquire_poolFullDetailReadAfterRelease_describesThePoolAtRefusal() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease held = h.grant(a, RENDER);

      Decision.Refused refused = h.acquire(a, RENDER).refused();
      h.release(a, held);

      // Written after the lock from the numbers captured at the refusal, not the pool's state now.
      assertThat(refused.detail()).isEqualTo("pool RENDER 1/1 in use, 0 queued");
      assertThat(refused.rule()).isEqualTo("pools.render.limit");
    }
  }

  @Test
  void acquire_successiveGrants_fencingTokensStrictlyIncrease() {
    try (BrokerHarness h = new BrokerHarness(config().limit(PDF, 100))) {
      Worker a = h.open("a");
      long last = 0;
      for (int i = 0; i < 50; i++) {
        Lease lease = h.grant(a, PDF);
        assertThat(lease.fencingToken()).isGreaterThan(last);
        assertThat(FencingTokens.epochOf(lease.fencingToken())).isEqualTo(1);
        last = lease.fencingToken();
        if (i % 2 == 0) {
          h.release(a, lease);
        }
      }
    }
  }

  @Test
  void release_queuedWaiters_grantedByPriorityThenFifo() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      Lease held = h.grant(holder, RENDER);
      Worker a = h.open("a");
      Duration wait = Duration.ofSeconds(9);
      RecordingAcquireCallback low1 = h.acquire(a, RENDER, wait, "", 0);
      RecordingAcquireCallback high1 = h.acquire(a, RENDER, wait, "", 5);
      RecordingAcquireCallback low2 = h.acquire(a, RENDER, wait, "", 0);
      RecordingAcquireCallback high2 = h.acquire(a, RENDER, wait, "", 5);
      RecordingAcquireCallback top = h.acquire(a, RENDER, wait, "", 9);
      assertThat(h.broker.queued(RENDER)).isEqualTo(5);

      List<RecordingAcquireCallback> order = new ArrayList<>();
      List<RecordingAcquireCallback> all = List.of(low1, high1, low2, high2, top);
      Lease current = held;
      Worker owner = holder;
      for (int i = 0; i < all.size(); i++) {
        h.release(owner, current);
        List<RecordingAcquireCallback> answered =
            all.stream().filter(RecordingAcquireCallback::isAnswered).toList();
        assertThat(answered).hasSize(i + 1);
        RecordingAcquireCallback next =
            answered.stream().filter(c -> !order.contains(c)).findFirst().orElseThrow();
        order.add(next);
        current = next.granted();
        owner = a;
      }

      assertThat(order).containsExactly(top, high1, high2, low1, low2);
      assertThat(h.broker.queued(RENDER)).isZero();
    }
  }

  @Test
  void release_cancelledWaiterAhead_skipsItAndGrantsNextLiveWaiter() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      Lease held = h.grant(holder, RENDER);
      Worker a = h.open("a");
      RecordingAcquireCallback cancelled = new RecordingAcquireCallback();
      Broker.PendingAcquire pending =
          h.broker.acquire(
              BrokerHarness.spec(a.sessionId(), RENDER, Duration.ofSeconds(5), "", 9),
              PRINCIPAL,
              cancelled);
      RecordingAcquireCallback live = h.acquire(a, RENDER, Duration.ofSeconds(5), "", 0);

      pending.cancel();
      assertThat(h.broker.queued(RENDER)).isEqualTo(1);
      h.release(holder, held);

      assertThat(live.granted().sessionId()).isEqualTo(a.sessionId());
      assertThat(cancelled.answers()).isEmpty();
      h.time.advanceMillis(6_000);
      assertThat(cancelled.answers()).isEmpty();
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    }
  }

  @Test
  void sweep_waiterAheadReachedItsDeadline_isNeverGrantedAndNextLiveWaiterIs() {
    // The holder's max hold ends at the same instant as the first waiter's wait; the sweep runs
    // first at that instant, so the slot is offered while that waiter is already dead.
    try (BrokerHarness h = new BrokerHarness(config().maxHold(RENDER, Duration.ofSeconds(1)))) {
      Worker holder = h.open("holder");
      Lease held = h.grant(holder, RENDER);
      Worker a = h.open("a");
      RecordingAcquireCallback expired = h.acquire(a, RENDER, Duration.ofSeconds(1), "", 9);
      RecordingAcquireCallback live = h.acquire(a, RENDER, Duration.ofSeconds(5), "", 0);

      h.time.advanceMillis(1_000);

      assertThat(h.isLive(held)).isFalse();
      assertThat(live.granted().sessionId()).isEqualTo(a.sessionId());
      assertThat(expired.refused().reason()).isEqualTo(RefusalReason.TIMEOUT);
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(h.broker.queued(RENDER)).isZero();
    }
  }

  @Test
  void acquire_waitRunsOut_refusedTimeoutAtExactlyWait() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, RENDER);
      RecordingAcquireCallback waiting = h.acquire(a, RENDER, Duration.ofSeconds(2));

      h.time.advanceMillis(1_999);
      assertThat(waiting.isAnswered()).isFalse();
      assertThat(h.broker.queued(RENDER)).isEqualTo(1);

      h.time.advanceMillis(1);
      Decision.Refused refused = waiting.refused();
      assertThat(refused.reason()).isEqualTo(RefusalReason.TIMEOUT);
      assertThat(refused.detail()).contains("RENDER");
      assertThat(h.broker.queued(RENDER)).isZero();
      assertThat(h.broker.counters().refusals(RefusalReason.TIMEOUT)).isEqualTo(1);
    }
  }

  @Test
  void acquire_sameRequestIdAfterGrant_returnsSameLease() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease first = h.acquire(a, RENDER, null, "req-1", 0).granted();

      Lease again = h.acquire(a, RENDER, null, "req-1", 0).granted();

      assertThat(again).isEqualTo(first);
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(h.broker.counters().grants()).isEqualTo(1);
    }
  }

  @Test
  void acquire_sameRequestIdAfterItsLeaseWasReleased_decidedAfreshNotAnsweredTheEndedLease() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker other = h.open("other");
      Lease first = h.acquire(a, RENDER, null, "page-42", 0).granted();
      h.release(a, first);
      Lease others = h.grant(other, RENDER);

      Decision.Refused again = h.acquire(a, RENDER, null, "page-42", 0).refused();

      assertThat(again.reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(h.broker.leases()).containsExactly(others);
    }
  }

  @Test
  void acquire_sameRequestIdAfterItsLeaseWasRevoked_grantedANewLease() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease first = h.acquire(a, RENDER, null, "page-42", 0).granted();
      h.broker.revoke(first.id(), RevokeReason.ADMIN, Duration.ZERO);

      Lease again = h.acquire(a, RENDER, null, "page-42", 0).granted();

      assertThat(again.id()).isNotEqualTo(first.id());
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    }
  }

  @Test
  void acquire_sameRequestIdAfterRefusal_returnsSameRefusal() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease held = h.grant(a, RENDER);
      Decision.Refused first = h.acquire(a, RENDER, null, "req-1", 0).refused();
      h.release(a, held);

      Decision.Refused again = h.acquire(a, RENDER, null, "req-1", 0).refused();

      assertThat(again).isEqualTo(first);
      assertThat(h.broker.inUse(RENDER)).isZero();
    }
  }

  @Test
  void acquire_sameRequestIdWhileWaiting_attachesToSameWaiter() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      Lease held = h.grant(holder, RENDER);
      Worker a = h.open("a");
      RecordingAcquireCallback first = h.acquire(a, RENDER, Duration.ofSeconds(5), "req-2", 0);
      RecordingAcquireCallback repeat = h.acquire(a, RENDER, Duration.ofSeconds(5), "req-2", 0);
      assertThat(h.broker.queued(RENDER)).isEqualTo(1);

      h.release(holder, held);

      assertThat(first.granted()).isEqualTo(repeat.granted());
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(h.broker.counters().grants()).isEqualTo(2);
    }
  }

  @Test
  void cancel_oneOfTwoCallersOfAWaiter_otherCallerStillGranted() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      Lease held = h.grant(holder, RENDER);
      Worker a = h.open("a");
      AcquireSpec spec = BrokerHarness.spec(a.sessionId(), RENDER, Duration.ofSeconds(5), "r", 0);
      RecordingAcquireCallback gone = new RecordingAcquireCallback();
      RecordingAcquireCallback staying = new RecordingAcquireCallback();
      h.broker.acquire(spec, PRINCIPAL, gone).cancel();
      // The first caller left before the retry came, so the retry starts afresh.
      assertThat(h.broker.queued(RENDER)).isZero();
      RecordingAcquireCallback other = new RecordingAcquireCallback();
      Broker.PendingAcquire otherPending = h.broker.acquire(spec, PRINCIPAL, other);
      h.broker.acquire(spec, PRINCIPAL, staying);
      otherPending.cancel();
      assertThat(h.broker.queued(RENDER)).isEqualTo(1);

      h.release(holder, held);

      assertThat(staying.granted().sessionId()).isEqualTo(a.sessionId());
      assertThat(gone.answers()).isEmpty();
      assertThat(other.answers()).isEmpty();
    }
  }

  @Test
  void acquire_requestIdReusedForDifferentKind_throwsFailedPrecondition() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.acquire(a, PDF, null, "req-3", 0).granted();

      assertThatThrownBy(() -> h.acquire(a, WASM, null, "req-3", 0))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.FAILED_PRECONDITION))
          .hasMessageContaining("request_id");
      assertThat(h.broker.inUse(WASM)).isZero();
    }
  }

  @Test
  void acquire_requestIdOfALongUrl_retryAnsweredTheFirstLease_anotherLongUrlRefused() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      String url = "https://example.com/" + "p".repeat(AcquireSpec.MAX_URL_LENGTH - 20);
      String other = url.substring(0, url.length() - 1) + "q";
      Lease first = grantUrl(h, a, url);

      Lease again = grantUrl(h, a, url);

      assertThat(again).isEqualTo(first);
      assertThatThrownBy(() -> grantUrl(h, a, other))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.FAILED_PRECONDITION))
          .hasMessageContaining("sha256:")
          .hasMessageNotContaining("ppppp");
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    }
  }

  private static Lease grantUrl(BrokerHarness h, Worker w, String url) {
    RecordingAcquireCallback answer = new RecordingAcquireCallback();
    h.broker.acquire(
        AcquireSpec.validate(w.sessionId(), RENDER, url, "", null, "long-1", 0, 0),
        PRINCIPAL,
        answer);
    return answer.granted();
  }

  @Test
  void acquire_requestIdReusedForDifferentUrl_throwsFailedPrecondition() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.acquire(a, RENDER, null, "req-4", 0).granted();
      AcquireSpec other =
          AcquireSpec.validate(
              a.sessionId(), RENDER, "https://other.example/", "", null, "req-4", 0, 0);

      assertThatThrownBy(() -> h.broker.acquire(other, PRINCIPAL, new RecordingAcquireCallback()))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.FAILED_PRECONDITION))
          .hasMessageContaining("request_id");
    }
  }

  @Test
  void acquire_requestIdsAreScopedToTheirSession() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");

      Lease ofA = h.acquire(a, PDF, null, "same", 0).granted();
      Lease ofB = h.acquire(b, PDF, null, "same", 0).granted();

      assertThat(ofA.id()).isNotEqualTo(ofB.id());
      assertThat(h.broker.inUse(PDF)).isEqualTo(2);
    }
  }

  @Test
  void acquire_wasmTwiceInOneSession_returnsSameLease() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease first = h.grant(a, WASM);

      Lease second = h.grant(a, WASM);

      assertThat(second).isEqualTo(first);
      assertThat(first.module()).isEqualTo("extractor");
      assertThat(h.broker.inUse(WASM)).isEqualTo(1);
      assertThat(h.broker.counters().grants()).isEqualTo(1);
    }
  }

  @Test
  void acquire_wasmFleetCapReached_refusesNewSessionButNotExistingHolder() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Worker c = h.open("c");
      Lease ofA = h.grant(a, WASM);
      h.grant(b, WASM);

      Decision.Refused refused = h.acquire(c, WASM).refused();

      assertThat(refused.reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(h.grant(a, WASM)).isEqualTo(ofA);
      assertThat(h.broker.inUse(WASM)).isEqualTo(2);
    }
  }

  @Test
  void release_wasmOfWaitingSession_grantsItsOwnInstanceFromQueue() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Worker c = h.open("c");
      Lease ofA = h.grant(a, WASM);
      h.grant(b, WASM);
      RecordingAcquireCallback waiting = h.acquire(c, WASM, Duration.ofSeconds(5));

      h.release(a, ofA);

      assertThat(waiting.granted().sessionId()).isEqualTo(c.sessionId());
      assertThat(h.broker.inUse(WASM)).isEqualTo(2);
    }
  }

  @Test
  void acquire_perSessionLimitReached_refusedExhaustedNamingSession() {
    try (BrokerHarness h =
        new BrokerHarness(config().limit(RENDER, 4).perSessionLimit(RENDER, 1))) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      h.grant(a, RENDER);

      Decision.Refused refused = h.acquire(a, RENDER).refused();

      assertThat(refused.reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(refused.detail()).contains(a.sessionId());
      assertThat(h.grant(b, RENDER).sessionId()).isEqualTo(b.sessionId());
    }
  }

  @Test
  void acquire_perSessionLimitReachedWithWait_waitsWithoutBlockingOtherSessions() {
    try (BrokerHarness h =
        new BrokerHarness(config().limit(RENDER, 2).perSessionLimit(RENDER, 1))) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Worker c = h.open("c");
      Lease first = h.grant(a, RENDER);
      RecordingAcquireCallback ownTurn = h.acquire(a, RENDER, Duration.ofSeconds(5), "", 9);
      Lease ofB = h.grant(b, RENDER);
      RecordingAcquireCallback ofC = h.acquire(c, RENDER, Duration.ofSeconds(5), "", 0);

      // b's slot frees: a's waiter, first in the queue, still may not hold two; c's may go.
      h.release(b, ofB);
      assertThat(ownTurn.isAnswered()).isFalse();
      assertThat(ofC.granted().sessionId()).isEqualTo(c.sessionId());

      h.release(a, first);
      assertThat(ownTurn.granted().sessionId()).isEqualTo(a.sessionId());
      assertThat(h.broker.inUse(RENDER)).isEqualTo(2);
    }
  }

  @Test
  void acquire_unknownSession_throwsNotFound() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      RecordingAcquireCallback callback = new RecordingAcquireCallback();

      assertThatThrownBy(
              () ->
                  h.broker.acquire(
                      BrokerHarness.spec("nosuchsession", PDF, null, "", 0), PRINCIPAL, callback))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND))
          .hasMessageContaining("session_id");
      assertThat(callback.answers()).isEmpty();
    }
  }

  @Test
  void updateConfig_raisedLimit_grantsQueuedWaitersAtOnce() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, RENDER);
      RecordingAcquireCallback first = h.acquire(a, RENDER, Duration.ofSeconds(5));
      RecordingAcquireCallback second = h.acquire(a, RENDER, Duration.ofSeconds(5));

      h.broker.updateConfig(h.broker.config().toBuilder().limit(RENDER, 2).build());

      assertThat(first.granted().kind()).isEqualTo(RENDER);
      assertThat(second.isAnswered()).isFalse();
      assertThat(h.broker.inUse(RENDER)).isEqualTo(2);
    }
  }

  @Test
  void updateConfig_loweredLimit_keepsLeasesAndRefusesUntilBelowIt() {
    try (BrokerHarness h = new BrokerHarness(config().limit(PDF, 3))) {
      Worker a = h.open("a");
      Lease one = h.grant(a, PDF);
      Lease two = h.grant(a, PDF);

      h.broker.updateConfig(h.broker.config().toBuilder().limit(PDF, 1).build());

      assertThat(h.isLive(one)).isTrue();
      assertThat(h.isLive(two)).isTrue();
      assertThat(h.acquire(a, PDF).refused().reason()).isEqualTo(RefusalReason.EXHAUSTED);
      h.release(a, one);
      assertThat(h.acquire(a, PDF).refused().reason()).isEqualTo(RefusalReason.EXHAUSTED);
      h.release(a, two);
      assertThat(h.grant(a, PDF).kind()).isEqualTo(PDF);
    }
  }

  @Test
  void explain_poolFull_reportsRefusalWithoutChangingAnything() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, RENDER);

      Views.Explained explained =
          h.broker.explain(BrokerHarness.spec(a.sessionId(), RENDER, null, "x", 0));

      assertThat(explained.verdict().refusal().reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(explained.steps()).isNotEmpty();
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(h.broker.counters().refusals(RefusalReason.EXHAUSTED)).isZero();
      // explain did not consume the request id
      assertThat(h.acquire(a, PDF, null, "x", 0).granted().kind()).isEqualTo(PDF);
    }
  }

  @Test
  void cancel_oneCallerAtDeadlineBeforeTimeoutRuns_otherCallerStillAnswered() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      h.grant(holder, RENDER);
      Worker a = h.open("a");
      AcquireSpec spec = BrokerHarness.spec(a.sessionId(), RENDER, Duration.ofSeconds(2), "r", 0);
      List<Broker.PendingAcquire> first = new ArrayList<>();
      // The first caller's cancellation lands at the deadline instant, just before the broker's
      // own timeout task for the waiter (scheduled after this one) runs.
      h.time.schedule(() -> first.get(0).cancel(), Duration.ofSeconds(2).toNanos());
      RecordingAcquireCallback gone = new RecordingAcquireCallback();
      RecordingAcquireCallback staying = new RecordingAcquireCallback();
      first.add(h.broker.acquire(spec, PRINCIPAL, gone));
      h.broker.acquire(spec, PRINCIPAL, staying);

      h.time.advanceMillis(2_000);

      assertThat(staying.refused().reason()).isEqualTo(RefusalReason.TIMEOUT);
      assertThat(gone.answers()).isEmpty();
    }
  }
}
