package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.internal.InProcessClients;
import dev.berth.client.internal.SessionProbe;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.grpc.BrokerServer;
import dev.berth.server.wasm.ModuleRegistry;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The SDK against two real in-process brokers behind the server's leader gate, as two members of a
 * cluster whose roles the test sets: a follower answers NOT_LEADER naming the leader (here, the
 * leader's in-process server name) or no one. The client finds the leader by the hint, backs off on
 * its fake ticker while no leader is known, and after a failover resumes its session on the new
 * leader with its lease and sends its waiting acquire there again.
 */
class ClusterClientTest {
  private static final dev.berth.server.lease.ResourceKind SERVER_RENDER =
      dev.berth.server.lease.ResourceKind.RENDER;

  private final SettableRole roleA = new SettableRole(false, "");
  private final SettableRole roleB = new SettableRole(false, "");
  private final TestBroker a = member(roleA);
  private final TestBroker b = member(roleB);

  private static TestBroker member(SettableRole role) {
    BrokerConfig.Builder config = TestBroker.config().limit(SERVER_RENDER, 1);
    return new TestBroker(
        config, ModuleRegistry.empty(), time -> BrokerServer.Options.DEFAULT.withRole(role));
  }

  @AfterEach
  void stop() {
    a.close();
    b.close();
  }

  /** A client of {@code members} (in-process server names) on a's fake ticker. */
  private BrokerClient client(String... members) {
    return InProcessClients.connect(List.of(members), a.clientBuilder().settings());
  }

  /**
   * A client of a and b whose channel to b cannot be made while {@code bBroken} is set: opening it
   * throws, as it does for a client certificate that does not match its key halfway through a
   * rotation of the TLS files.
   */
  private BrokerClient clientWithBrokenB(BrokerClient.Builder builder, AtomicBoolean bBroken) {
    return InProcessClients.connect(
        List.of(a.name(), b.name()),
        builder.settings(),
        name -> {
          if (name.equals(b.name()) && bBroken.get()) {
            throw new IllegalArgumentException("--tls-cert: cert.pem: does not match the key");
          }
          return InProcessChannelBuilder.forName(name).directExecutor().build();
        });
  }

  @Test
  void reconnect_channelToTheNextMemberCannotBeMade_backsOffAndResumesOnceItCan() {
    roleA.set(true, "");
    AtomicBoolean bBroken = new AtomicBoolean(true);
    try (BrokerClient client = clientWithBrokenB(a.clientBuilder(), bBroken);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      String sessionId = session.sessionId();

      roleA.set(false, b.name()); // a steps down naming b, whose channel cannot be made
      assertThat(probe.awaitReconnectScheduled()).as("follows the hint at once").isZero();
      Duration afterFailure = probe.awaitReconnectScheduled();
      assertThat(afterFailure).as("the failed channel is a failed attempt").isPositive();
      assertThat(session.isLive()).isFalse();

      bBroken.set(false); // the rotation is over; b leads
      b.broker.takeOver(2);
      roleB.set(true, "");
      // a names b, which did not answer last time: the hint counts as none and b comes next in
      // turn, after another back-off.
      a.ticker.advance(afterFailure);
      a.ticker.advance(probe.awaitReconnectScheduled());

      assertThat(probe.awaitOpened()).as("resumed on b").isTrue();
      assertThat(session.sessionId()).isEqualTo(sessionId);
      assertThat(session.isLive()).isTrue();
    }
  }

  @Test
  void unaryAcquire_channelToTheLeaderCannotBeMade_throwsUnavailable() {
    roleA.set(true, "");
    AtomicBoolean bBroken = new AtomicBoolean(true);
    try (BrokerClient client = clientWithBrokenB(a.clientBuilder().unaryLeaseCalls(), bBroken);
        WorkerSession session = client.openSession("worker-1")) {
      roleA.set(false, b.name()); // a names b, whose channel cannot be made
      roleB.set(true, "");

      // Tried in turn until the deadline (each failure to make b's channel moves on to a, which
      // names b again), then the last failure is thrown, as for members that do not answer.

      assertThatThrownBy(() -> session.acquire(AcquireOptions.render("https://example.com/a")))
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.condition()).isEqualTo(BrokerException.Condition.UNAVAILABLE));
      assertThat(b.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void openSession_givenOnlyAFollower_followsItsHintToTheLeader() {
    grantedByTheLeaderViaTheFollower(a.clientBuilder());
  }

  @Test
  void unaryAcquire_givenOnlyAFollower_isGrantedByTheLeader() {
    grantedByTheLeaderViaTheFollower(a.clientBuilder().unaryLeaseCalls());
  }

  /** a follows b; a client given only a opens its session and is granted its lease at b. */
  private void grantedByTheLeaderViaTheFollower(BrokerClient.Builder builder) {
    roleA.set(false, b.name());
    roleB.set(true, "");
    try (BrokerClient client = InProcessClients.connect(List.of(a.name()), builder.settings());
        WorkerSession session = client.openSession("worker-1");
        Lease lease = granted(session.acquire(AcquireOptions.render("https://example.com/a")))) {
      assertThat(lease.isValid()).isTrue();
      assertThat(b.inUse(SERVER_RENDER)).isEqualTo(1);
      assertThat(a.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void leaderFails_sessionResumesOnTheNewLeader_keepsItsLeaseAndResendsTheWaitingAcquire()
      throws Exception {
    roleA.set(true, "");
    roleB.set(false, a.name());
    try (BrokerClient client = client(a.name(), b.name());
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease held = granted(session.acquire(AcquireOptions.render("https://example.com/a")));
      String sessionId = session.sessionId();
      // The pool (1) is full: this one waits in a's queue, in flight on the stream.
      CompletableFuture<AcquireResult> waiting =
          CompletableFuture.supplyAsync(
              () ->
                  session.acquire(
                      AcquireOptions.render("https://example.com/b").toBuilder()
                          .maxWait(Duration.ofMinutes(30))
                          .requestId("req-b")
                          .build()));
      TestBroker.until(() -> a.broker.queued(SERVER_RENDER) == 1, "the 2nd acquire waits at a");

      // a loses its leadership and nobody leads yet: b knows no leader either.
      roleB.set(false, "");
      roleA.set(false, "");
      a.broker.stepDown();
      Duration first = probe.awaitReconnectScheduled();
      assertThat(first).as("backs off while no leader is known").isPositive();
      a.ticker.advance(first); // tries b, which knows no leader
      Duration second = probe.awaitReconnectScheduled();
      assertThat(second).isPositive();

      // b is elected; a now names it.
      b.broker.takeOver(2);
      roleB.set(true, "");
      roleA.set(false, b.name());
      a.ticker.advance(second); // tries a, which sends it to b at once

      assertThat(probe.awaitOpened()).as("resumed on b").isTrue();
      assertThat(session.sessionId()).isEqualTo(sessionId);
      assertThat(held.isValid()).as("the re-declared lease is kept").isTrue();
      assertThat(b.inUse(SERVER_RENDER)).isEqualTo(1);
      assertThat(b.broker.queued(SERVER_RENDER))
          .as("the waiting acquire was sent again, to b")
          .isEqualTo(1);

      held.close();
      // b's recovery window (one TTL from its takeover) ends; a heartbeat halfway keeps the
      // session, whose TTL at b started at the resume.
      b.time.advance(TestBroker.TTL.dividedBy(2));
      a.ticker.advance(TestBroker.HEARTBEAT_INTERVAL);
      probe.awaitHeartbeatAck();
      b.time.advance(TestBroker.TTL.dividedBy(2).plusSeconds(1));
      try (Lease next = granted(waiting.get(5, TimeUnit.SECONDS))) {
        assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
        assertThat(b.inUse(SERVER_RENDER)).isEqualTo(1);
        assertThat(a.inUse(SERVER_RENDER)).isZero();
      }
    }
  }
}
