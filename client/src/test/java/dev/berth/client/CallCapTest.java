package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static dev.berth.client.TestBroker.until;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.internal.SessionProbe;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The SDK keeps within the broker's cap of unanswered calls per session stream ({@code
 * session.stream_calls_in_flight}, which the broker states when the stream opens): a call beyond it
 * waits in the SDK for an answer to make room, instead of being answered RESOURCE_EXHAUSTED. On the
 * fake ticker against a real in-process broker whose cap is 2.
 */
class CallCapTest {
  private static final dev.berth.server.lease.ResourceKind SERVER_RENDER =
      dev.berth.server.lease.ResourceKind.RENDER;

  private TestBroker broker;

  @AfterEach
  void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  private static AcquireOptions waiting(String path) {
    return AcquireOptions.newBuilder(ResourceKind.RENDER)
        .url("https://site-" + path + ".example.com/") // a host each: no rate limit waits
        .maxWait(Duration.ofSeconds(30))
        .build();
  }

  @Test
  void acquire_beyondTheBrokersCap_waitsInTheSdkAndEachIsGrantedInTurn() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 1).streamCallsInFlight(2));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease held = granted(session.acquire(AcquireOptions.render("https://example.com/0")));
      List<CompletableFuture<AcquireResult>> results = new ArrayList<>();
      for (int i = 1; i <= 4; i++) {
        AcquireOptions page = waiting(String.valueOf(i));
        results.add(CompletableFuture.supplyAsync(() -> session.acquire(page)));
        if (i >= 3) {
          assertThat(probe.awaitCallQueued()).as("calls waiting for room").isEqualTo(i - 2);
        } else {
          int sent = i;
          until(() -> broker.broker.queued(SERVER_RENDER) == sent, "acquire " + sent + " queued");
        }
      }
      assertThat(broker.broker.queued(SERVER_RENDER)).as("only the cap's worth sent").isEqualTo(2);

      held.close();
      for (CompletableFuture<AcquireResult> result : results) {
        // Granted in turn: each release makes room for the next call and frees the pool's slot.
        granted(result.get(5, TimeUnit.SECONDS)).close();
      }
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
    }
  }

  @Test
  void acquire_waitingForRoomPastItsDeadline_failsNamingTheCapAndIsNeverSent() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_RENDER, 1).streamCallsInFlight(1));
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("worker-1")) {
      Lease held = granted(session.acquire(AcquireOptions.render("https://example.com/0")));
      SessionProbe probe = SessionProbe.attach(session);
      CompletableFuture<AcquireResult> first =
          CompletableFuture.supplyAsync(() -> session.acquire(waiting("1")));
      until(() -> broker.broker.queued(SERVER_RENDER) == 1, "the first acquire queued");
      CompletableFuture<AcquireResult> second =
          CompletableFuture.supplyAsync(
              () -> session.acquire(AcquireOptions.render("https://example.com/2")));
      probe.awaitCallQueued();

      broker.ticker.advance(Duration.ofSeconds(5)); // the second's deadline; the first waits 35 s

      assertThatThrownBy(() -> second.get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(BrokerException.class)
          .hasMessageContaining("session.stream_calls_in_flight")
          .extracting(e -> ((BrokerException) e).condition())
          .isEqualTo(BrokerException.Condition.DEADLINE_EXCEEDED);
      assertThat(first).isNotDone();
      assertThat(broker.broker.queued(SERVER_RENDER)).isEqualTo(1);
      held.close();
      granted(first.get(5, TimeUnit.SECONDS)).close();
    }
  }
}
