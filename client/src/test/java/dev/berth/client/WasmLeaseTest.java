package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.internal.SessionProbe;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** WASM leases through the SDK: fetching the module they name, and reporting its use. */
class WasmLeaseTest {
  static final Path EXTRACTOR = Path.of("..", "src", "wasm", "extractor.wasm");
  private static final Duration IDLE = Duration.ofMinutes(1);

  private TestBroker broker;

  @BeforeEach
  void startBroker() {
    broker =
        new TestBroker(
            TestBroker.config(),
            ModuleRegistry.load(
                new WasmConfig(
                    List.of(
                        new WasmConfig.ModuleEntry(
                            "extractor", EXTRACTOR, List.of("alloc", "extract"))),
                    IDLE)));
  }

  @AfterEach
  void stopBroker() {
    broker.close();
  }

  @Test
  void fetchModule_wasmLease_returnsTheBytesItsDigestNames() throws Exception {
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1");
        Lease lease = granted(session.acquire(AcquireOptions.wasm()))) {

      WasmModule module = session.fetchModule(lease);

      assertThat(module.name()).isEqualTo("extractor");
      assertThat(module.bytes()).isEqualTo(Files.readAllBytes(EXTRACTOR));
      assertThat(module.digest()).isEqualTo(lease.moduleDigest()).hasSize(64);
      assertThat(module.exports()).contains("alloc", "extract", "memory");
    }
  }

  @Test
  void fetchModule_notWasm_throwsNamingTheArgument() {
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1");
        Lease lease = granted(session.acquire(AcquireOptions.pdf()))) {

      assertThatThrownBy(() -> session.fetchModule(lease))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("wasmLease:");
      assertThatThrownBy(() -> lease.recordWasmCall(true))
          .isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void fetchModule_reloadedAway_throwsNotFound() {
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1");
        Lease lease = granted(session.acquire(AcquireOptions.wasm()))) {
      broker.broker.modules().reload(new WasmConfig(List.of(), IDLE));

      assertThatThrownBy(() -> session.fetchModule(lease))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.condition()).isEqualTo(BrokerException.Condition.NOT_FOUND));
    }
  }

  @Test
  void recordWasmCall_reportedInHeartbeats_keepsLeaseFromIdleRevocation() throws Exception {
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease lease = granted(session.acquire(AcquireOptions.wasm()));
      BlockingQueue<RevokedLease> revoked = new ArrayBlockingQueue<>(1);
      lease.onRevoked(revoked::add);

      for (int i = 0; i < 3; i++) {
        broker.time.advance(Duration.ofSeconds(40));
        lease.recordWasmCall(true);
        heartbeat(probe);
      }
      assertThat(lease.isValid()).isTrue();
      assertThat(revoked).isEmpty();

      broker.time.advance(Duration.ofSeconds(40));
      heartbeat(probe); // no call since the last report
      broker.time.advance(Duration.ofSeconds(40));

      RevokedLease event = revoked.poll(5, TimeUnit.SECONDS);
      assertThat(event).isNotNull();
      assertThat(event.reason()).isEqualTo(RevokeReason.IDLE);
      assertThat(lease.isValid()).isFalse();
    }
  }

  /** Moves the worker's ticker to its next heartbeat and waits for the broker's answer. */
  private void heartbeat(SessionProbe probe) {
    broker.ticker.advance(TestBroker.HEARTBEAT_INTERVAL);
    probe.awaitHeartbeatAck();
  }
}
