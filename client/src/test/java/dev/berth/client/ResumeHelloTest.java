package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.internal.SessionProbe;
import dev.berth.proto.v1.Hello;
import io.grpc.Server;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a resuming session declares, against a scripted broker that records its hellos and leaves
 * acquires unanswered: with lease calls on the stream, the declaration is complete and names the
 * acquires a broker may have granted before the stream dropped; with unary lease calls, whose
 * answers can still arrive after the hello, it does not say it is complete.
 */
class ResumeHelloTest {
  private final String name = InProcessServerBuilder.generateName();
  private final ScriptedBroker scripted =
      new ScriptedBroker(Duration.ofSeconds(1), Duration.ofSeconds(3));
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
}
