package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.HelloSpec.HeldLease;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.session.SessionChannel.CloseReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Session lifecycle on a fake clock: TTL, heartbeats, goodbye and resume. */
class BrokerSessionTest {
  private static final long TTL_MS = 10_000;
  private static final long SWEEP_MS = 250;

  private static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(Duration.ofSeconds(2))
        .sessionTtl(Duration.ofMillis(TTL_MS))
        .sweepInterval(Duration.ofMillis(SWEEP_MS))
        .limit(RENDER, 1);
  }

  private static HelloSpec resumeHello(String workerId, String sessionId, List<HeldLease> held) {
    return HelloSpec.validate(workerId, Map.of(), 0, sessionId, held);
  }

  @Test
  void sweep_sessionSilentJustUnderTtl_keepsItsLeases() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.time.advanceMillis(2_000);
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 0, 0);

      h.time.advanceMillis(TTL_MS - 1);
      h.broker.sweep();

      assertThat(h.isLive(lease)).isTrue();
      assertThat(h.broker.sessionCount()).isEqualTo(1);
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(a.channel().closes()).isEmpty();
    }
  }

  @Test
  void sweep_sessionSilentPastTtl_freesLeasesAndGrantsQueuedWaiter() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.time.advanceMillis(2_000);
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 0, 0);
      h.time.advanceMillis(TTL_MS - 1);
      Worker b = h.open("b");
      RecordingAcquireCallback waiting = h.acquire(b, RENDER, Duration.ofSeconds(30));
      assertThat(waiting.isAnswered()).isFalse();

      h.time.advanceMillis(1 + SWEEP_MS);

      assertThat(h.isLive(lease)).isFalse();
      assertThat(h.broker.sessionCount()).isEqualTo(1);
      Lease next = waiting.granted();
      assertThat(next.sessionId()).isEqualTo(b.sessionId());
      assertThat(next.fencingToken()).isGreaterThan(lease.fencingToken());
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
      assertThat(a.channel().closes())
          .singleElement()
          .extracting(RecordingSessionChannel.Close::why)
          .isEqualTo(CloseReason.EXPIRED);
      assertThat(h.release(a, lease))
          .isEqualTo(new Broker.EndResult(false, LeaseEnd.SESSION_EXPIRED, null));
    }
  }

  @Test
  void sweep_afterTheBrokerStoodStillPastTheTtl_expiresNoSessionForIt() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.time.advanceMillis(2_000);
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 0, 0);

      h.time.stall(Duration.ofMillis(3 * TTL_MS)); // a GC pause: nothing ran, heartbeats unread
      h.time.advance(Duration.ZERO); // the sweeps it missed run back to back

      assertThat(h.broker.sessionCount()).isEqualTo(1);
      assertThat(h.isLive(lease)).isTrue();
      h.broker.heartbeat(a.sessionId(), a.channel(), 2, 0, 0); // the beat that waited in the socket
      h.time.advanceMillis(TTL_MS - 1);
      assertThat(h.isLive(lease)).isTrue();
      assertThat(a.channel().closes()).isEmpty();
    }
  }

  @Test
  void heartbeat_firstCommandAfterTheBrokerStoodStill_keepsTheSessionAlive() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);

      h.time.stall(Duration.ofMillis(2 * TTL_MS));
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 0, 0); // read before the missed sweeps run
      h.time.advance(Duration.ZERO);

      assertThat(h.isLive(lease)).isTrue();
      assertThat(h.broker.sessionCount()).isEqualTo(1);
    }
  }

  @Test
  void sweep_afterTheBrokerStoodStill_aSilentSessionKeepsOnlyTheTtlItHadLeft() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.time.advanceMillis(TTL_MS - 1_000); // silent: one second left

      h.time.stall(Duration.ofMillis(2 * TTL_MS));
      h.time.advance(Duration.ZERO);
      assertThat(h.isLive(lease)).isTrue();

      // The stall beyond one sweep interval is excused; the second that was left is not renewed.
      h.time.advanceMillis(1_000 + SWEEP_MS);
      assertThat(h.isLive(lease)).isFalse();
      assertThat(h.broker.sessionCount()).isZero();
    }
  }

  @Test
  void sweep_aGapOfTwoSweepIntervals_isNoStall_theSessionExpiresOnTime() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease lease = h.grant(a, RENDER);
      h.time.advanceMillis(TTL_MS - 2 * SWEEP_MS);

      h.time.stall(Duration.ofMillis(2 * SWEEP_MS));
      h.time.advance(Duration.ZERO);

      assertThat(h.isLive(lease)).isFalse();
    }
  }

  @Test
  void acquire_sessionExpiresWhileWaiting_failsWaiterNotFound() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker holder = h.open("holder");
      Lease held = h.grant(holder, RENDER);
      Worker a = h.open("a");
      RecordingAcquireCallback waiting = h.acquire(a, RENDER, Duration.ofSeconds(60));

      for (int seq = 1; seq <= 6; seq++) {
        h.time.advanceMillis(2_000);
        h.broker.heartbeat(holder.sessionId(), holder.channel(), seq, 0, 0);
      }

      assertThat(waiting.failure().code()).isEqualTo(BrokerException.Code.NOT_FOUND);
      assertThat(waiting.failure())
          .hasMessageContaining(a.sessionId())
          .hasMessageContaining("expired");
      assertThat(h.broker.queued(RENDER)).isZero();
      assertThat(h.isLive(held)).isTrue();
    }
  }

  @Test
  void acquire_sessionPastTtlBeforeSweep_throwsNotFound() {
    try (BrokerHarness h = new BrokerHarness(config().sweepInterval(Duration.ofMillis(TTL_MS)))) {
      Worker a = h.open("a");
      h.time.advanceMillis(TTL_MS - 1);
      h.broker.heartbeat(a.sessionId(), a.channel(), 1, 0, 0);
      h.time.advanceMillis(TTL_MS);

      assertThatThrownBy(() -> h.acquire(a, PDF))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND))
          .hasMessageContaining("session_id");
      assertThat(h.broker.sessionCount()).isZero();
    }
  }

  @Test
  void heartbeat_seqNotIncreasing_throwsInvalidArgument() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      h.broker.heartbeat(a.sessionId(), a.channel(), 5, 0, 0);

      for (long seq : new long[] {5, 4}) {
        assertThatThrownBy(() -> h.broker.heartbeat(a.sessionId(), a.channel(), seq, 0, 0))
            .isInstanceOfSatisfying(
                BrokerException.class,
                e -> assertThat(e.code()).isEqualTo(BrokerException.Code.INVALID_ARGUMENT))
            .hasMessageContaining("heartbeat.seq");
      }
      h.broker.heartbeat(a.sessionId(), a.channel(), 6, 0, 0);
    }
  }

  @Test
  void heartbeat_unknownSession_throwsNotFound() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      assertThatThrownBy(
              () -> h.broker.heartbeat("nosuchsession", new RecordingSessionChannel(), 1, 0, 0))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND));
    }
  }

  @Test
  void goodbye_sessionHoldingLeases_releasesEveryLeaseAsSessionClosed() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease render = h.grant(a, RENDER);
      Lease pdf = h.grant(a, PDF);
      Lease wasm = h.grant(a, WASM);
      Worker b = h.open("b");
      RecordingAcquireCallback waiting = h.acquire(b, RENDER, Duration.ofSeconds(5));

      h.broker.goodbye(a.sessionId(), a.channel());

      assertThat(h.broker.leases()).extracting(Lease::sessionId).containsOnly(b.sessionId());
      assertThat(h.broker.inUse(PDF)).isZero();
      assertThat(h.broker.inUse(WASM)).isZero();
      assertThat(waiting.granted().sessionId()).isEqualTo(b.sessionId());
      assertThat(h.broker.sessionCount()).isEqualTo(1);
      assertThat(a.channel().closes())
          .singleElement()
          .extracting(RecordingSessionChannel.Close::why)
          .isEqualTo(CloseReason.GOODBYE);
      for (Lease lease : List.of(render, pdf, wasm)) {
        assertThat(h.release(a, lease))
            .isEqualTo(new Broker.EndResult(false, LeaseEnd.SESSION_CLOSED, null));
      }
      assertThatThrownBy(() -> h.acquire(a, PDF))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.NOT_FOUND))
          .hasMessageContaining("goodbye");
    }
  }

  @Test
  void open_resumeDeclaringSafeModeLeases_countsThoseThePoolHasRoomForAndRefusesTheRest() {
    try (BrokerHarness h = new BrokerHarness(config().limit(RENDER, 2))) {
      Worker a = h.open("a");
      Lease granted = h.grant(a, RENDER);
      h.broker.detach(a.sessionId(), a.channel());
      h.time.advanceMillis(TTL_MS - 1);

      // Taken locally while the broker was out of reach: token 0, ids the broker never issued.
      Broker.Opened opened =
          h.broker.open(
              resumeHello(
                  "a",
                  a.sessionId(),
                  List.of(
                      new HeldLease(granted.id(), granted.fencingToken()),
                      local("local-1", RENDER),
                      local("local-2", RENDER),
                      local("local-3", ResourceKind.WASM))),
              PRINCIPAL,
              new RecordingSessionChannel());

      assertThat(opened.resumed()).isTrue();
      // The pool of 2 had room for one more; WASM is never taken locally.
      assertThat(opened.lostLeases()).containsExactlyInAnyOrder("local-2", "local-3");
      assertThat(h.broker.inUse(RENDER)).isEqualTo(2);
      Lease adopted =
          h.broker.leases().stream()
              .filter(l -> l.id().equals("local-1"))
              .findFirst()
              .orElseThrow();
      assertThat(adopted.fencingToken()).isZero();
      assertThat(adopted.sessionId()).isEqualTo(a.sessionId());
      // It is the session's now: releasing it frees its place.
      h.broker.release(a.sessionId(), "local-1", PRINCIPAL, Outcome.UNKNOWN);
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    }
  }

  @Test
  void open_resumeDeclaringSafeModeLeases_adoptsNoneBeyondThePerSessionLimit() {
    try (BrokerHarness h =
        new BrokerHarness(config().limit(RENDER, 8).perSessionLimit(RENDER, 2))) {
      Worker a = h.open("a");
      h.grant(a, RENDER);
      h.broker.detach(a.sessionId(), a.channel());

      Broker.Opened opened = resumeDeclaringLocal(h, "a", a, 5);

      assertThat(opened.lostLeases())
          .containsExactlyInAnyOrder("local-1", "local-2", "local-3", "local-4");
      assertThat(h.broker.inUse(RENDER)).isEqualTo(2);
    }
  }

  @Test
  void open_resumeDeclaringSafeModeLeases_adoptsNoneBeyondThePrincipalsLeaseCap() {
    try (BrokerHarness h =
        new BrokerHarness(
            BrokerHarness.withoutHostLimits(config().limit(RENDER, 8).build())
                .withCaps(new PrincipalCaps(0, 3, 0)),
            HeapProbe.NONE)) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      h.grant(b, PDF);
      h.broker.detach(a.sessionId(), a.channel());

      Broker.Opened opened = resumeDeclaringLocal(h, "a", a, 4);

      assertThat(opened.lostLeases()).containsExactlyInAnyOrder("local-2", "local-3");
      assertThat(h.broker.leases()).hasSize(3);
    }
  }

  /** Resumes {@code w}'s session declaring {@code n} RENDER leases taken in safe mode. */
  private static Broker.Opened resumeDeclaringLocal(
      BrokerHarness h, String workerId, Worker w, int n) {
    List<HeldLease> held = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      held.add(local("local-" + i, RENDER));
    }
    return h.broker.open(
        resumeHello(workerId, w.sessionId(), held), PRINCIPAL, new RecordingSessionChannel());
  }

  private static HeldLease local(String id, ResourceKind kind) {
    return new HeldLease(id, 0, kind, "example.com", "", 0);
  }

  @Test
  void open_resumeWithinTtl_keepsLeasesAndReportsUnknownOnesLost() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease render = h.grant(a, RENDER);
      Lease pdf = h.grant(a, PDF);
      h.broker.heartbeat(a.sessionId(), a.channel(), 7, 0, 0);
      h.broker.detach(a.sessionId(), a.channel());
      h.time.advanceMillis(TTL_MS - 1);

      RecordingSessionChannel stream2 = new RecordingSessionChannel();
      Broker.Opened opened =
          h.broker.open(
              resumeHello(
                  "a",
                  a.sessionId(),
                  List.of(
                      new HeldLease(render.id(), render.fencingToken()),
                      new HeldLease("feedfacefeedfacefeedfacefeedface", 7),
                      new HeldLease(pdf.id(), pdf.fencingToken() + 1))),
              PRINCIPAL,
              stream2);

      assertThat(opened.resumed()).isTrue();
      assertThat(opened.sessionId()).isEqualTo(a.sessionId());
      assertThat(opened.epoch()).isEqualTo(1);
      assertThat(opened.lostLeases())
          .containsExactlyInAnyOrder("feedfacefeedfacefeedfacefeedface", pdf.id());
      assertThat(h.isLive(render)).isTrue();
      // Declared under a token it never had, told lost: ended, so its worker lets go of nothing
      // the pool still counts.
      assertThat(h.isLive(pdf)).isFalse();
      // The resumed stream starts a fresh heartbeat sequence; the old stream is no longer it.
      h.broker.heartbeat(a.sessionId(), stream2, 0, 0, 0);
      assertThatThrownBy(() -> h.broker.heartbeat(a.sessionId(), a.channel(), 8, 0, 0))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.FAILED_PRECONDITION));
      // The resume counts as life: the session outlives its first TTL.
      h.time.advanceMillis(TTL_MS - 1);
      assertThat(h.isLive(render)).isTrue();
    }
  }

  /** A resume whose worker says {@code held} is every lease it holds, awaiting {@code awaited}. */
  private static HelloSpec completeResume(
      String sessionId, List<HeldLease> held, List<String> awaited) {
    return HelloSpec.validate("a", Map.of(), 0, sessionId, held, "", true, awaited);
  }

  @Test
  void open_resumeDeclaringEveryLease_endsTheUndeclaredAsReleasedAndGivesTheSlotToAWaiter() {
    try (BrokerHarness h = new BrokerHarness(config().limit(PDF, 4))) {
      Worker a = h.open("a");
      Worker b = h.open("b");
      Lease render = h.acquire(a, RENDER, null, "page-1", 0).granted();
      Lease pdf = h.grant(a, PDF);
      RecordingAcquireCallback waiter = h.acquire(b, RENDER, Duration.ofSeconds(30));
      h.broker.detach(a.sessionId(), a.channel());

      // The worker released the RENDER lease, but the release never took effect here.
      Broker.Opened opened =
          h.broker.open(
              completeResume(
                  a.sessionId(), List.of(new HeldLease(pdf.id(), pdf.fencingToken())), List.of()),
              PRINCIPAL,
              new RecordingSessionChannel());

      assertThat(opened.resumed()).isTrue();
      assertThat(opened.lostLeases()).isEmpty();
      assertThat(h.isLive(render)).isFalse();
      assertThat(h.isLive(pdf)).isTrue();
      assertThat(h.release(a, render))
          .as("a late release of it finds it ended, as released")
          .isEqualTo(new Broker.EndResult(false, LeaseEnd.RELEASED, null));
      assertThat(waiter.granted().sessionId()).isEqualTo(b.sessionId());
      // Its request is forgotten with it: a retry is decided afresh, not answered with the lease
      // that ended (the pool is b's now, so it is refused).
      RecordingAcquireCallback retry = h.acquire(a, RENDER, null, "page-1", 0);
      assertThat(retry.refused()).isNotNull();
      assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    }
  }

  @Test
  void open_resumeDeclaringItsLeaseUnderAnotherToken_reportedLostAndEndedSoTheSlotIsFree() {
    for (boolean complete : List.of(false, true)) {
      try (BrokerHarness h = new BrokerHarness(config())) {
        Worker a = h.open("a");
        Lease render = h.grant(a, RENDER);
        h.broker.detach(a.sessionId(), a.channel());
        List<HeldLease> held = List.of(new HeldLease(render.id(), render.fencingToken() + 1));
        HelloSpec hello =
            complete
                ? completeResume(a.sessionId(), held, List.of())
                : resumeHello("a", a.sessionId(), held);

        Broker.Opened opened = h.broker.open(hello, PRINCIPAL, new RecordingSessionChannel());

        assertThat(opened.lostLeases()).as("complete %s", complete).containsExactly(render.id());
        assertThat(h.isLive(render)).as("complete %s", complete).isFalse();
        assertThat(h.broker.inUse(RENDER)).isZero();
      }
    }
  }

  @Test
  void open_resumeDeclaringEveryLease_keepsTheGrantOfAnAwaitedRequestForItsRetry() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease render = h.acquire(a, RENDER, null, "page-1", 0).granted(); // its answer was lost
      h.broker.detach(a.sessionId(), a.channel());

      h.broker.open(
          completeResume(a.sessionId(), List.of(), List.of("page-1", "page-2")),
          PRINCIPAL,
          new RecordingSessionChannel());

      assertThat(h.isLive(render)).isTrue();
      Lease retried = h.acquire(a, RENDER, null, "page-1", 0).granted();
      assertThat(retried.id()).isEqualTo(render.id());
      assertThat(retried.fencingToken()).isEqualTo(render.fencingToken());
    }
  }

  @Test
  void open_resumeNotDeclaringEveryLease_keepsTheUndeclared() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease render = h.grant(a, RENDER);
      h.broker.detach(a.sessionId(), a.channel());

      Broker.Opened opened =
          h.broker.open(
              resumeHello("a", a.sessionId(), List.of()), PRINCIPAL, new RecordingSessionChannel());

      assertThat(opened.resumed()).isTrue();
      assertThat(h.isLive(render)).as("a generated client may not declare").isTrue();
    }
  }

  @Test
  void open_newSessionSayingItsDeclarationIsComplete_opensAsAnyOther() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease render = h.grant(a, RENDER);

      Broker.Opened opened =
          h.broker.open(
              completeResume("", List.of(), List.of()), PRINCIPAL, new RecordingSessionChannel());

      assertThat(opened.resumed()).isFalse();
      assertThat(h.isLive(render)).as("another session's lease").isTrue();
    }
  }

  @Test
  void open_resumeWhileOldStreamAttached_closesOldStreamReplaced() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      RecordingSessionChannel stream2 = new RecordingSessionChannel();

      h.broker.open(resumeHello("a", a.sessionId(), List.of()), PRINCIPAL, stream2);

      assertThat(a.channel().closes())
          .singleElement()
          .extracting(RecordingSessionChannel.Close::why)
          .isEqualTo(CloseReason.REPLACED);
      assertThat(stream2.closes()).isEmpty();
    }
  }

  @Test
  void open_resumeAfterTtl_opensNewSessionAndReportsAllLeasesLost() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");
      Lease render = h.grant(a, RENDER);
      h.broker.detach(a.sessionId(), a.channel());
      h.time.advanceMillis(TTL_MS + SWEEP_MS);

      Broker.Opened opened =
          h.broker.open(
              resumeHello(
                  "a", a.sessionId(), List.of(new HeldLease(render.id(), render.fencingToken()))),
              PRINCIPAL,
              new RecordingSessionChannel());

      assertThat(opened.resumed()).isFalse();
      assertThat(opened.sessionId()).isNotEqualTo(a.sessionId());
      assertThat(opened.lostLeases()).containsExactly(render.id());
      assertThat(h.isLive(render)).isFalse();
      assertThat(h.broker.sessionCount()).isEqualTo(1);
    }
  }

  @Test
  void open_resumeAfterTtlBeforeSweep_opensNewSession() {
    try (BrokerHarness h = new BrokerHarness(config().sweepInterval(Duration.ofMillis(TTL_MS)))) {
      h.time.advanceMillis(1);
      Worker a = h.open("a");
      Lease render = h.grant(a, RENDER);
      h.time.advanceMillis(TTL_MS);

      Broker.Opened opened =
          h.broker.open(
              resumeHello("a", a.sessionId(), List.of()), PRINCIPAL, new RecordingSessionChannel());

      assertThat(opened.resumed()).isFalse();
      assertThat(opened.sessionId()).isNotEqualTo(a.sessionId());
      assertThat(h.isLive(render)).isFalse();
      assertThat(h.broker.inUse(RENDER)).isZero();
    }
  }

  @Test
  void open_resumeByAnotherPrincipal_throwsPermissionDenied() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");

      assertThatThrownBy(
              () ->
                  h.broker.open(
                      resumeHello("a", a.sessionId(), List.of()),
                      "mallory",
                      new RecordingSessionChannel()))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.PERMISSION_DENIED))
          .hasMessageContaining("hello.resume_session_id");
      assertThat(a.channel().closes()).isEmpty();
    }
  }

  @Test
  void open_resumeByAnotherWorker_throwsPermissionDenied() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");

      assertThatThrownBy(
              () ->
                  h.broker.open(
                      resumeHello("b", a.sessionId(), List.of()),
                      PRINCIPAL,
                      new RecordingSessionChannel()))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.PERMISSION_DENIED));
    }
  }

  @Test
  void acquire_sessionOfAnotherPrincipal_throwsPermissionDenied() {
    try (BrokerHarness h = new BrokerHarness(config())) {
      Worker a = h.open("a");

      assertThatThrownBy(
              () ->
                  h.broker.acquire(
                      BrokerHarness.spec(a.sessionId(), PDF, null, "", 0),
                      "mallory",
                      new RecordingAcquireCallback()))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.PERMISSION_DENIED));
      assertThat(h.broker.inUse(PDF)).isZero();
    }
  }
}
