package dev.berth.client;

import dev.berth.proto.v1.SessionEvent;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * Loses a session event on its way to the SDK, as a connection that breaks at the wrong moment
 * would: once {@link #next} arms it, the next event that matches is dropped, and the one after it
 * is delivered again. Thread-safe.
 */
final class LostEvents implements ClientInterceptor {
  private final AtomicReference<Predicate<SessionEvent>> armed = new AtomicReference<>();

  /** Loses the next event that matches {@code which}. */
  void next(Predicate<SessionEvent> which) {
    armed.set(which);
  }

  /** Whether the armed event has been lost. */
  boolean lost() {
    return armed.get() == null;
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
                Predicate<SessionEvent> which = armed.get();
                if (which != null
                    && message instanceof SessionEvent event
                    && which.test(event)
                    && armed.compareAndSet(which, null)) {
                  return;
                }
                super.onMessage(message);
              }
            },
            headers);
      }
    };
  }
}
