package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.java;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.GetModuleRequest;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseEnd;
import dev.berth.proto.v1.Outcome;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.Revoke;
import dev.berth.proto.v1.RevokeReason;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.server.lease.ResourceKind;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code LeaseBroker.Release} and {@code GetModule} over the in-process transport. */
class LeaseBrokerReleaseTest {
  /** Short enough to reach with a few heartbeats, longer than the session TTL. */
  private static final Duration PDF_MAX_HOLD = Duration.ofSeconds(30);

  private InProcessBroker b;
  private SessionRecorder worker;
  private String session;

  @BeforeEach
  void setUp() {
    b =
        new InProcessBroker(
            InProcessBroker.config().maxHold(ResourceKind.PDF, PDF_MAX_HOLD).build());
    worker = b.openSession("worker-1");
    session = worker.sessionId();
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  private ReleaseResponse release(String leaseId, Outcome.Builder outcome) {
    return b.blocking.release(
        ReleaseRequest.newBuilder()
            .setSessionId(session)
            .setLeaseId(leaseId)
            .setOutcome(outcome)
            .build());
  }

  // ------------------------------------------------------------ release

  @Test
  void release_heldLease_releasedAndCapacityReturned() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    ReleaseResponse response = b.release(session, lease.getLeaseId());

    assertThat(response.getReleased()).isTrue();
    assertThat(response.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_RELEASED);
    assertThat(response.getRevokeReason()).isEqualTo(RevokeReason.REVOKE_REASON_UNSPECIFIED);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void release_withOutcome_released() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    ReleaseResponse response =
        release(
            lease.getLeaseId(),
            Outcome.newBuilder()
                .setSuccess(false)
                .setDuration(proto(Duration.ofMillis(1500)))
                .setHttpStatus(429)
                .setRetryAfter(proto(Duration.ofSeconds(30)))
                .setError("too many requests"));

    assertThat(response.getReleased()).isTrue();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void release_twice_secondReportsAlreadyReleased() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);
    b.release(session, lease.getLeaseId());

    ReleaseResponse second = b.release(session, lease.getLeaseId());

