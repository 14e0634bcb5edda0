package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.java;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseEnd;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.PressureLevel;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.lease.ResourceKind;
import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code LeaseBroker.OpenSession} over the in-process transport: hello, heartbeats, resume. */
class LeaseBrokerSessionTest {
  private static final String UNKNOWN_LEASE = "0123456789abcdef0123456789abcdef";

  private InProcessBroker b;

  @BeforeEach
  void setUp() {
    b = new InProcessBroker();
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  /** Advances past the session TTL and one more sweep, so the sweeper has seen it expire. */
  private void advancePastTtl() {
    b.time.advance(InProcessBroker.SESSION_TTL.plus(InProcessBroker.SWEEP_INTERVAL));
  }

  private static HeldLease held(Lease lease) {
    return HeldLease.newBuilder()
        .setLeaseId(lease.getLeaseId())
        .setFencingToken(lease.getFencingToken())
        .build();
  }

  // ------------------------------------------------------------ hello and heartbeat

  @Test
  void openSession_hello_opensNewSessionWithConfiguredTiming() {
    SessionRecorder stream = b.openStream();

    Opened opened = stream.hello("worker-1");

    assertThat(opened.getSessionId()).isNotEmpty();
    assertThat(opened.getBrokerEpoch()).isEqualTo(1);
    assertThat(java(opened.getHeartbeatInterval())).isEqualTo(InProcessBroker.HEARTBEAT_INTERVAL);
    assertThat(java(opened.getSessionTtl())).isEqualTo(InProcessBroker.SESSION_TTL);
    assertThat(opened.getResumed()).isFalse();
    assertThat(opened.getLostLeasesList()).isEmpty();
    assertThat(b.broker.sessionCount()).isEqualTo(1);
    assertThat(stream.isClosed()).isFalse();
  }

  @Test
  void openSession_twoWorkers_distinctSessionIds() {
    String first = b.openSession("worker-1").sessionId();
    String second = b.openSession("worker-2").sessionId();

    assertThat(first).isNotEqualTo(second);
    assertThat(b.broker.sessionCount()).isEqualTo(2);
  }

  @Test
  void openSession_freshHelloDeclaringLeases_listsThemAllLost() {
    SessionRecorder stream = b.openStream();

    Opened opened =
        stream.hello(
            Hello.newBuilder()
                .setWorkerId("worker-1")
                .addHeldLeases(
                    HeldLease.newBuilder().setLeaseId(UNKNOWN_LEASE).setFencingToken(5)));

    assertThat(opened.getResumed()).isFalse();
    assertThat(opened.getLostLeasesList()).containsExactly(UNKNOWN_LEASE);
  }

  @Test
  void openSession_heartbeat_acksSameSeqWithNoPressure() {
    SessionRecorder stream = b.openSession("worker-1");

    stream.sendHeartbeat(1);

    SessionEvent event = stream.next();
    assertThat(event.hasHeartbeatAck()).isTrue();
    assertThat(event.getHeartbeatAck().getSeq()).isEqualTo(1);
    assertThat(event.getHeartbeatAck().getPressure()).isEqualTo(PressureLevel.PRESSURE_LEVEL_NONE);
  }

  @Test
  void openSession_firstHeartbeatSeqZero_acked() {
    SessionRecorder stream = b.openSession("worker-1");

    stream.heartbeat(0);
    stream.heartbeat(1);

    assertThat(stream.isClosed()).isFalse();
  }

  @Test
  void openSession_heartbeatsWithinTtl_keepSessionAlivePastTtl() {
    SessionRecorder stream = b.openSession("worker-1");
    Lease lease = b.grant(stream.sessionId(), RESOURCE_KIND_RENDER);

    for (int seq = 1; seq <= 10; seq++) {
      b.time.advance(InProcessBroker.HEARTBEAT_INTERVAL);
      stream.heartbeat(seq);
    }

    assertThat(b.broker.sessionCount()).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
    assertThat(b.release(stream.sessionId(), lease.getLeaseId()).getReleased()).isTrue();
    assertThat(stream.isClosed()).isFalse();
  }

  @Test
  void openSession_heartbeatBeforeHello_invalidArgumentMentioningHello() {
    SessionRecorder stream = b.openStream();

    stream.sendHeartbeat(1);

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("hello");
    assertThat(stream.pendingEvents()).isZero();
    assertThat(b.broker.sessionCount()).isZero();
  }

  @Test
  void openSession_goodbyeBeforeHello_invalidArgumentMentioningHello() {
    SessionRecorder stream = b.openStream();

    stream.goodbye();

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("hello");
  }

  @Test
  void openSession_secondHello_invalidArgumentNamingHello() {
    SessionRecorder stream = b.openSession("worker-1");

    stream.send(
        SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("worker-1")).build());

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("hello");
    assertThat(stream.pendingEvents()).isZero();
    assertThat(b.broker.sessionCount()).as("the first session lives on until its TTL").isEqualTo(1);
  }

