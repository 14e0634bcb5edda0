package dev.berth.client.internal;

import dev.berth.client.CleanupRequest;
import dev.berth.client.DrainRequest;
import dev.berth.client.RevokedLease;
import dev.berth.client.SessionLost;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * A session's listeners and the one thread that calls them, in event order, so that a slow or
 * failing listener never holds up heartbeats or gRPC's threads. Thread-safe.
 */
final class Listeners {
  private static final System.Logger log = System.getLogger(Listeners.class.getName());

  private final ExecutorService executor =
      Executors.newSingleThreadExecutor(new DaemonThreads("berth-listeners"));
  final List<Consumer<RevokedLease>> revoked = new CopyOnWriteArrayList<>();
  final List<Consumer<CleanupRequest>> cleanup = new CopyOnWriteArrayList<>();
  final List<Consumer<DrainRequest>> drain = new CopyOnWriteArrayList<>();
  final List<Consumer<SessionLost>> sessionLost = new CopyOnWriteArrayList<>();

  /** Tells the lease's own listeners, then the session's, that the broker ended it. */
  void revoked(LeaseHandle lease) {
    RevokedLease event = lease.revocation();
    if (event == null) {
      return;
    }
    lease.notifyRevoked();
    fire(revoked, event);
  }

  <T> void fire(List<Consumer<T>> listeners, T event) {
    for (Consumer<T> listener : listeners) {
      deliver(listener, event);
    }
  }

  /** Calls {@code listener} with {@code event} on the listener thread; never throws. */
  <T> void deliver(Consumer<T> listener, T event) {
    try {
      executor.execute(
          () -> {
            try {
              listener.accept(event);
            } catch (RuntimeException e) {
              log.log(System.Logger.Level.WARNING, "listener failed on " + event, e);
            }
          });
    } catch (RejectedExecutionException e) {
      log.log(System.Logger.Level.DEBUG, "session closed; not delivering " + event);
    }
  }

  /** Delivers what is queued, then lets the thread end. */
  void shutdown() {
    executor.shutdown();
  }
}
