package dev.berth.client.internal;

import static java.util.Objects.requireNonNull;

import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokeReason;
import dev.berth.client.RevokedLease;
import dev.berth.client.Ticker;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A granted lease as the worker holds it. It ends exactly once — released by its holder, taken back
 * by the broker, or dropped with its closed session — recorded by one compare-and-set, so every
 * path that ends it can race the others safely. Thread-safe.
 */
final class LeaseHandle implements Lease {

  /** How a lease ended, as far as this worker knows. */
  private sealed interface End permits Released, Revoked, SessionClosed {}

  private record Released() implements End {}

  private record Revoked(RevokedLease event) implements End {}

  private record SessionClosed() implements End {}

  private final ManagedSession owner;
  private final Ticker ticker;
  private final SessionGeneration generation;
  private final String leaseId;
  private final ResourceKind kind;
  private final long fencingToken;
  private final String host;
  private final String module;
  private final String moduleDigest;
  private final int memoryMb;
  private final Instant grantedAt;
  private final Instant expiresAt;
  private final long sentNanos;
  private final long receivedNanos;
  private final long maxHoldEndsNanos;

  private final AtomicReference<End> end = new AtomicReference<>();
  private final AtomicBoolean closeCalled = new AtomicBoolean();
  private final List<OnceListener> listeners = new CopyOnWriteArrayList<>();
  private volatile Outcome outcome;

  /** WASM: calls into the instance, failed calls, and the wall time of the last (for display). */
  private final AtomicLong wasmCalls = new AtomicLong();

  private final AtomicLong wasmFailures = new AtomicLong();
  private volatile Instant wasmLastUsed;

  /**
   * @param sentNanos when the acquire was sent: the max hold is counted from here, which is no
   *     later than the grant
   * @param receivedNanos when the grant arrived: the held duration reported on release starts here
   */
  LeaseHandle(
      ManagedSession owner,
      SessionGeneration generation,
      dev.berth.proto.v1.Lease lease,
      ResourceKind asked,
      long sentNanos,
      long receivedNanos) {
    this.owner = owner;
    this.ticker = owner.ticker();
    this.generation = generation;
    this.leaseId = lease.getLeaseId();
    this.kind = Wire.kind(lease.getKind(), asked);
    this.fencingToken = lease.getFencingToken();
    this.host = lease.getHost();
    this.module = lease.getModule();
    this.moduleDigest = lease.getModuleDigest();
    this.memoryMb = lease.getMemoryMb();
    this.grantedAt = Wire.instant(lease.getGrantedAt());
    this.expiresAt = Wire.instant(lease.getExpiresAt());
    this.sentNanos = sentNanos;
    this.receivedNanos = receivedNanos;
    long maxHoldNanos = Math.max(0, Duration.between(grantedAt, expiresAt).toNanos());
    this.maxHoldEndsNanos = sentNanos + maxHoldNanos;
  }

  /**
   * How long it has been held, counted as its max hold is, from when the acquire was sent: a resume
   * declares it, so that a broker re-admitting it after a restart keeps the max hold it had left.
   */
  long heldNanos() {
    return Math.max(0, ticker.nanoTime() - sentNanos);
  }

  @Override
  public String leaseId() {
    return leaseId;
  }

  @Override
  public ResourceKind kind() {
    return kind;
  }

  @Override
  public long fencingToken() {
    return fencingToken;
  }

