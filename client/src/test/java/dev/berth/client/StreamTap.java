package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sits on the SDK's side of the wire: records every hello the SDK sends, in order, tells when an
 * answer to a hello has reached the SDK ({@link #awaitOpenedDelivered}), and, once {@link
 * #loseRelease} arms it, loses the next release sent on a session stream, as a connection that
 * breaks with it in flight would (the broker never sees it, and no answer comes). Thread-safe.
 */
final class StreamTap implements ClientInterceptor {
  private final List<Hello> hellos = new CopyOnWriteArrayList<>();
  private final AtomicBoolean loseRelease = new AtomicBoolean();
  private final AtomicBoolean releaseLost = new AtomicBoolean();
  private final Semaphore openedDelivered = new Semaphore(0);

  /** Loses the next release sent on a session stream. */
  StreamTap loseRelease() {
    loseRelease.set(true);
    return this;
  }

  /** Whether the armed release has been lost. */
  boolean releaseLost() {
    return releaseLost.get();
  }

  /**
   * Waits (at most 5 s) until the SDK's stream observer has taken the next answer to a hello: it is
   * then queued on the session's thread.
   */
  void awaitOpenedDelivered() throws InterruptedException {
    assertThat(openedDelivered.tryAcquire(5, TimeUnit.SECONDS))
        .as("an answer to a hello delivered within 5 s")
        .isTrue();
  }

  /** The last hello sent. */
  Hello lastHello() {
    return hellos.get(hellos.size() - 1);
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        super.start(
            new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onMessage(R message) {
                super.onMessage(message);
                if (message instanceof SessionEvent event && event.hasOpened()) {
                  openedDelivered.release();
                }
              }
            },
            headers);
      }

      @Override
      public void sendMessage(Q message) {
        if (message instanceof SessionRequest request) {
          if (request.hasHello()) {
            hellos.add(request.getHello());
          } else if (request.hasRelease() && loseRelease.compareAndSet(true, false)) {
            releaseLost.set(true);
            return;
          }
        }
        super.sendMessage(message);
      }
    };
  }
}
