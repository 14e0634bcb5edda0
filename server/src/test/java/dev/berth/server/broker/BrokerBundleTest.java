package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.broker.BrokerHarness.RENDER_URL;
import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.berth.server.admission.Admission;
import dev.berth.server.admission.BundleDecision;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RecordingBundleCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bundles: all-or-nothing grants, one place in the queue, idempotency and their ends. */
class BrokerBundleTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(Duration.ofSeconds(2))
        .sessionTtl(Duration.ofSeconds(10))
        .sweepInterval(Duration.ofMillis(250))
        .limit(RENDER, 2)
        .limit(PDF, 1)
        .limit(WASM, 2);
  }

  private static BundleSpec.Item item(ResourceKind kind) {
    return new BundleSpec.Item("", kind, kind == RENDER ? RENDER_URL : "", "", null, "", 0, 0);
  }

  private static BundleSpec bundle(
      Worker worker, Duration wait, String requestId, ResourceKind... kinds) {
    List<BundleSpec.Item> items = new ArrayList<>();
    for (ResourceKind kind : kinds) {
      items.add(item(kind));
    }
    return BundleSpec.validate(worker.sessionId(), items, wait, requestId, 0);
  }

  private static RecordingBundleCallback acquire(BrokerHarness h, BundleSpec spec) {
    RecordingBundleCallback callback = new RecordingBundleCallback();
    h.broker.acquireBundle(spec, PRINCIPAL, callback);
    return callback;
  }

  @Test
  void acquireBundle_everyItemFits_grantsEveryLeaseInItemOrder() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");

      List<Lease> leases = acquire(h, bundle(a, null, "", RENDER, PDF, WASM)).granted();

      assertThat(leases).extracting(Lease::kind).containsExactly(RENDER, PDF, WASM);
      assertThat(leases).allMatch(l -> l.sessionId().equals(a.sessionId()));
      assertThat(leases).allMatch(h::isLive);
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(h.broker.inUse(PDF)).isEqualTo(1);
      assertThat(h.broker.counters().grants()).isEqualTo(3);
    }
  }

  @Test
  void acquireBundle_onePoolFull_refusedNamingItemAndRuleGrantingNothing() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, PDF);

      BundleDecision.Refused refused = acquire(h, bundle(a, null, "", RENDER, PDF)).refused();

      assertThat(refused.item()).isEqualTo(1);
      assertThat(refused.refusal().reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(refused.refusal().rule()).isEqualTo("pools.pdf.limit");
      assertThat(h.broker.inUse(RENDER)).isZero();
      assertThat(h.broker.leases()).hasSize(1);
    }
  }

  @Test
  void acquireBundle_moreTokensOfOneHostThanItsBurst_refusedNamingTheBurst() {
    Policy policy =
        Policy.of(config().build())
            .withRateLimit(RateLimitConfig.newBuilder().host("example.com", 0.2, 1).build());
    try (BrokerHarness h = new BrokerHarness(policy, HeapProbe.NONE)) {
      Worker a = h.open("a");

      BundleDecision.Refused refused = acquire(h, bundle(a, null, "", RENDER, RENDER)).refused();

      assertThat(refused.refusal().reason()).isEqualTo(RefusalReason.RATE_LIMITED);
      assertThat(refused.refusal().rule()).isEqualTo("rate_limit.hosts['example.com'].burst");
      assertThat(refused.refusal().detail())
          .endsWith(
              "(this bundle needs 2 of its tokens at once, more than the burst of 1: it can be"
                  + " granted only once the burst is raised)");
      assertThat(h.broker.leases()).isEmpty();
      // A bundle within the burst names the rate, as before.
      assertThat(acquire(h, bundle(a, null, "", RENDER, PDF)).granted()).hasSize(2);
      BundleDecision.Refused later = acquire(h, bundle(a, null, "", RENDER, WASM)).refused();
      assertThat(later.refusal().rule()).isEqualTo("rate_limit.hosts['example.com'].rate");
    }
  }

  @Test
  void acquireBundle_twoItemsOfOneKind_secondCountsTheFirst() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, RENDER);

      // One RENDER slot is free: enough for either item alone, not for both.
      BundleDecision.Refused refused = acquire(h, bundle(a, null, "", RENDER, RENDER)).refused();

      assertThat(refused.item()).isEqualTo(1);
      assertThat(refused.refusal().rule()).isEqualTo("pools.render.limit");
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    }
  }

  @Test
  void acquireBundle_poolsFull_waitsAsOnePlaceAndIsGrantedWhenAllFits() {
    try (BrokerHarness h = new BrokerHarness(config().limit(RENDER, 1))) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease render = h.grant(a, RENDER);
      Lease pdf = h.grant(a, PDF);

      RecordingBundleCallback waiting = acquire(h, bundle(b, WAIT, "", RENDER, PDF));

      assertThat(waiting.isAnswered()).isFalse();
      assertThat(h.broker.queued(RENDER)).isEqualTo(1);
      assertThat(h.broker.queued(PDF)).isEqualTo(1);
      assertThat(h.broker.status().jobs().get(0).waiting()).isEqualTo(1);

      h.release(a, render);
      // RENDER is free but PDF is not: nothing of the bundle is held, not even for an instant.
      assertThat(waiting.isAnswered()).isFalse();
      assertThat(h.broker.inUse(RENDER)).isZero();
      assertThat(h.broker.leases()).extracting(Lease::sessionId).doesNotContain(b.sessionId());

      h.release(a, pdf);
      assertThat(waiting.granted()).extracting(Lease::kind).containsExactly(RENDER, PDF);
      assertThat(h.broker.queued(RENDER)).isZero();
      assertThat(h.broker.queued(PDF)).isZero();
    }
  }

  @Test
  void acquireBundle_freedSlotOfAWaitingBundle_goesToASingleAcquireThatFits() {
    try (BrokerHarness h = new BrokerHarness(config().limit(RENDER, 1))) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease render = h.grant(a, RENDER);
      h.grant(a, PDF);
      RecordingBundleCallback bundle = acquire(h, bundle(b, WAIT, "", RENDER, PDF));

      h.release(a, render);
      Lease single = h.grant(b, RENDER);

      assertThat(single.kind()).isEqualTo(RENDER);
      assertThat(bundle.isAnswered()).isFalse();
    }
  }

  @Test
  void acquireBundle_sameRequestIdAgain_answersTheFirstAnswer() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      List<Lease> first = acquire(h, bundle(a, null, "r1", RENDER, PDF)).granted();

      List<Lease> again = acquire(h, bundle(a, null, "r1", RENDER, PDF)).granted();

      assertThat(again).isEqualTo(first);
      assertThat(h.broker.leases()).hasSize(2);
    }
  }

  @Test
  void acquireBundle_sameRequestIdAfterOneOfItsLeasesWasReleased_grantedANewBundle() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      List<Lease> first = acquire(h, bundle(a, null, "r1", RENDER, PDF)).granted();
      h.release(a, first.get(1));

      List<Lease> again = acquire(h, bundle(a, null, "r1", RENDER, PDF)).granted();

      assertThat(again).doesNotContainAnyElementsOf(first);
      assertThat(h.broker.leases())
          .containsExactlyInAnyOrder(first.get(0), again.get(0), again.get(1));
    }
  }

  @Test
  void acquireBundle_requestIdReusedForAnotherRequest_failedPreconditionChangingNothing() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      acquire(h, bundle(a, null, "r1", RENDER, PDF)).granted();

      assertThatThrownBy(() -> acquire(h, bundle(a, null, "r1", RENDER, WASM)))
          .isInstanceOf(BrokerException.class)
          .extracting(e -> ((BrokerException) e).code())
          .isEqualTo(BrokerException.Code.FAILED_PRECONDITION);
      assertThatThrownBy(() -> h.acquire(BrokerHarness.spec(a.sessionId(), RENDER, null, "r1", 0)))
          .isInstanceOf(BrokerException.class)
          .hasMessageContaining("bundle of");
      assertThat(h.broker.leases()).hasSize(2);
    }
  }

  @Test
  void acquireBundle_cancelledWhileWaiting_freesItsPlace() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease pdf = h.grant(a, PDF);
      RecordingBundleCallback callback = new RecordingBundleCallback();
      Broker.PendingAcquire pending =
          h.broker.acquireBundle(bundle(b, WAIT, "", RENDER, PDF), PRINCIPAL, callback);

      pending.cancel();
      h.release(a, pdf);

      assertThat(callback.isAnswered()).isFalse();
      assertThat(h.broker.queued(RENDER)).isZero();
      assertThat(h.broker.queued(PDF)).isZero();
      assertThat(h.broker.leases()).isEmpty();
    }
  }

  @Test
  void acquireBundle_sessionEndsWhileWaiting_failsTheBundle() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      h.grant(a, PDF);
      RecordingBundleCallback waiting = acquire(h, bundle(b, WAIT, "", RENDER, PDF));

      h.broker.goodbye(b.sessionId(), b.channel());

      assertThat(waiting.failure().code()).isEqualTo(BrokerException.Code.NOT_FOUND);
      assertThat(h.broker.queued(PDF)).isZero();
    }
  }

  @Test
  void acquireBundle_timesOut_refusedTimeoutNamingTheBlockingItem() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, PDF);
      RecordingBundleCallback waiting =
          acquire(h, bundle(a, Duration.ofSeconds(1), "", RENDER, PDF));

      h.time.advance(Duration.ofSeconds(1));

      BundleDecision.Refused refused = waiting.refused();
      assertThat(refused.item()).isEqualTo(1);
      assertThat(refused.refusal().reason()).isEqualTo(RefusalReason.TIMEOUT);
      assertThat(refused.refusal().rule()).isEqualTo("pools.pdf.limit");
      assertThat(h.broker.inUse(RENDER)).isZero();
    }
  }

  @Test
  void acquireBundle_itemsOverTheLeaseCap_resourceExhaustedCountingEveryItem() {
    try (BrokerHarness h =
        new BrokerHarness(
            BrokerHarness.withoutHostLimits(config().build()).withCaps(new PrincipalCaps(0, 3, 0)),
            dev.berth.server.memory.HeapProbe.NONE)) {
      Worker a = h.open("a");
      h.grant(a, RENDER);

      assertThatThrownBy(() -> acquire(h, bundle(a, null, "", RENDER, PDF, WASM)))
          .isInstanceOf(BrokerException.class)
          .hasMessageContaining(PrincipalCaps.Keys.LEASES);
      assertThat(h.broker.leases()).hasSize(1);
      assertThat(acquire(h, bundle(a, null, "", PDF, WASM)).granted()).hasSize(2);
    }
  }

  @Test
  void acquireBundle_waitingBehindAnotherBundle_grantedInArrivalOrder() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease pdf = h.grant(a, PDF);
      RecordingBundleCallback first = acquire(h, bundle(a, WAIT, "", RENDER, PDF));
      RecordingBundleCallback second = acquire(h, bundle(b, WAIT, "", RENDER, PDF));

      h.release(a, pdf);

      assertThat(first.granted()).hasSize(2);
      assertThat(second.isAnswered()).isFalse();
      assertThat(h.broker.queued(PDF)).isEqualTo(1);
    }
  }

  @Test
  void explainBundle_oneItemBlocked_listsEveryItemsRulesAndGrantsNothing() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, PDF);

      Views.Explained explained = h.broker.explainBundle(bundle(a, null, "", RENDER, PDF));

      assertThat(explained.steps()).anyMatch(s -> s.rule().startsWith("items[0] "));
      assertThat(explained.steps())
          .anyMatch(s -> s.rule().equals("items[1] pool PDF") && !s.passed());
      assertThat(h.broker.leases()).hasSize(1);
    }
  }

  @Test
  void acquire_singleRefused_namesTheRule() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.grant(a, PDF);

      RecordingAcquireCallback refused = h.acquire(a, PDF);

      assertThat(refused.refused().rule()).isEqualTo("pools.pdf.limit");
    }
  }

  // ---------------------------------------------------------------- memory of earlier items

  /** Fleet limit 4000 MB; RENDER 300, PDF 150 and WASM 50 MB a lease by default. */
  private static BrokerHarness memoryHarness() {
    Policy policy =
        Policy.of(config().limit(RENDER, 4).build())
            .withRateLimit(
                RateLimitConfig.newBuilder().defaultRate(1000).defaultBurst(1000).build())
            .withMemory(MemoryConfig.newBuilder().fleetLimitMb(4000).build());
    return new BrokerHarness(policy, HeapProbe.NONE);
  }

  private static final String CROSSING =
      "fleet 3500/4000 MB = 0.88 >= pressure_on 0.85 with 300 MB estimated for this bundle's"
          + " earlier items";

  @Test
  void acquireBundle_earlierItemsMemoryTurnsPressureOn_refusedAtThatItemGrantingNothing() {
    try (BrokerHarness h = memoryHarness()) {
      Worker a = h.open("a");
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 3200, 0); // 0.80: no pressure

      // RENDER fits (3200 MB); PDF after it would see 3500 MB = 0.875, past pressure_on.
      BundleDecision.Refused refused = acquire(h, bundle(a, null, "", RENDER, PDF, WASM)).refused();

      assertThat(refused.item()).isEqualTo(1);
      assertThat(refused.refusal().reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
      assertThat(refused.refusal().rule()).isEqualTo("memory.pressure_on");
      assertThat(refused.refusal().detail()).isEqualTo(CROSSING);
      assertThat(h.broker.leases()).isEmpty();
      assertThat(h.broker.status().pressure().fleetUsedMb()).isEqualTo(3200);
      // Explain tells the same: the first item passes its memory check, the second does not.
      Views.Explained explained = h.broker.explainBundle(bundle(a, null, "", RENDER, PDF, WASM));
      assertThat(explained.verdict().item()).isEqualTo(1);
      assertThat(explained.verdict().refusal().detail()).isEqualTo(CROSSING);
      assertThat(explained.steps())
          .filteredOn(s -> s.rule().endsWith(" memory pressure"))
          .extracting(Admission.Step::rule, Admission.Step::passed, Admission.Step::detail)
          .containsExactly(
              tuple("items[0] memory pressure", true, "no memory pressure"),
              tuple("items[1] memory pressure", false, CROSSING));
      // Acquired one after another, the PDF is refused just the same, once the RENDER counts.
      h.grant(a, RENDER);
      assertThat(h.acquire(a, PDF).refused().reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
    }
  }

  @Test
  void acquireBundle_wasmFirst_itsEstimateCounts_unlessTheSessionHoldsItsInstance() {
    try (BrokerHarness h = memoryHarness()) {
      Worker a = h.open("a");
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 3350, 0);

      // WASM (50 MB) then RENDER: 3400 MB = 0.85 reaches pressure_on.
      BundleDecision.Refused refused = acquire(h, bundle(a, null, "", WASM, RENDER)).refused();
      assertThat(refused.item()).isEqualTo(1);
      assertThat(refused.refusal().detail())
          .isEqualTo(
              "fleet 3400/4000 MB = 0.85 >= pressure_on 0.85 with 50 MB estimated for this"
                  + " bundle's earlier items");

      // The instance the session holds is answered again, and charges nothing more.
      h.broker.heartbeat(a.sessionId(), a.channel(), 2, 3300, 0);
      h.grant(a, WASM); // 3350 MB charged
      assertThat(acquire(h, bundle(a, null, "", WASM, RENDER)).granted()).hasSize(2);
    }
  }

  @Test
  void acquireBundle_waitingForItsItemsMemory_grantedOnTheSweepAfterUsageFalls_othersNotHeld() {
    try (BrokerHarness h = memoryHarness()) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 3200, 0);
      RecordingBundleCallback waiting = acquire(h, bundle(a, WAIT, "", RENDER, PDF));
      assertThat(waiting.isAnswered()).isFalse();

      // Nothing holds a single acquire back: the bundle waits for itself alone.
      RecordingAcquireCallback single = h.acquire(b, PDF, WAIT);
      assertThat(single.granted().kind()).isEqualTo(PDF); // 3350 MB = 0.84: still no pressure
      h.release(b, single.granted());
      h.broker.heartbeat(b.sessionId(), b.channel(), 1, 0, 0); // b's report replaces its charge
      assertThat(waiting.isAnswered()).isFalse();

      // a frees a little: no level changes (pressure was never on), yet the bundle now fits, and
      // the next sweep grants it.
      h.broker.heartbeat(a.sessionId(), a.channel(), 2, 3000, 0);
      h.broker.sweep();

      assertThat(waiting.granted()).extracting(Lease::kind).containsExactly(RENDER, PDF);
    }
  }

  @Test
  void acquireBundle_waitingForItsItemsMemory_grantedOnTheSweepWhenAnotherSessionEnds() {
    try (BrokerHarness h = memoryHarness()) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 1000, 0);
      h.broker.heartbeat(b.sessionId(), b.channel(), 1, 2200, 0);
      RecordingBundleCallback waiting = acquire(h, bundle(a, WAIT, "", RENDER, PDF));
      assertThat(waiting.isAnswered()).isFalse();

      h.broker.goodbye(b.sessionId(), b.channel());
      h.broker.sweep();

      assertThat(waiting.granted()).hasSize(2);
    }
  }
}
