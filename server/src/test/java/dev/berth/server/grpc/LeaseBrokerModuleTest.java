package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_WASM;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.GetModuleRequest;
import dev.berth.proto.v1.GetModuleResponse;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseEnd;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.RevokeReason;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.WasmInstanceStats;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.TestModules;
import dev.berth.server.wasm.WasmConfig;
import io.grpc.Status;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** GetModule, and WASM leases that name their module and are revoked IDLE, over gRPC. */
class LeaseBrokerModuleTest {
  private static final Duration IDLE = Duration.ofSeconds(20);

  private final ModuleRegistry modules =
      ModuleRegistry.load(
          new WasmConfig(
              List.of(
                  new WasmConfig.ModuleEntry(
                      "extractor", TestModules.extractor(), List.of("alloc", "extract"))),
              IDLE));
  private final InProcessBroker b = new InProcessBroker(InProcessBroker.config().build(), modules);

  @AfterEach
  void close() {
    b.close();
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void getModule_byName_servesBytesDigestAndExports() throws Exception {
    byte[] file = Files.readAllBytes(TestModules.extractor());

    GetModuleResponse module =
        b.blocking.getModule(GetModuleRequest.newBuilder().setName("extractor").build());

    assertThat(module.getName()).isEqualTo("extractor");
    assertThat(module.getWasm().toByteArray()).isEqualTo(file);
    assertThat(module.getDigest()).isEqualTo(sha256(file));
    assertThat(module.getExportsList()).contains("memory", "alloc", "extract");
  }

  @Test
  void getModule_withMatchingDigest_servesIt() throws Exception {
    String digest = sha256(Files.readAllBytes(TestModules.extractor()));

    GetModuleResponse module =
        b.blocking.getModule(
            GetModuleRequest.newBuilder().setName("extractor").setDigest(digest).build());

    assertThat(module.getDigest()).isEqualTo(digest);
  }

  @Test
  void getModule_unknownName_isNotFoundNamingIt() {
    Status status =
        InProcessBroker.failure(
            Status.Code.NOT_FOUND,
            () -> b.blocking.getModule(GetModuleRequest.newBuilder().setName("other").build()));

    assertThat(status.getDescription()).contains("'other'").contains("modules: extractor");
  }

  @Test
  void getModule_digestMismatch_isNotFound() {
    String stale = "0".repeat(64);

    Status status =
        InProcessBroker.failure(
            Status.Code.NOT_FOUND,
            () ->
                b.blocking.getModule(
                    GetModuleRequest.newBuilder().setName("extractor").setDigest(stale).build()));

    assertThat(status.getDescription()).startsWith("digest:").contains("not " + stale);
  }

  @Test
  void getModule_malformedRequest_isInvalidArgumentNamingField() {
    Status noName =
        InProcessBroker.failure(
            Status.Code.INVALID_ARGUMENT,
            () -> b.blocking.getModule(GetModuleRequest.getDefaultInstance()));
    Status badDigest =
        InProcessBroker.failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                b.blocking.getModule(
                    GetModuleRequest.newBuilder().setName("extractor").setDigest("ABC").build()));

    assertThat(noName.getDescription()).startsWith("name:");
    assertThat(badDigest.getDescription()).startsWith("digest:");
  }

  @Test
  void getModule_noModulesConfigured_isNotFound() {
    try (InProcessBroker plain = new InProcessBroker()) {
      Status status =
          InProcessBroker.failure(
              Status.Code.NOT_FOUND,
              () ->
                  plain.blocking.getModule(
                      GetModuleRequest.newBuilder().setName("extractor").build()));

      assertThat(status.getDescription()).contains("no modules are configured");
    }
  }

  @Test
  void acquire_wasm_leaseNamesModuleAndDigest() throws Exception {
    SessionRecorder worker = b.openSession("w");

    Lease lease = b.grant(worker.sessionId(), RESOURCE_KIND_WASM);

    assertThat(lease.getModule()).isEqualTo("extractor");
    assertThat(lease.getModuleDigest())
        .isEqualTo(sha256(Files.readAllBytes(TestModules.extractor())));
  }

  @Test
  void acquire_unknownModule_isInvalidArgumentNamingModule() {
    SessionRecorder worker = b.openSession("w");

    Status status =
        InProcessBroker.failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                b.acquire(
                    InProcessBroker.request(worker.sessionId(), RESOURCE_KIND_WASM)
                        .setModule("nope")));

    assertThat(status.getDescription()).startsWith("module:").contains("'nope'");
  }

  private static SessionRequest heartbeat(long seq, String leaseId, long calls) {
    Heartbeat.Builder heartbeat = Heartbeat.newBuilder().setSeq(seq);
    if (leaseId != null) {
      heartbeat.addWasmStats(
          WasmInstanceStats.newBuilder().setLeaseId(leaseId).setCalls(calls).setFailures(0));
    }
    return SessionRequest.newBuilder().setHeartbeat(heartbeat).build();
  }

  @Test
  void idleWasmLease_isRevokedIdleOverTheStream_whileAUsedOneIsKept() {
    SessionRecorder idle = b.openSession("idle");
    SessionRecorder busy = b.openSession("busy");
    Lease idleLease = b.grant(idle.sessionId(), RESOURCE_KIND_WASM);
    Lease busyLease = b.grant(busy.sessionId(), RESOURCE_KIND_WASM);

    Duration step = InProcessBroker.HEARTBEAT_INTERVAL;
    SessionEvent revoke = null;
    for (long seq = 1; seq <= IDLE.dividedBy(step) + 2; seq++) {
      b.time.advance(step);
      idle.send(heartbeat(seq, idleLease.getLeaseId(), 3)); // the same count: no use
      busy.send(heartbeat(seq, busyLease.getLeaseId(), seq)); // a growing count: in use
      while (idle.pendingEvents() > 0) {
        SessionEvent event = idle.next();
        if (event.hasRevoke()) {
          revoke = event;
        }
      }
    }

    assertThat(revoke).as("revoke pushed to the idle worker").isNotNull();
    assertThat(revoke.getRevoke().getLeaseId()).isEqualTo(idleLease.getLeaseId());
    assertThat(revoke.getRevoke().getReason()).isEqualTo(RevokeReason.REVOKE_REASON_IDLE);
    ReleaseResponse late = b.release(idle.sessionId(), idleLease.getLeaseId());
    assertThat(late.getReleased()).isFalse();
    assertThat(late.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_REVOKED);
    assertThat(late.getRevokeReason()).isEqualTo(RevokeReason.REVOKE_REASON_IDLE);
    assertThat(b.release(busy.sessionId(), busyLease.getLeaseId()).getReleased()).isTrue();
  }

  @Test
  void heartbeat_tooManyWasmStats_isInvalidArgument() {
    SessionRecorder worker = b.openSession("w");
    Heartbeat.Builder heartbeat = Heartbeat.newBuilder().setSeq(1);
    for (int i = 0; i <= Protos.MAX_WASM_STATS; i++) {
      heartbeat.addWasmStats(WasmInstanceStats.newBuilder().setLeaseId("l" + i));
    }

    worker.send(SessionRequest.newBuilder().setHeartbeat(heartbeat).build());

    Status status = worker.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("heartbeat.wasm_stats:");
  }
}
