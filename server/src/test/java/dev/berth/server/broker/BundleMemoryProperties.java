package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.broker.BrokerHarness.RENDER_URL;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.BundleDecision;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RecordingBundleCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * A bundle's memory check counts its earlier items: a bundle is granted exactly when its items,
 * acquired one after another by the same worker (each charged as it is granted), would all be
 * granted, and is otherwise refused for memory at the item the first single acquire would be
 * refused at. Pools and host rates never bind here, so memory alone decides.
 */
class BundleMemoryProperties {

  /** One worker: the limit its hello declares (0: none) and the usage it reports. */
  record WorkerMem(long limitMb, long usedMb) {}

  /** One item: its kind and its own estimate (0: its kind's default). */
  record Item(ResourceKind kind, int estimateMb) {}

  record Case(
      long fleetLimitMb,
      double on,
      double off,
      List<WorkerMem> others,
      WorkerMem acquirer,
      boolean holdsWasm,
      List<Item> items) {}

  @Provide
  Arbitrary<Case> cases() {
    Arbitrary<WorkerMem> worker =
        Combinators.combine(
                Arbitraries.of(0L, 0L, 1000L, 2000L, 4000L), Arbitraries.longs().between(0, 4000))
            .as(WorkerMem::new);
    Arbitrary<Item> item =
        Combinators.combine(
                Arbitraries.of(ResourceKind.class), Arbitraries.of(0, 0, 1, 100, 400, 1000, 3000))
            .as(Item::new);
    Arbitrary<Double> on = Arbitraries.of(0.5, 0.7, 0.85, 0.9);
    return Combinators.combine(
            Arbitraries.of(0L, 3000L, 6000L, 10_000L),
            on,
            Arbitraries.of(0.1, 0.3, 0.5),
            worker.list().ofMaxSize(3),
            worker,
            Arbitraries.of(false, true),
            item.list()
                .ofMinSize(2)
                .ofMaxSize(5)
                .filter(l -> l.stream().filter(i -> i.kind() == ResourceKind.WASM).count() <= 1))
        .as(
            (limit, o, offBelow, others, me, wasm, items) ->
                new Case(limit, o, Math.max(0.05, o - offBelow), others, me, wasm, items));
  }

  @Property(tries = 400)
  void bundleGranted_exactlyWhenItsItemsOneAfterAnotherWouldBe(@ForAll("cases") Case c) {
    try (BrokerHarness bundled = harness(c);
        BrokerHarness single = harness(c)) {
      String a = setUp(bundled, c);
      String b = setUp(single, c);

      RecordingBundleCallback answer = new RecordingBundleCallback();
      bundled.broker.acquireBundle(bundleOf(a, c.items()), PRINCIPAL, answer);

      int firstRefused = -1;
      for (int i = 0; i < c.items().size() && firstRefused < 0; i++) {
        RecordingAcquireCallback one = new RecordingAcquireCallback();
        single.broker.acquire(specOf(b, c.items().get(i)), PRINCIPAL, one);
        if (one.answers().get(0) instanceof Decision.Refused refused) {
          assertThat(refused.reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
          firstRefused = i;
        }
      }
      if (firstRefused < 0) {
        assertThat(answer.granted()).hasSize(c.items().size());
      } else {
        BundleDecision.Refused refused = answer.refused();
        assertThat(refused.item()).isEqualTo(firstRefused);
        assertThat(refused.refusal().reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
        assertThat(bundled.broker.leases()).hasSize(c.holdsWasm() ? 1 : 0);
        // ExplainBundle answers the same.
        assertThat(bundled.broker.explainBundle(bundleOf(a, c.items())).verdict().item())
            .isEqualTo(firstRefused);
      }
    }
  }

  private static BrokerHarness harness(Case c) {
    BrokerConfig.Builder pools =
        BrokerConfig.newBuilder()
            .heartbeatInterval(Duration.ofSeconds(2))
            .sessionTtl(Duration.ofSeconds(10))
            .sweepInterval(Duration.ofMillis(250));
    for (ResourceKind kind : ResourceKind.values()) {
      pools.limit(kind, 100);
    }
    MemoryConfig memory =
        MemoryConfig.newBuilder()
            .fleetLimitMb(c.fleetLimitMb())
            .pressureOn(c.on())
            .pressureOff(c.off())
            .critical(Math.max(c.on(), 0.95))
            .build();
    Policy policy =
        Policy.of(pools.build())
            .withRateLimit(
                RateLimitConfig.newBuilder().defaultRate(100_000).defaultBurst(100_000).build())
            .withMemory(memory);
    return new BrokerHarness(policy, HeapProbe.NONE);
  }

  /** Opens the other workers and the acquirer, with their reports; returns the acquirer's id. */
  private static String setUp(BrokerHarness h, Case c) {
    int n = 0;
    for (WorkerMem w : c.others()) {
      open(h, "other-" + n++, w);
    }
    String me = open(h, "me", c.acquirer());
    if (c.holdsWasm()) {
      RecordingAcquireCallback wasm = new RecordingAcquireCallback();
      h.broker.acquire(specOf(me, new Item(ResourceKind.WASM, 0)), PRINCIPAL, wasm);
      wasm.granted();
    }
    return me;
  }

  private static String open(BrokerHarness h, String workerId, WorkerMem w) {
    RecordingSessionChannel channel = new RecordingSessionChannel();
    String id =
        h.broker
            .open(
                HelloSpec.validate(workerId, Map.of(), w.limitMb(), "", List.of()),
                PRINCIPAL,
                channel)
            .sessionId();
    h.broker.heartbeat(id, channel, 1, w.usedMb(), 0);
    return id;
  }

  private static AcquireSpec specOf(String sessionId, Item item) {
    return AcquireSpec.validate(
        sessionId, item.kind(), urlOf(item), "", null, "", 0, item.estimateMb());
  }

  private static BundleSpec bundleOf(String sessionId, List<Item> items) {
    List<BundleSpec.Item> specs = new ArrayList<>();
    for (Item item : items) {
      specs.add(
          new BundleSpec.Item("", item.kind(), urlOf(item), "", null, "", 0, item.estimateMb()));
    }
    return BundleSpec.validate(sessionId, specs, null, "", 0);
  }

  private static String urlOf(Item item) {
    return item.kind() == ResourceKind.RENDER ? RENDER_URL : "";
  }
}
