package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.internal.SessionProbe;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.ReleaseRequest;
import io.grpc.Server;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a resuming session declares, against a scripted broker that records its hellos and leaves
 * acquires unanswered: with lease calls on the stream, the declaration is complete and names the
 * acquires a broker may have granted before the stream dropped; with unary lease calls, whose
 * answers can still arrive after the hello, it does not say it is complete. A lease whose release
 * failed and waits for its retry (the broker then grants acquires and leaves releases unanswered)
 * is declared, so that the broker keeps it for the release, unless the session was lost.
 */
class ResumeHelloTest {
  private final String name = InProcessServerBuilder.generateName();

  /** Heartbeats a minute apart: none comes unless a test moves the clock that far. */
  private final ScriptedBroker scripted =
      new ScriptedBroker(Duration.ofMinutes(1), Duration.ofMinutes(3));

  private final FakeTicker ticker = new FakeTicker();
  private Server server;

  @BeforeEach
  void startServer() throws IOException {
    server =
        InProcessServerBuilder.forName(name).directExecutor().addService(scripted).build().start();
  }

  @AfterEach
  void stopServer() {
    server.shutdownNow();
  }

  private BrokerClient client(boolean unary) {
    BrokerClient.Builder builder = TestBroker.clientBuilder(name).ticker(ticker);
    return TestBroker.connect(name, unary ? builder.unaryLeaseCalls() : builder);
  }

  /** Drops the session's stream, lets the reconnect happen, and returns the resume's hello. */
  private Hello resume(WorkerSession session) {
    SessionProbe probe = SessionProbe.attach(session);
    probe.dropStream();
    ticker.advance(probe.awaitReconnectScheduled());
    Hello hello = scripted.nextHello().getHello();
    assertThat(hello.getResumeSessionId()).isEqualTo("s-1");
    return hello;
  }