  @Override
  public String sessionId() {
    return generation.sessionId();
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public String module() {
    return module;
  }

  @Override
  public String moduleDigest() {
    return moduleDigest;
  }

  @Override
  public int memoryMb() {
    return memoryMb;
  }

  @Override
  public Instant grantedAt() {
    return grantedAt;
  }

  @Override
  public Instant expiresAt() {
    return expiresAt;
  }

  SessionGeneration generation() {
    return generation;
  }

  @Override
  public boolean isValid() {
    return remainingNanos() > 0;
  }

  @Override
  public Duration remainingValidity() {
    return Duration.ofNanos(remainingNanos());
  }

  /** The rule of {@link Lease}: min(lastAck + ttl, sent + maxHold) − margin − now, if not ended. */
  private long remainingNanos() {
    if (end.get() != null || generation.isLost()) {
      return 0;
    }
    long now = ticker.nanoTime();
    long bySession = generation.validUntilNanos() - now;
    long byMaxHold = maxHoldEndsNanos - generation.marginNanos() - now;
    return Math.max(0, Math.min(bySession, byMaxHold));
  }

  @Override
  public void recordOutcome(Outcome value) {
    this.outcome = requireNonNull(value, "outcome");
  }

  @Override
  public void recordWasmCall(boolean succeeded) {
    if (kind != ResourceKind.WASM) {
      throw new IllegalStateException("recordWasmCall: " + this + " is not a WASM lease");
    }
    wasmCalls.incrementAndGet();
    if (!succeeded) {
      wasmFailures.incrementAndGet();
    }
    wasmLastUsed = Instant.now();
  }

  /** WASM: the statistics the next heartbeat reports; null for other kinds. */
  dev.berth.proto.v1.WasmInstanceStats wasmStats() {
    if (kind != ResourceKind.WASM) {
      return null;
    }
    dev.berth.proto.v1.WasmInstanceStats.Builder stats =
        dev.berth.proto.v1.WasmInstanceStats.newBuilder()
            .setLeaseId(leaseId)
            .setCalls(wasmCalls.get())
            .setFailures(wasmFailures.get());
    Instant last = wasmLastUsed;
    if (last != null) {
      stats.setLastUsed(
          com.google.protobuf.Timestamp.newBuilder()
              .setSeconds(last.getEpochSecond())
              .setNanos(last.getNano()));
    }
    return stats.build();
  }

  @Override
  public void onRevoked(Consumer<RevokedLease> listener) {
    OnceListener once = new OnceListener(requireNonNull(listener, "listener"));
    listeners.add(once);
    if (end.get() instanceof Revoked revoked) {
      once.deliver(owner.listeners(), revoked.event()); // it ended before the listener came
    }
  }

  @Override
  public void close() {
    if (!closeCalled.compareAndSet(false, true)) {
      return;
    }
    long heldNanos = ticker.nanoTime() - receivedNanos;
    if (end.compareAndSet(null, new Released())) {
      owner.release(this, outcome, heldNanos);
    }
    owner.forget(this);
  }

  /**
   * Ends the lease because the broker ended it.
   *
   * @return true when this call ended it; the caller then notifies the listeners
   */
  boolean endByBroker(RevokedLease event) {
    return end.compareAndSet(null, new Revoked(event));
  }

  /** Ends the lease because its session said goodbye, which released it on the broker. */
  void endWithSession() {
    end.compareAndSet(null, new SessionClosed());
  }

  /** Whether its holder closed it and its release has not been answered yet. */
  boolean isReleasing() {
    return end.get() instanceof Released;
  }

  /** Whether the lease has ended, in any way. */
  boolean isEnded() {
    return end.get() != null;
  }

  /** The broker's revocation, when that is how the lease ended; else null. */
  RevokedLease revocation() {
    return end.get() instanceof Revoked revoked ? revoked.event() : null;
  }

  /** Calls the lease's own revocation listeners (each at most once). */
  void notifyRevoked() {
    RevokedLease event = revocation();
    if (event != null) {
      for (OnceListener listener : listeners) {
        listener.deliver(owner.listeners(), event);
      }
    }
  }

  /** A revocation for a lease that did not survive its session. */
  RevokedLease notResumed() {
    return new RevokedLease(leaseId, RevokeReason.NOT_RESUMED, Duration.ZERO);
  }

  @Override
  public String toString() {
    return "Lease{" + kind + " " + leaseId + " token=" + Long.toUnsignedString(fencingToken) + "}";
  }
}