  @Test
  void openSession_emptyMessage_invalidArgumentNamingMsg() {
    SessionRecorder stream = b.openStream();

    stream.send(SessionRequest.getDefaultInstance());

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("msg");
  }

  @Test
  void openSession_heldLeaseWithNegativeHeldFor_invalidArgumentNamingHeldFor() {
    SessionRecorder stream = b.openStream();

    stream.send(
        SessionRequest.newBuilder()
            .setHello(
                Hello.newBuilder()
                    .setWorkerId("worker-1")
                    .setResumeSessionId("s-1")
                    .addHeldLeases(
                        HeldLease.newBuilder()
                            .setLeaseId("l-1")
                            .setFencingToken(5)
                            .setHeldFor(com.google.protobuf.Duration.newBuilder().setSeconds(-1))))
            .build());

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("hello.held_leases.held_for");
  }

  @Test
  void openSession_helloWithoutWorkerId_invalidArgumentNamingWorkerId() {
    SessionRecorder stream = b.openStream();

    stream.send(SessionRequest.newBuilder().setHello(Hello.getDefaultInstance()).build());

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("hello.worker_id");
    assertThat(stream.pendingEvents()).isZero();
    assertThat(b.broker.sessionCount()).isZero();
  }

  @Test
  void openSession_workerIdWithSpace_invalidArgumentNamingWorkerId() {
    SessionRecorder stream = b.openStream();

    stream.send(
        SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("two words")).build());

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("hello.worker_id");
    assertThat(b.broker.sessionCount()).isZero();
  }

  @Test
  void openSession_repeatedSeq_invalidArgumentNamingSeq() {
    SessionRecorder stream = b.openSession("worker-1");
    stream.heartbeat(5);

    stream.sendHeartbeat(5);

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("heartbeat.seq");
    assertThat(stream.pendingEvents()).isZero();
  }

  @Test
  void openSession_decreasingSeq_invalidArgumentNamingSeq() {
    SessionRecorder stream = b.openSession("worker-1");
    stream.heartbeat(5);

    stream.sendHeartbeat(4);

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("heartbeat.seq");
  }

  // ------------------------------------------------------------ goodbye

  @Test
  void openSession_goodbye_completesStreamAndReleasesLeases() {
    SessionRecorder stream = b.openSession("worker-1");
    String session = stream.sessionId();
    Lease render = b.grant(session, RESOURCE_KIND_RENDER);
    Lease pdf = b.grant(session, RESOURCE_KIND_PDF);

    stream.goodbye();

    assertThat(stream.status().getCode()).isEqualTo(Status.Code.OK);
    assertThat(b.broker.sessionCount()).isZero();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
    assertThat(b.broker.inUse(ResourceKind.PDF)).isZero();
    for (Lease lease : new Lease[] {render, pdf}) {
      ReleaseResponse release = b.release(session, lease.getLeaseId());
      assertThat(release.getReleased()).isFalse();
      assertThat(release.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_SESSION_CLOSED);
    }
  }

  @Test
  void openSession_acquireAfterGoodbye_notFoundNamingSessionId() {
    SessionRecorder stream = b.openSession("worker-1");
    stream.goodbye();
    assertThat(stream.status().isOk()).isTrue();

    Status status =
        failure(
            Status.Code.NOT_FOUND,
            () -> b.acquire(request(stream.sessionId(), RESOURCE_KIND_RENDER)));

    assertThat(status.getDescription()).startsWith("session_id").contains("goodbye");
  }

  @Test
  void openSession_goodbyeWithWaitingAcquire_failsTheWaiterNotFound() throws Exception {
    SessionRecorder holder = b.openSession("holder");
    b.grant(holder.sessionId(), RESOURCE_KIND_PDF);
    b.grant(holder.sessionId(), RESOURCE_KIND_PDF);
    SessionRecorder stream = b.openSession("worker-1");
    var waiting =
        b.future.acquire(
            request(stream.sessionId(), RESOURCE_KIND_PDF)
                .setWait(InProcessBroker.proto(Duration.ofSeconds(10)))
                .build());
    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(1);

    stream.goodbye();

    assertThat(waiting.isDone()).isTrue();
    Status status = failure(Status.Code.NOT_FOUND, waiting);
    assertThat(status.getDescription()).startsWith("session_id");
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.inUse(ResourceKind.PDF)).isEqualTo(2);
  }

  // ------------------------------------------------------------ dropped streams and resume

  @Test
  void openSession_streamDropped_sessionKeptAndAcquireWorksWithinTtl() {
    SessionRecorder stream = b.openSession("worker-1");
    String session = stream.sessionId();
    b.grant(session, RESOURCE_KIND_RENDER);

    stream.cancel();
    assertThat(stream.status().getCode()).isEqualTo(Status.Code.CANCELLED);
    b.time.advance(InProcessBroker.SESSION_TTL.minusSeconds(1));

    AcquireResponse response = b.acquire(request(session, RESOURCE_KIND_PDF));
    assertThat(response.hasGranted()).as("granted: %s", response).isTrue();
    assertThat(b.broker.sessionCount()).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void openSession_resumeWithinTtl_keepsSessionAndLeasesAndListsUnknownLeaseLost() {
    SessionRecorder first = b.openSession("worker-1");
    String session = first.sessionId();
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);
    first.cancel();
    assertThat(first.status().getCode()).isEqualTo(Status.Code.CANCELLED);
    b.time.advance(InProcessBroker.SESSION_TTL.minusSeconds(1));

    SessionRecorder second = b.openStream();
    Opened opened =
        second.resume(
            "worker-1",
            session,
            held(lease),
            HeldLease.newBuilder().setLeaseId(UNKNOWN_LEASE).setFencingToken(1).build());

    assertThat(opened.getResumed()).isTrue();
    assertThat(opened.getSessionId()).isEqualTo(session);
    assertThat(opened.getBrokerEpoch()).isEqualTo(1);
    assertThat(opened.getLostLeasesList()).containsExactly(UNKNOWN_LEASE);
    assertThat(b.broker.sessionCount()).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
    second.heartbeat(1);
    ReleaseResponse release = b.release(session, lease.getLeaseId());
    assertThat(release.getReleased()).isTrue();
    assertThat(release.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_RELEASED);
  }

  @Test
  void openSession_resumeDeclaringWrongFencingToken_listsLeaseLost() {
    SessionRecorder first = b.openSession("worker-1");
    Lease lease = b.grant(first.sessionId(), RESOURCE_KIND_RENDER);
    first.cancel();

    Opened opened =
        b.openStream()
            .resume(
                "worker-1",
                first.sessionId(),
                held(lease).toBuilder().setFencingToken(lease.getFencingToken() + 1).build());

    assertThat(opened.getResumed()).isTrue();
    assertThat(opened.getLostLeasesList()).containsExactly(lease.getLeaseId());
  }

  @Test
  void openSession_resumeRestartsHeartbeatSeq_lowerSeqAccepted() {
    SessionRecorder first = b.openSession("worker-1");
    first.heartbeat(41);
    first.cancel();

    SessionRecorder second = b.openStream();
    second.resume("worker-1", first.sessionId());

    second.heartbeat(1);
    assertThat(second.isClosed()).isFalse();
  }

  @Test
  void openSession_resumeWhileOldStreamOpen_closesOldStreamAborted() {
    SessionRecorder first = b.openSession("worker-1");
    String session = first.sessionId();

    SessionRecorder second = b.openStream();
    Opened opened = second.resume("worker-1", session);

    assertThat(opened.getResumed()).isTrue();
    assertThat(opened.getSessionId()).isEqualTo(session);
    assertThat(first.status().getCode()).isEqualTo(Status.Code.ABORTED);
    assertThat(second.isClosed()).isFalse();
    second.heartbeat(1);
    assertThat(b.broker.sessionCount()).isEqualTo(1);
  }

  @Test
  void openSession_resumeByAnotherWorker_permissionDenied() {
    SessionRecorder first = b.openSession("worker-1");

    SessionRecorder second = b.openStream();
    second.send(
        SessionRequest.newBuilder()
            .setHello(
                Hello.newBuilder().setWorkerId("worker-2").setResumeSessionId(first.sessionId()))
            .build());

    Status status = second.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(status.getDescription()).startsWith("hello.resume_session_id");
    assertThat(first.isClosed()).isFalse();
    first.heartbeat(1);
  }

  @Test
  void openSession_resumeUnknownSession_opensNewSession() {
    Opened opened = b.openStream().resume("worker-1", UNKNOWN_LEASE);

    assertThat(opened.getResumed()).isFalse();
    assertThat(opened.getSessionId()).isNotEqualTo(UNKNOWN_LEASE).isNotEmpty();
  }

  // ------------------------------------------------------------ expiry

  @Test
  void openSession_ttlPassesWithoutHeartbeat_sessionExpiresAndLeasesEnd() {
    SessionRecorder stream = b.openSession("worker-1");
    String session = stream.sessionId();
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);
    stream.cancel();

    advancePastTtl();

    assertThat(b.broker.sessionCount()).isZero();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
    ReleaseResponse release = b.release(session, lease.getLeaseId());
    assertThat(release.getReleased()).isFalse();
    assertThat(release.getEndedBy()).isEqualTo(LeaseEnd.LEASE_END_SESSION_EXPIRED);
  }

  @Test
  void openSession_acquireOnExpiredSession_notFoundMentioningExpired() {
    SessionRecorder stream = b.openSession("worker-1");
    stream.cancel();
    advancePastTtl();

    Status status =
        failure(
            Status.Code.NOT_FOUND,
            () -> b.acquire(request(stream.sessionId(), RESOURCE_KIND_RENDER)));

    assertThat(status.getDescription()).startsWith("session_id").contains("expired");
  }

  @Test
  void openSession_resumeAfterTtl_opensNewSessionAndListsLeasesLost() {
    SessionRecorder first = b.openSession("worker-1");
    String session = first.sessionId();
    Lease lease = b.grant(session, RESOURCE_KIND_RENDER);
    first.cancel();
    advancePastTtl();

    Opened opened = b.openStream().resume("worker-1", session, held(lease));

    assertThat(opened.getResumed()).isFalse();
    assertThat(opened.getSessionId()).isNotEmpty().isNotEqualTo(session);
    assertThat(opened.getLostLeasesList()).containsExactly(lease.getLeaseId());
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void openSession_resumeExactlyAtTtlWithoutSweep_opensNewSession() {
    SessionRecorder first = b.openSession("worker-1");
    String session = first.sessionId();
    first.cancel();
    // The sweeper may not have run yet; the resume itself must notice the session is due.
    b.time.advance(InProcessBroker.SESSION_TTL);

    Opened opened = b.openStream().resume("worker-1", session);

    assertThat(opened.getResumed()).isFalse();
    assertThat(opened.getSessionId()).isNotEqualTo(session);
  }

  @Test
  void openSession_sessionExpiresWhileStreamOpen_closesStreamNotFoundMentioningExpired() {
    SessionRecorder stream = b.openSession("worker-1");
    Lease lease = b.grant(stream.sessionId(), RESOURCE_KIND_PDF);

    advancePastTtl();

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(status.getDescription()).contains("expired");
    assertThat(b.broker.inUse(ResourceKind.PDF)).isZero();
    assertThat(b.release(stream.sessionId(), lease.getLeaseId()).getEndedBy())
        .isEqualTo(LeaseEnd.LEASE_END_SESSION_EXPIRED);
  }

  @Test
  void openSession_halfCloseWithoutGoodbye_completesStreamAndKeepsSession() {
    SessionRecorder stream = b.openSession("worker-1");
    b.grant(stream.sessionId(), RESOURCE_KIND_RENDER);

    stream.halfClose();

    assertThat(stream.status().getCode()).isEqualTo(Status.Code.OK);
    assertThat(b.broker.sessionCount()).isEqualTo(1);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
    Opened opened = b.openStream().resume("worker-1", stream.sessionId());
    assertThat(opened.getResumed()).isTrue();
  }

  @Test
  void openSession_heartbeatAfterTtlBeforeSweep_closesStreamNotFoundMentioningExpired() {
    SessionRecorder stream = b.openSession("worker-1");
    b.time.advance(Duration.ofMillis(100));
    stream.heartbeat(0); // due at +15.1 s; the sweeps run at +15.0 s and +15.25 s
    b.time.advance(InProcessBroker.SESSION_TTL.plusMillis(50));
    assertThat(stream.isClosed()).as("no sweep has seen it yet").isFalse();

    stream.sendHeartbeat(1);

    Status status = stream.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(status.getDescription()).contains("expired");
    assertThat(stream.pendingEvents()).as("no ack for a late heartbeat").isZero();
    assertThat(b.broker.sessionCount()).isZero();
  }

  @Test
  void openSession_acquireAfterTtlBeforeSweep_notFoundAndStreamClosed() {
    SessionRecorder stream = b.openSession("worker-1");
    Lease lease = b.grant(stream.sessionId(), RESOURCE_KIND_RENDER);
    b.time.advance(Duration.ofMillis(100));
    stream.heartbeat(0);
    b.time.advance(InProcessBroker.SESSION_TTL.plusMillis(50));

    Status status =
        failure(
            Status.Code.NOT_FOUND,
            () -> b.acquire(request(stream.sessionId(), RESOURCE_KIND_RENDER)));

    assertThat(status.getDescription()).contains("expired");
    assertThat(stream.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isZero();
    assertThat(b.release(stream.sessionId(), lease.getLeaseId()).getEndedBy())
        .isEqualTo(LeaseEnd.LEASE_END_SESSION_EXPIRED);
  }

  // ------------------------------------------------------------ flow control

  private static SessionRequest hello(String workerId) {
    return SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId(workerId)).build();
  }

  @Test
  void openSession_workerNotReading_newestHeartbeatAckReplacesUnsentOlderOnes() {
    SessionRecorder stream = SessionRecorder.openNotReading(b.async);
    stream.send(hello("worker-1"));
    for (int seq = 1; seq <= 5; seq++) {
      stream.sendHeartbeat(seq);
    }
    assertThat(stream.pendingEvents()).isZero();

    stream.request(10);

    assertThat(stream.next().hasOpened()).isTrue();
    SessionEvent ack = stream.next();
    assertThat(ack.getHeartbeatAck().getSeq()).isEqualTo(5);
    assertThat(stream.pendingEvents()).isZero();
    assertThat(stream.isClosed()).isFalse();
  }

  @Test
  void openSession_workerStopsReading_streamClosedResourceExhaustedAndSessionKept() {
    int leases = SessionStream.Limits.DEFAULT.maxPendingEvents() + 20;
    Duration maxHold = Duration.ofSeconds(20);
    try (InProcessBroker big =
        new InProcessBroker(
            InProcessBroker.config()
                .sessionTtl(Duration.ofMinutes(1))
                .limit(ResourceKind.RENDER, leases)
                .maxHold(ResourceKind.RENDER, maxHold)
                .build())) {
      SessionRecorder stream = SessionRecorder.openNotReading(big.async);
      stream.send(hello("worker-1"));
      stream.request(1);
      String session = stream.next().getOpened().getSessionId();
      for (int i = 0; i < leases; i++) {
        // One host each, so the per-host rate limit does not interfere.
        AcquireResponse granted =
            big.acquire(
                InProcessBroker.request(session, RESOURCE_KIND_RENDER)
                    .setUrl("https://site" + i + ".example/page"));
        assertThat(granted.hasGranted()).as("granted: %s", granted).isTrue();
      }

      big.time.advance(maxHold); // every lease is revoked; the worker reads none of the pushes

      Status status = stream.status();
      assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(status.getDescription()).contains("resume");
      assertThat(big.broker.sessionCount()).isEqualTo(1);
      Opened opened = big.openStream().resume("worker-1", session);
      assertThat(opened.getResumed()).isTrue();
    }
  }
}
