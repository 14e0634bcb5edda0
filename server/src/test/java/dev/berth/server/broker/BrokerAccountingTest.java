package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.broker.BrokerHarness.RENDER_URL;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RecordingBundleCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.HelloSpec.HeldLease;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.TestModules;
import dev.berth.server.wasm.WasmConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Capacity accounting on paths the other broker tests do not take: a bundle that does not fit yet
 * behind which single acquires wait, a retry after a failed leadership handoff, a WASM lease
 * re-admitted after a restart, a declared lease with an impossible memory figure, and a waiting
 * request id among many newer ones. Each test failed before its fix.
 */
class BrokerAccountingTest {
  private static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(Duration.ofSeconds(2))
        .sessionTtl(Duration.ofSeconds(60))
        .sweepInterval(Duration.ofMillis(250))
        .limit(RENDER, 2);
  }

  private static BundleSpec.Item render() {
    return new BundleSpec.Item("", RENDER, RENDER_URL, "", null, "", 0, 0);
  }

  @Test
  void pump_bundleNeedsTwoSlotsOneFree_singleWaiterBehindItGetsTheSlot() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Worker c = h.open("c");
      Lease l1 = h.grant(a, RENDER);
      h.grant(a, RENDER);
      RecordingBundleCallback bundle = new RecordingBundleCallback();
      h.broker.acquireBundle(
          BundleSpec.validate(
              b.sessionId(), List.of(render(), render()), Duration.ofSeconds(5), "", 0),
          PRINCIPAL,
          bundle);
      RecordingAcquireCallback single = h.acquire(c, RENDER, Duration.ofSeconds(5));

      h.release(a, l1);

      // Nothing is held for the bundle: the free slot goes to the single acquire behind it.
      assertThat(single.granted()).isNotNull();
      assertThat(bundle.isAnswered()).isFalse();
      assertThat(h.broker.inUse(RENDER)).isEqualTo(2);
    }
  }

  /** A bundle that can never fit (3 RENDER, limit 2) holds up nobody behind it. */
  @Test
  void pump_bundleThatCannotFit_singleWaiterBehindItGranted() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Worker c = h.open("c");
      Lease l1 = h.grant(a, RENDER);
      Lease l2 = h.grant(a, RENDER);
      RecordingBundleCallback bundle = new RecordingBundleCallback();
      h.broker.acquireBundle(
          BundleSpec.validate(
              b.sessionId(), List.of(render(), render(), render()), Duration.ofSeconds(50), "", 0),
          PRINCIPAL,
          bundle);
      RecordingAcquireCallback single = h.acquire(c, RENDER, Duration.ofSeconds(40));
      h.release(a, l1);
      h.release(a, l2);
      assertThat(single.granted()).isNotNull();
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      h.time.advance(Duration.ofSeconds(50));
      assertThat(bundle.refused().refusal().reason()).isEqualTo(RefusalReason.TIMEOUT);
    }
  }

  /**
   * A waiter failed UNAVAILABLE by a handoff; the handoff fails and this member leads on: a retry
   * with the same request_id is served afresh.
   */
  @Test
  void acquire_retryAfterAHandoffFailedItsFirstCall_servedAfresh() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      RecordingJournal journal = new RecordingJournal();
      h.broker.journalTo(journal);
      Worker a = h.open("a");
      journal.hold = "handing off";
      journal.handingOff = true;
      AcquireSpec spec =
          AcquireSpec.validate(
              a.sessionId(), RENDER, RENDER_URL, "", Duration.ofMillis(500), "r1", 0, 0);
      RecordingAcquireCallback first = h.acquire(spec);
      h.time.advance(Duration.ofMillis(500));
      assertThat(first.failure().code()).isEqualTo(BrokerException.Code.UNAVAILABLE);

      journal.hold = null; // the handoff failed: this member leads on
      journal.handingOff = false;
      RecordingAcquireCallback retry = h.acquire(spec);

      assertThat(retry.granted()).isNotNull();
      assertThat(h.broker.inUse(RENDER)).isOne();
    }
  }

  /** A WASM lease re-admitted after a restart is revoked when idle, as any other. */
  @Test
  void readmit_wasmLeaseThenNoCalls_revokedIdle() {
    Duration idle = Duration.ofSeconds(30);
    ModuleRegistry modules =
        ModuleRegistry.load(
            new WasmConfig(
                List.of(
                    new WasmConfig.ModuleEntry(
                        "extractor", TestModules.extractor(), List.of("alloc", "extract"))),
                idle));
    FakeTimeSource time = new FakeTimeSource();
    try (Broker broker =
        new Broker(
            BrokerHarness.withoutHostLimits(
                BrokerConfig.newBuilder().sessionTtl(Duration.ofSeconds(10)).build()),
            time,
            2,
            () -> 3,
            LeaseIds.seeded(5),
            HeapProbe.NONE,
            modules)) {
      RecordingSessionChannel channel = new RecordingSessionChannel();
      long old = FencingTokens.firstTokenOf(1);
      broker.open(
          HelloSpec.validate(
              "w1",
              Map.of(),
              0,
              "s-old",
              List.of(new HeldLease("w-1", old + 1, WASM, "", "extractor", 50))),
          PRINCIPAL,
          channel);
      assertThat(broker.inUse(WASM)).isEqualTo(1);
      for (int seq = 1; seq <= 60; seq++) { // 120 s of heartbeats, no WASM calls reported
        time.advance(Duration.ofSeconds(2));
        broker.heartbeat("s-old", channel, seq, 100, 0, List.of());
      }
      assertThat(broker.inUse(WASM)).isZero(); // revoked idle well within 4x the idle timeout
      assertThat(channel.revokes()).isNotEmpty();
    }
  }

  /** A declared lease's memory beyond what an acquire may ask is refused, naming the field. */
  @Test
  void hello_declaredLeaseWithImpossibleMemory_refusedNamingTheField() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      assertThatThrownBy(
              () ->
                  HelloSpec.validate(
                      "a",
                      Map.of(),
                      0,
                      a.sessionId(),
                      List.of(
                          new HeldLease("safe-1", 0, RENDER, "example.com", "", (1 << 30) + 1))))
          .isInstanceOf(BrokerException.class)
          .hasMessageStartingWith("hello.held_leases.memory_mb: must be 0..1048576");
      assertThat(h.broker.inUse(RENDER)).isZero();
    }
  }

  /** A request id still waiting outlives newer ids past the bound: its retry joins its wait. */
  @Test
  void recentRequests_waitingIdAmongNewerOnes_retryJoinsTheSameWait() {
    try (BrokerHarness h = new BrokerHarness(config().requestIdsPerSession(2))) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease l1 = h.grant(a, RENDER);
      Lease l2 = h.grant(a, RENDER);
      RecordingAcquireCallback first = h.acquire(b, RENDER, Duration.ofSeconds(20), "r1", 0);
      h.acquire(b, RENDER, null, "r2", 0); // refused at once, remembered
      h.acquire(b, RENDER, null, "r3", 0); // past the bound: r2 goes, not the waiting r1
      RecordingAcquireCallback retry = h.acquire(b, RENDER, Duration.ofSeconds(20), "r1", 0);
      h.release(a, l1);
      h.release(a, l2);
      assertThat(retry.granted().id()).isEqualTo(first.granted().id());
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    }
  }

  /**
   * A TTL lowered live: a session keeps the TTL its worker was told until its next heartbeat ack
   * tells it the new one (the worker trusts its leases for the TTL it knows), then expires at the
   * new TTL from that heartbeat. Before, every session moved to the new TTL at once, so a worker
   * cut off just then still trusted leases the broker had already given to others.
   */
  @Test
  void updateConfig_ttlLowered_reachesEachSessionWithItsNextHeartbeatAck() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker silent = h.open("silent");
      Worker beating = h.open("beating");
      h.grant(silent, RENDER);
      h.grant(beating, RENDER);
      h.broker.updateConfig(
          h.broker.config().toBuilder().sessionTtl(Duration.ofSeconds(5)).build());
      h.time.advance(Duration.ofSeconds(1));

      Broker.Beat beat =
          h.broker.heartbeat(beating.sessionId(), beating.channel(), 1, 0, 0, List.of());
      assertThat(beat.ttlNanos()).isEqualTo(Duration.ofSeconds(5).toNanos());
      h.time.advance(Duration.ofSeconds(5)); // 5 s after that heartbeat, 6 s after opening

      assertThat(h.broker.sessions("", "", 10))
          .extracting(Views.Session::id)
          .containsExactly(silent.sessionId());
      h.time.advance(Duration.ofSeconds(53));
      assertThat(h.broker.sessionCount()).isOne(); // told 60 s when it opened: it has them
      h.time.advance(Duration.ofSeconds(1));
      assertThat(h.broker.sessionCount()).isZero();
      assertThat(h.broker.inUse(RENDER)).isZero();
    }
  }
}
