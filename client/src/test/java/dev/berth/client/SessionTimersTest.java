package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.internal.InProcessClients;
import dev.berth.client.internal.SessionProbe;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.Server;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A session's timers on the fake ticker, against a scripted broker that can leave a hello
 * unanswered or heartbeats unacknowledged, which the real broker never does: each timer fires
 * exactly when the ticker passes it, and not a nanosecond before; so does the wait for the answers
 * to goodbyes when a session or a client closes.
 */
class SessionTimersTest {
  private static final Duration CALL_DEADLINE = Duration.ofSeconds(5);
  private static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(1);
  private static final Duration TTL = Duration.ofSeconds(3);

  private final String name = InProcessServerBuilder.generateName();
  private final ScriptedBroker scripted = new ScriptedBroker(HEARTBEAT_INTERVAL, TTL);
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

  private BrokerClient client() {
    return TestBroker.connect(name, clientBuilder());
  }

  private BrokerClient.Builder clientBuilder() {
    return TestBroker.clientBuilder(name)
        .ticker(ticker)
        .callDeadline(CALL_DEADLINE)
        .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(10));
  }

  @Test
  void reconnect_resumeHelloUnanswered_cancelledAtCallDeadlineThenBacksOffLonger() {
    scripted.hellosToAnswer.set(1);
    try (BrokerClient client = client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      scripted.nextHello(); // the first, answered
      probe.dropStream();
      Duration first = probe.awaitReconnectScheduled();

      ticker.advance(first);
      SessionRequest resume = scripted.nextHello();
      ticker.advance(CALL_DEADLINE.minusNanos(1));
      boolean quietBeforeDeadline = probe.isQuiet();
      ticker.advance(Duration.ofNanos(1));
      Duration second = probe.awaitReconnectScheduled();

      assertThat(first).isBetween(Duration.ofMillis(80), Duration.ofMillis(120));
      assertThat(resume.getHello().getResumeSessionId()).isEqualTo("s-1");
      assertThat(quietBeforeDeadline).as("still waiting for the answer").isTrue();
      assertThat(second)
          .as("doubled, ±20 %")
          .isBetween(Duration.ofMillis(160), Duration.ofMillis(240));
      assertThat(session.isLive()).isFalse();
    }
  }

  /**
   * The broker's answer to a resume hello can reach the SDK just as the hello's deadline fires, and
   * be queued on the session's thread behind the timeout, which has already cancelled the stream.
   * The answer belongs to that cancelled stream: the session must not take it as resumed (and then
   * lose the stream at once), but back off as after any unanswered hello.
   */
  @Test
  void reconnect_resumeAnsweredBehindItsTimeout_answerIgnored_backsOffAsForATimeout()
      throws InterruptedException {
    scripted.hellosToAnswer.set(1);
    StreamTap tap = new StreamTap();
    try (BrokerClient client = InProcessClients.connect(name, clientBuilder().settings(), tap);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      scripted.nextHello(); // the first, answered
      probe.dropStream();
      Duration first = probe.awaitReconnectScheduled();
      ticker.advance(first);
      scripted.nextHello(); // the resume, left unanswered for now

      CountDownLatch gate = new CountDownLatch(1);
      ticker.holdNextHandOff(gate);
      ticker.advance(CALL_DEADLINE); // the timeout waits on the session's thread, at the gate
      scripted.answerHeldHello();
      tap.awaitOpenedDelivered(); // the answer is queued behind the timeout
      gate.countDown();
      Duration second = probe.awaitReconnectScheduled();

      assertThat(probe.isQuiet()).as("no 'opened' taken from the cancelled stream").isTrue();
      assertThat(second)
          .as("doubled, ±20 %, as after an unanswered hello")
          .isBetween(Duration.ofMillis(160), Duration.ofMillis(240));
      assertThat(session.isLive()).isFalse();
    }
  }

  @Test
  void heartbeats_unacknowledgedForTheTtl_streamDroppedThenResumedAfterBackoff() {
    scripted.hellosToAnswer.set(2);
    try (BrokerClient client = client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);

      for (long seq = 1; seq <= 3; seq++) { // acks are due within the TTL (3 s) of the last one
        ticker.advance(HEARTBEAT_INTERVAL);
        assertThat(scripted.nextHeartbeat().getHeartbeat().getSeq()).isEqualTo(seq);
      }
      ticker.advance(HEARTBEAT_INTERVAL); // 4 s without an ack: the connection is half-open
      Duration backoff = probe.awaitReconnectScheduled();
      boolean fourthSent = !scripted.heartbeats.isEmpty();
      ticker.advance(backoff);
      boolean resumed = probe.awaitOpened();

      assertThat(fourthSent).isFalse();
      assertThat(resumed).isTrue();
      assertThat(session.isLive()).isTrue();
      assertThat(session.sessionId()).isEqualTo("s-1");
    }
  }

  @Test
  void clientClose_goodbyesUnanswered_waitsOneCallDeadlineOfTheTickerForAllNotOneEach()
      throws Exception {
    Duration callDeadline = Duration.ofHours(1); // in real time, far longer than the test waits
    int count = 5;
    scripted.hellosToAnswer.set(count);
    BrokerClient client =
        TestBroker.connect(
            name, TestBroker.clientBuilder(name).ticker(ticker).callDeadline(callDeadline));
    List<WorkerSession> sessions = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      sessions.add(client.openSession("worker-" + i));
    }
    scripted.answerGoodbye = false; // as on a half-open connection

    CompletableFuture<Void> closed = CompletableFuture.runAsync(client::close);
    TestBroker.until(
        () -> scripted.goodbyes.get() == count && ticker.pendingTasks() == 1,
        "every session said goodbye, and one wait for all their answers");
    ticker.advance(callDeadline.minusNanos(1));
    boolean closedBeforeDeadline = closed.isDone();
    ticker.advance(Duration.ofNanos(1)); // one call deadline on the ticker covers them all

    closed.get(5, TimeUnit.SECONDS);
    assertThat(closedBeforeDeadline).as("still waiting for the answers").isFalse();
    assertThat(sessions).noneMatch(WorkerSession::isLive);
  }

  @Test
  void sessionClose_goodbyeUnanswered_givesUpAtTheCallDeadlineOfTheTicker() throws Exception {
    scripted.hellosToAnswer.set(1);
    BrokerClient client =
        TestBroker.connect(
            name, TestBroker.clientBuilder(name).ticker(ticker).callDeadline(Duration.ofHours(1)));
    WorkerSession session = client.openSession("worker-1");
    scripted.answerGoodbye = false;

    CompletableFuture<Void> closed = CompletableFuture.runAsync(session::close);
    TestBroker.until(
        () -> scripted.goodbyes.get() == 1 && ticker.pendingTasks() == 1,
        "the goodbye said, its answer awaited");
    ticker.advance(Duration.ofHours(1));

    closed.get(5, TimeUnit.SECONDS);
    assertThat(session.isLive()).isFalse();
    client.close();
  }

  @Test
  void heartbeats_acknowledged_keepTheStreamPastTheTtl() {
    scripted.hellosToAnswer.set(1);
    scripted.ackHeartbeats = true;
    try (BrokerClient client = client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);

      for (long seq = 1; seq <= 10; seq++) { // 10 s, over three TTLs
        ticker.advance(HEARTBEAT_INTERVAL);
        assertThat(probe.awaitHeartbeatAck()).isEqualTo(seq);
      }

      assertThat(probe.isQuiet()).as("no reconnect").isTrue();
      assertThat(session.isLive()).isTrue();
    }
  }
}