    assertThat(second.getReleased()).isFalse();
    assertThat(second.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_RELEASED);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void release_anotherSessionsLease_permissionDenied() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);
    String other = b.openSession("worker-2").sessionId();

    Status status =
        failure(Status.Code.PERMISSION_DENIED, () -> b.release(other, lease.getLeaseId()));

    assertThat(status.getDescription()).startsWith("lease_id");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void release_anotherSessionsEndedLease_permissionDenied() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);
    b.release(session, lease.getLeaseId());
    String other = b.openSession("worker-2").sessionId();

    failure(Status.Code.PERMISSION_DENIED, () -> b.release(other, lease.getLeaseId()));
  }

  @Test
  void release_unknownLease_notFoundNamingLeaseId() {
    b.grant(session, RESOURCE_KIND_RENDER);

    Status status =
        failure(
            Status.Code.NOT_FOUND, () -> b.release(session, "0123456789abcdef0123456789abcdef"));

    assertThat(status.getDescription()).startsWith("lease_id");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void release_missingLeaseId_invalidArgumentNamingLeaseId() {
    Status status = failure(Status.Code.INVALID_ARGUMENT, () -> b.release(session, ""));

    assertThat(status.getDescription()).startsWith("lease_id:");
  }

  @Test
  void release_missingSessionId_invalidArgumentNamingSessionId() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    Status status = failure(Status.Code.INVALID_ARGUMENT, () -> b.release("", lease.getLeaseId()));

    assertThat(status.getDescription()).startsWith("session_id:");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void release_httpStatus42_invalidArgumentNamingOutcomeHttpStatus() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () -> release(lease.getLeaseId(), Outcome.newBuilder().setHttpStatus(42)));

    assertThat(status.getDescription()).startsWith("outcome.http_status:");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void release_negativeDuration_invalidArgumentNamingOutcomeDuration() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                release(
                    lease.getLeaseId(),
                    Outcome.newBuilder().setDuration(proto(Duration.ofMillis(-5)))));

    assertThat(status.getDescription()).startsWith("outcome.duration:");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void release_negativeRetryAfter_invalidArgumentNamingOutcomeRetryAfter() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                release(
                    lease.getLeaseId(),
                    Outcome.newBuilder().setRetryAfter(proto(Duration.ofSeconds(-1)))));

    assertThat(status.getDescription()).startsWith("outcome.retry_after:");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void release_durationOverADay_invalidArgumentNamingTheField() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);
    Duration tooLong = Duration.ofDays(1).plusSeconds(1);

    Status duration =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () -> release(lease.getLeaseId(), Outcome.newBuilder().setDuration(proto(tooLong))));

    assertThat(duration.getDescription())
        .isEqualTo("outcome.duration: must be at most one day, got 1d1s");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void release_siteRetryAfterOverADay_releasedAndHostPausedForMaxPause() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    Outcome.Builder aYear =
        Outcome.newBuilder().setHttpStatus(429).setRetryAfter(proto(Duration.ofDays(365)));

    assertThat(release(lease.getLeaseId(), aYear).getReleased()).isTrue();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
    AcquireResponse next = b.acquire(InProcessBroker.request(session, RESOURCE_KIND_RENDER));
    assertThat(next.getRefused().getReason()).isEqualTo(RefusalReason.REFUSAL_REASON_RATE_LIMITED);
    assertThat(java(next.getRefused().getRetryAfter()))
        .isEqualTo(b.broker.policy().rateLimit().maxPause());
  }

  @Test
  void release_oversizedError_invalidArgumentNamingOutcomeError() {
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);

    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () -> release(lease.getLeaseId(), Outcome.newBuilder().setError("e".repeat(2000))));

    assertThat(status.getDescription()).startsWith("outcome.error:");
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  // ------------------------------------------------------------ max hold

  @Test
  void release_afterMaxHold_reportsMaxHoldAndRevokeWasPushed() {
    Lease lease = b.grant(session, RESOURCE_KIND_PDF);
    assertThat(InProcessBroker.between(lease.getGrantedAt(), lease.getExpiresAt()))
        .isEqualTo(PDF_MAX_HOLD);

    long seq = 0;
    Duration step = InProcessBroker.HEARTBEAT_INTERVAL;
    for (Duration held = Duration.ZERO;
        held.plus(step).compareTo(PDF_MAX_HOLD) < 0;
        held = held.plus(step)) {
      b.time.advance(step);
      worker.heartbeat(seq++);
    }
    assertThat(worker.pendingEvents()).as("no revoke before max hold").isZero();
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(1);
    b.time.advance(step);

    SessionEvent event = worker.next();
    assertThat(event.hasRevoke()).as("revoke: %s", event).isTrue();
    Revoke revoke = event.getRevoke();
    assertThat(revoke.getLeaseId()).isEqualTo(lease.getLeaseId());
    assertThat(revoke.getReason()).isEqualTo(RevokeReason.REVOKE_REASON_MAX_HOLD);
    assertThat(java(revoke.getGrace())).isBetween(Duration.ZERO, b.broker.config().revokeGrace());
    assertThat(b.broker.inUse(ResourceKind.PDF)).isZero();
    assertThat(worker.isClosed()).isFalse();

    ReleaseResponse response = b.release(session, lease.getLeaseId());
    assertThat(response.getReleased()).isFalse();
    assertThat(response.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_MAX_HOLD);
    assertThat(response.getRevokeReason()).isEqualTo(RevokeReason.REVOKE_REASON_MAX_HOLD);
  }

  @Test
  void release_maxHoldOfTwoLeases_distinctCommandIds() {
    Lease first = b.grant(session, RESOURCE_KIND_PDF);
    Lease second = b.grant(session, RESOURCE_KIND_PDF);
    for (int seq = 0; seq < 3; seq++) {
      b.time.advance(PDF_MAX_HOLD.dividedBy(3));
      if (seq < 2) {
        worker.heartbeat(seq);
      }
    }

    Revoke one = worker.next().getRevoke();
    Revoke two = worker.next().getRevoke();
    assertThat(List.of(one.getLeaseId(), two.getLeaseId()))
        .containsExactlyInAnyOrder(first.getLeaseId(), second.getLeaseId());
    assertThat(one.getCommandId()).isNotEqualTo(two.getCommandId());
  }

  // ------------------------------------------------------------ GetModule

  @Test
  void getModule_unknownModule_notFound() {
    Status status =
        failure(
            Status.Code.NOT_FOUND,
            () -> b.blocking.getModule(GetModuleRequest.newBuilder().setName("extractor").build()));

    assertThat(status.getDescription()).contains("extractor");
  }

  @Test
  void getModule_emptyName_invalidArgumentNamingName() {
    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () -> b.blocking.getModule(GetModuleRequest.getDefaultInstance()));

    assertThat(status.getDescription()).startsWith("name:");
  }

  @Test
  void getModule_nameWithSlash_invalidArgumentNamingName() {
    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                b.blocking.getModule(
                    GetModuleRequest.newBuilder().setName("../etc/passwd").build()));

    assertThat(status.getDescription()).startsWith("name:");
  }
}
