package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * With unary lease calls, an acquire whose caller gave up (its deadline passed, its thread was
 * interrupted) just as the broker granted it never sees that answer: gRPC drops what comes after
 * the call ended. The SDK asks again with the same request id and gives back what was granted.
 */
class UnaryLostAnswerTest {
  private TestBroker broker;

  @AfterEach
  void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  /**
   * Loses the answer of the first Acquire or AcquireBundle call and ends the call with
   * DEADLINE_EXCEEDED, as a deadline that passes as the answer arrives does; later calls pass.
   */
  private static final class LoseFirstAnswer implements ClientInterceptor {
    private final AtomicBoolean armed = new AtomicBoolean(true);

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      String name = method.getBareMethodName();
      boolean leaseCall = "Acquire".equals(name) || "AcquireBundle".equals(name);
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          AtomicBoolean lost = new AtomicBoolean();
          super.start(
              new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                @Override
                public void onMessage(R message) {
                  if (leaseCall && armed.compareAndSet(true, false)) {
                    lost.set(true);
                    return;
                  }
                  super.onMessage(message);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                  super.onClose(
                      lost.get()
                          ? Status.DEADLINE_EXCEEDED.withDescription("deadline passed")
                          : status,
                      lost.get() ? new Metadata() : trailers);
                }
              },
              headers);
        }
      };
    }
  }

  @Test
  void acquire_answerLostAsTheCallerGaveUp_grantFoundAndGivenBack() {
    broker = new TestBroker(TestBroker.config());
    try (BrokerClient client =
            broker.client(broker.clientBuilder().unaryLeaseCalls(), new LoseFirstAnswer());
        WorkerSession session = client.openSession("worker-1")) {

      assertThatThrownBy(() -> session.acquire(AcquireOptions.pdf()))
          .isInstanceOf(BrokerException.class)
          .extracting(e -> ((BrokerException) e).condition())
          .isEqualTo(BrokerException.Condition.DEADLINE_EXCEEDED);
      TestBroker.until(
          () -> broker.broker.counters().grants() == 1 && !broker.broker.leases().isEmpty(),
          "granted at the broker, and the answer lost");

      // The release of the grant found again waits in the session's queue for the next beat.
      broker.ticker.advance(TestBroker.HEARTBEAT_INTERVAL);
      TestBroker.until(() -> broker.broker.leases().isEmpty(), "the lost grant given back");
      assertThat(broker.broker.counters().grants()).as("found, not granted anew").isEqualTo(1);
    }
  }

  @Test
  void bundle_answerLostAsTheCallerGaveUp_everyLeaseGivenBack() {
    broker = new TestBroker(TestBroker.config());
    try (BrokerClient client =
            broker.client(broker.clientBuilder().unaryLeaseCalls(), new LoseFirstAnswer());
        WorkerSession session = client.openSession("worker-1")) {

      assertThatThrownBy(
              () ->
                  session.acquireBundle(
                      BundleOptions.of(
                          AcquireOptions.pdf(), AcquireOptions.render("https://a.example/"))))
          .isInstanceOf(BrokerException.class);
      TestBroker.until(() -> broker.broker.leases().size() == 2, "both granted at the broker");

      broker.ticker.advance(TestBroker.HEARTBEAT_INTERVAL);
      TestBroker.until(() -> broker.broker.leases().isEmpty(), "both given back");
    }
  }
}
