package dev.berth.client.internal;

import dev.berth.client.RevokedLease;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A lease's revocation listener that runs at most once, whichever of registration and revocation
 * comes last: shared by the broker's leases and safe mode's local ones. Thread-safe.
 */
final class OnceListener {
  private final Consumer<RevokedLease> listener;
  private final AtomicBoolean called = new AtomicBoolean();

  OnceListener(Consumer<RevokedLease> listener) {
    this.listener = listener;
  }

  void deliver(Listeners via, RevokedLease event) {
    if (called.compareAndSet(false, true)) {
      via.deliver(listener, event);
    }
  }
}
