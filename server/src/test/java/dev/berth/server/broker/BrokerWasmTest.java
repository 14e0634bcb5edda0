package dev.berth.server.broker;

import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.wasm.InstanceStats;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.TestModules;
import dev.berth.server.wasm.WasmConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * WASM leases name their module and digest, and are revoked IDLE when their worker stops using
 * them.
 */
class BrokerWasmTest {
  private static final Duration IDLE = Duration.ofSeconds(30);
  private static final Duration HEARTBEAT = Duration.ofSeconds(2);

  private final ModuleRegistry modules =
      ModuleRegistry.load(
          new WasmConfig(
              List.of(
                  new WasmConfig.ModuleEntry(
                      "extractor", TestModules.extractor(), List.of("alloc", "extract"))),
              IDLE));
  private final BrokerHarness h = new BrokerHarness(BrokerConfig.newBuilder().build(), modules);
  private long seq;

  @AfterEach
  void close() {
    h.close();
  }

  private RecordingAcquireCallback acquireModule(BrokerHarness.Worker worker, String module) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    h.broker.acquire(
        AcquireSpec.validate(worker.sessionId(), WASM, "", module, null, "", 0, 0),
        BrokerHarness.PRINCIPAL,
        callback);
    return callback;
  }

  /** Advances the clock by {@code total} in heartbeat steps, reporting {@code stats} each time. */
  private void heartbeatFor(
      BrokerHarness.Worker worker, Duration total, List<InstanceStats> stats) {
    for (Duration t = Duration.ZERO; t.compareTo(total) < 0; t = t.plus(HEARTBEAT)) {
      h.time.advance(HEARTBEAT);
      h.broker.heartbeat(worker.sessionId(), worker.channel(), seq++, 100, 0, stats);
    }
  }

  @Test
  void grant_wasm_namesDefaultModuleAndItsDigest() {
    BrokerHarness.Worker a = h.open("a");

    Lease lease = h.grant(a, WASM);

    assertThat(lease.module()).isEqualTo("extractor");
    assertThat(lease.moduleDigest())
        .isEqualTo(modules.find("extractor").orElseThrow().digest())
        .hasSize(64);
  }

  @Test
  void acquire_unknownModule_isInvalidArgumentNamingModule() {
    BrokerHarness.Worker a = h.open("a");

    assertThatThrownBy(() -> acquireModule(a, "nope"))
        .isInstanceOfSatisfying(
            BrokerException.class,
            e -> assertThat(e.code()).isEqualTo(BrokerException.Code.INVALID_ARGUMENT))
        .hasMessageContaining("module")
        .hasMessageContaining("'nope'")
        .hasMessageContaining("modules: extractor");
    assertThat(h.broker.inUse(WASM)).isZero();
  }

  @Test
  void acquire_defaultModuleNotServed_isInvalidArgument() {
    h.broker.updateConfig(BrokerConfig.newBuilder().defaultWasmModule("missing").build());
    BrokerHarness.Worker a = h.open("a");

    assertThatThrownBy(() -> h.acquire(a, WASM))
        .isInstanceOf(BrokerException.class)
        .hasMessageContaining("default module 'missing' is not served");
  }

  @Test
  void sweep_unusedWasmLease_isRevokedIdleAndPushed() {
    BrokerHarness.Worker a = h.open("a");
    Lease lease = h.grant(a, WASM);

    heartbeatFor(a, IDLE.minus(HEARTBEAT), List.of());
    assertThat(h.isLive(lease)).isTrue();
    heartbeatFor(a, HEARTBEAT.multipliedBy(2), List.of());

    assertThat(h.isLive(lease)).isFalse();
    assertThat(a.channel().revokes())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.leaseId()).isEqualTo(lease.id());
              assertThat(r.reason()).isEqualTo(RevokeReason.IDLE);
            });
    Broker.EndResult release = h.release(a, lease);
    assertThat(release.end()).isEqualTo(LeaseEnd.REVOKED);
    assertThat(release.revokeReason()).isEqualTo(RevokeReason.IDLE);
  }

  @Test
  void heartbeat_withGrowingCallCount_keepsWasmLeaseAlive() {
    BrokerHarness.Worker a = h.open("a");
    Lease lease = h.grant(a, WASM);

    for (int calls = 1; calls <= 30; calls++) {
      heartbeatFor(a, HEARTBEAT, List.of(new InstanceStats(lease.id(), calls, 0)));
    }

    assertThat(h.isLive(lease)).isTrue();
    assertThat(a.channel().revokes()).isEmpty();
  }

  @Test
  void heartbeat_unchangedCallCount_doesNotCountAsUse() {
    BrokerHarness.Worker a = h.open("a");
    Lease lease = h.grant(a, WASM);

    // The first report (0 -> 7 calls) is a use; the same count again is not.
    heartbeatFor(
        a, IDLE.plus(HEARTBEAT.multipliedBy(2)), List.of(new InstanceStats(lease.id(), 7, 0)));

    assertThat(h.isLive(lease)).isFalse();
    assertThat(a.channel().revokes())
        .extracting(r -> r.reason())
        .containsExactly(RevokeReason.IDLE);
  }

  @Test
  void heartbeat_statsForAnotherSessionsLease_areIgnored() {
    BrokerHarness.Worker a = h.open("a");
    BrokerHarness.Worker b = h.open("b");
    Lease lease = h.grant(a, WASM);

    long calls = 0;
    for (Duration t = Duration.ZERO; t.compareTo(IDLE.plus(HEARTBEAT)) < 0; t = t.plus(HEARTBEAT)) {
      h.time.advance(HEARTBEAT);
      h.broker.heartbeat(a.sessionId(), a.channel(), seq++, 100, 0);
      h.broker.heartbeat(
          b.sessionId(),
          b.channel(),
          seq++,
          100,
          0,
          List.of(new InstanceStats(lease.id(), ++calls, 0)));
    }

    assertThat(h.isLive(lease)).isFalse();
  }

  @Test
  void acquireAgain_countsAsUse() {
    BrokerHarness.Worker a = h.open("a");
    Lease lease = h.grant(a, WASM);

    heartbeatFor(a, IDLE.minus(HEARTBEAT), List.of());
    assertThat(h.grant(a, WASM).id()).isEqualTo(lease.id());
    heartbeatFor(a, IDLE.minus(HEARTBEAT), List.of());

    assertThat(h.isLive(lease)).isTrue();
  }

  @Test
  void sweep_zeroIdleTimeout_neverRevokes() {
    modules.reload(modules_withIdle(Duration.ZERO));
    BrokerHarness.Worker a = h.open("a");
    Lease lease = h.grant(a, WASM);

    heartbeatFor(a, IDLE.multipliedBy(3), List.of());

    assertThat(h.isLive(lease)).isTrue();
  }

  @Test
  void noModulesConfigured_wasmIsPlainCapacity() {
    try (BrokerHarness plain = new BrokerHarness(BrokerConfig.newBuilder().build())) {
      BrokerHarness.Worker a = plain.open("a");

      Lease lease = plain.grant(a, WASM);

      assertThat(lease.module()).isEqualTo("extractor");
      assertThat(lease.moduleDigest()).isEmpty();
    }
  }

  private static WasmConfig modules_withIdle(Duration idle) {
    return new WasmConfig(
        List.of(new WasmConfig.ModuleEntry("extractor", TestModules.extractor(), List.of())), idle);
  }

  @Test
  void release_wasmLease_stopsTrackingIt() {
    BrokerHarness.Worker a = h.open("a");
    Lease lease = h.grant(a, WASM);
    h.release(a, lease);

    heartbeatFor(a, IDLE.multipliedBy(2), List.of());

    assertThat(a.channel().revokes()).isEmpty();
  }
}