  @Test
  void resume_leaseCallsOnTheStream_declarationCompleteAwaitingTheAcquireInFlight() {
    scripted.hellosToAnswer.set(2);
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      scripted.nextHello();
      AcquireOptions page =
          AcquireOptions.render("https://example.com/a").toBuilder().requestId("page-7").build();
      CompletableFuture<AcquireResult> inFlight =
          CompletableFuture.supplyAsync(() -> session.acquire(page));
      scripted.nextCall(); // the broker has it, and may have granted it

      Hello hello = resume(session);

      assertThat(hello.getHeldLeasesComplete()).isTrue();
      assertThat(hello.getAwaitedRequestIdsList()).containsExactly("page-7");
      assertThat(inFlight).isNotDone();
    }
  }

  @Test
  void resume_nothingInFlight_declarationCompleteAwaitingNothing() {
    scripted.hellosToAnswer.set(2);
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      scripted.nextHello();

      Hello hello = resume(session);

      assertThat(hello.getHeldLeasesComplete()).isTrue();
      assertThat(hello.getAwaitedRequestIdsList()).isEmpty();
    }
  }

  @Test
  void resume_unaryLeaseCalls_declarationNotSaidToBeComplete() {
    scripted.hellosToAnswer.set(2);
    try (BrokerClient client = client(true);
        WorkerSession session = client.openSession("worker-1")) {
      scripted.nextHello();

      Hello hello = resume(session);

      assertThat(hello.getHeldLeasesComplete()).isFalse();
      assertThat(hello.getAwaitedRequestIdsList()).isEmpty();
    }
  }

  /** The lease the scripted broker grants: RENDER for example.com, token 41, 300 MB. */
  private static final dev.berth.proto.v1.Lease GRANT =
      dev.berth.proto.v1.Lease.newBuilder()
          .setLeaseId("lease-1")
          .setKind(dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER)
          .setFencingToken(41)
          .setSessionId("s-1")
          .setHost("example.com")
          .setMemoryMb(300)
          .build();

  /** The lease as a resume must declare it. */
  private static final HeldLease DECLARED =
      HeldLease.newBuilder()
          .setLeaseId("lease-1")
          .setKind(dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER)
          .setFencingToken(41)
          .setHost("example.com")
          .setMemoryMb(300)
          .setHeldFor(com.google.protobuf.Duration.newBuilder().setSeconds(5)) // until queued
          .build();

  /**
   * Acquires the scripted grant and closes it with a 429 outcome; its release on the stream goes
   * unanswered until the call deadline (5 s), when it fails and is queued for a retry. Returns the
   * release, once {@code close()} has returned (the session no longer holds the lease).
   */
  private ReleaseRequest releaseQueued(WorkerSession session) throws Exception {
    scripted.grant = GRANT;
    Lease lease =
        TestBroker.granted(session.acquire(AcquireOptions.render("https://example.com/a")));
    lease.recordOutcome(Outcome.http(429));
    CompletableFuture<Void> closed = CompletableFuture.runAsync(lease::close);
    ReleaseRequest release = scripted.nextRelease(); // on the stream; never answered
    ticker.advance(Duration.ofSeconds(5));
    closed.get(5, TimeUnit.SECONDS);
    assertThat(SessionProbe.attach(session).leaseCount()).as("the lease is closed").isZero();
    assertThat(release.getOutcome().getHttpStatus()).isEqualTo(429);
    return release;
  }

  @Test
  void resume_leaseHeld_declaredWithHowLongItHasBeenHeld_soARestartKeepsItsMaxHold() {
    scripted.hellosToAnswer.set(2);
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      scripted.nextHello();
      scripted.grant = GRANT;
      Lease lease =
          TestBroker.granted(session.acquire(AcquireOptions.render("https://example.com/a")));
      ticker.advance(Duration.ofSeconds(90));

      Hello hello = resume(session);

      assertThat(hello.getHeldLeasesList())
          .singleElement()
          .satisfies(
              held -> {
                assertThat(held.getLeaseId()).isEqualTo(lease.leaseId());
                assertThat(held.getHeldFor().getSeconds())
                    .as("held since the acquire")
                    .isBetween(90L, 95L);
              });
    }
  }

  @Test
  void resume_releaseQueuedForRetry_leaseDeclaredOnce() throws Exception {
    scripted.hellosToAnswer.set(2);
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      scripted.nextHello();
      releaseQueued(session);

      Hello hello = resume(session);

      assertThat(hello.getHeldLeasesComplete()).isTrue();
      assertThat(hello.getHeldLeasesList()).containsExactly(DECLARED);
    }
  }

  @Test
  void resume_queuedReleaseRetriedAndUnanswered_leaseStillDeclared() throws Exception {
    scripted.hellosToAnswer.set(2);
    scripted.ackHeartbeats = true;
    scripted.holdUnaryReleases = true;
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      scripted.nextHello();
      ReleaseRequest queued = releaseQueued(session);
      // The next heartbeat retries it as a unary call, which the broker does not answer.
      ticker.advance(Duration.ofMinutes(1));
      assertThat(scripted.nextRelease()).isEqualTo(queued);

      Hello hello = resume(session);

      assertThat(hello.getHeldLeasesList()).containsExactly(DECLARED);
      scripted.answerHeldReleases(); // so that closing the client need not wait for the call
    }
  }

  @Test
  void sessionLost_releaseQueuedForRetry_droppedNeitherRetriedNorDeclared() throws Exception {
    scripted.hellosToAnswer.set(3);
    scripted.ackHeartbeats = true;
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      scripted.nextHello();
      releaseQueued(session);
      scripted.sessionId = "s-2"; // the broker lost s-1, and every lease of it with it

      SessionProbe probe = SessionProbe.attach(session);
      probe.dropStream();
      ticker.advance(probe.awaitReconnectScheduled());
      assertThat(scripted.nextHello().getHello().getResumeSessionId()).isEqualTo("s-1");
      assertThat(probe.awaitOpened()).as("resumed").isFalse();
      ticker.advance(Duration.ofMinutes(1)); // a heartbeat, which retries the queued releases
      probe.awaitHeartbeatAck();
      probe.dropStream();
      ticker.advance(probe.awaitReconnectScheduled());
      Hello hello = scripted.nextHello().getHello();

      assertThat(hello.getResumeSessionId()).isEqualTo("s-2");
      assertThat(hello.getHeldLeasesList()).isEmpty();
      assertThat(scripted.releases).as("the release of s-1, not retried").isEmpty();
    }
  }
}
