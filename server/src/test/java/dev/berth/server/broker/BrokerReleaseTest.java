package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.session.RecordingSessionChannel;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** How leases end: release, max hold and revocation. */
class BrokerReleaseTest {
  private static final long MAX_HOLD_MS = 3_000;

  private static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(Duration.ofSeconds(2))
        .sessionTtl(Duration.ofSeconds(10))
        .sweepInterval(Duration.ofMillis(250))
        .limit(RENDER, 1)
        .maxHold(RENDER, Duration.ofMillis(MAX_HOLD_MS));
  }

  @Test
  void sweep_leaseReachesMaxHold_revokedWithMaxHoldAndPushedToHolder() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      Worker b = h.open("b");
      RecordingAcquireCallback waiting = h.acquire(b, RENDER, Duration.ofSeconds(5));

      h.time.advanceMillis(MAX_HOLD_MS - 1);
      assertThat(h.isLive(lease)).isTrue();
      assertThat(a.channel().revokes()).isEmpty();

      h.time.advanceMillis(1);
      assertThat(h.isLive(lease)).isFalse();
      assertThat(a.channel().revokes())
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.leaseId()).isEqualTo(lease.id());
                assertThat(r.reason()).isEqualTo(RevokeReason.MAX_HOLD);
                assertThat(r.graceNanos()).isZero();
              });
      assertThat(waiting.granted().sessionId()).isEqualTo(b.sessionId());
      assertThat(h.release(a, lease))
          .isEqualTo(new Broker.EndResult(false, LeaseEnd.MAX_HOLD, RevokeReason.MAX_HOLD));
    }
  }

  @Test
  void sweep_leaseReachesMaxHoldWhileDisconnected_freedWithoutPush() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.broker.detach(a.sessionId(), a.channel());

      h.time.advanceMillis(MAX_HOLD_MS);

      assertThat(h.isLive(lease)).isFalse();
      assertThat(h.broker.inUse(RENDER)).isZero();
      assertThat(a.channel().revokes()).isEmpty();
    }
  }

  @Test
  void release_liveLease_freesCapacityForNextWaiter() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      Worker b = h.open("b");
      RecordingAcquireCallback waiting = h.acquire(b, RENDER, Duration.ofSeconds(5));

      Broker.EndResult result = h.release(a, lease);

      assertThat(result).isEqualTo(new Broker.EndResult(true, LeaseEnd.RELEASED, null));
      assertThat(waiting.granted().sessionId()).isEqualTo(b.sessionId());
    }
  }

  @Test
  void release_twice_secondReportsNotReleasedAndHowItEnded() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.release(a, lease);

      Broker.EndResult again =
          h.broker.release(
              a.sessionId(), lease.id(), PRINCIPAL, new Outcome(false, 5, 500, 0, "late"));

      assertThat(again).isEqualTo(new Broker.EndResult(false, LeaseEnd.RELEASED, null));
      assertThat(h.broker.inUse(RENDER)).isZero();
    }
  }

  @Test
  void release_leaseOfAnotherSession_throwsPermissionDenied() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease lease = h.grant(a, RENDER);

      assertThatThrownBy(() -> h.release(b, lease))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.PERMISSION_DENIED))
          .hasMessageContaining("lease_id");
      assertThat(h.isLive(lease)).isTrue();
    }
  }

  @Test
  void release_endedLeaseOfAnotherSession_throwsPermissionDenied() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease lease = h.grant(a, RENDER);
      h.release(a, lease);

      assertThatThrownBy(() -> h.release(b, lease))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.PERMISSION_DENIED));
    }
  }

  @Test
  void release_byAnotherPrincipal_throwsPermissionDenied() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);

      assertThatThrownBy(
              () -> h.broker.release(a.sessionId(), lease.id(), "mallory", Outcome.UNKNOWN))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.PERMISSION_DENIED))
          .hasMessageContaining("session_id");
      assertThat(h.isLive(lease)).isTrue();
    }
  }

  @Test
  void release_unknownLease_throwsNotFound() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");

      assertThatThrownBy(
              () ->
                  h.broker.release(
                      a.sessionId(),
                      "0123456789abcdef0123456789abcdef",
                      PRINCIPAL,
                      Outcome.UNKNOWN))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND))
          .hasMessageContaining("lease_id");
    }
  }

  @Test
  void release_endedLongerAgoThanEndedMemory_throwsNotFound() {
    try (BrokerHarness h =
        new BrokerHarness(
            config()
                .endedLeaseMemory(Duration.ofSeconds(1))
                .maxHold(RENDER, Duration.ofMinutes(1)))) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.release(a, lease);

      h.time.advanceMillis(1_500);

      assertThatThrownBy(() -> h.release(a, lease))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND));
    }
  }

  @Test
  void revoke_liveLease_freesCapacityAndPushesRevokeWithDefaultGrace() {
    try (BrokerHarness h = new BrokerHarness(config().revokeGrace(Duration.ofSeconds(7)))) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      Worker b = h.open("b");
      RecordingAcquireCallback waiting = h.acquire(b, RENDER, Duration.ofSeconds(5));

      Broker.EndResult result = h.broker.revoke(lease.id(), RevokeReason.ADMIN, null);

      assertThat(result)
          .isEqualTo(new Broker.EndResult(true, LeaseEnd.REVOKED, RevokeReason.ADMIN));
      assertThat(a.channel().revokes())
          .containsExactly(
              new RecordingSessionChannel.Revoke(
                  1, lease.id(), RevokeReason.ADMIN, Duration.ofSeconds(7).toNanos()));
      assertThat(waiting.granted().sessionId()).isEqualTo(b.sessionId());
      assertThat(h.broker.revoke(lease.id(), RevokeReason.ADMIN, Duration.ZERO))
          .isEqualTo(new Broker.EndResult(false, LeaseEnd.REVOKED, RevokeReason.ADMIN));
      assertThat(h.release(a, lease))
          .isEqualTo(new Broker.EndResult(false, LeaseEnd.REVOKED, RevokeReason.ADMIN));
      assertThat(a.channel().revokes()).hasSize(1);
    }
  }

  @Test
  void revoke_unknownLease_throwsNotFound() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      assertThatThrownBy(
              () ->
                  h.broker.revoke(
                      "0123456789abcdef0123456789abcdef", RevokeReason.ADMIN, Duration.ZERO))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND));
    }
  }

  @Test
  void revoke_givenGrace_pushesThatGrace() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, PDF);

      h.broker.revoke(lease.id(), RevokeReason.MEMORY_PRESSURE, Duration.ofMillis(300));

      assertThat(a.channel().revokes())
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.reason()).isEqualTo(RevokeReason.MEMORY_PRESSURE);
                assertThat(r.graceNanos()).isEqualTo(Duration.ofMillis(300).toNanos());
              });
    }
  }
}
