package dev.berth.client.internal;

import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokedLease;
import dev.berth.client.Ticker;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A lease the SDK granted itself in safe mode: fencing token 0, valid for the safe mode's max hold
 * until closed. Once the session resumes and the broker counts it ({@link #isAdopted()}), every
 * later resume declares it again until its release is answered, and closing it releases it at the
 * broker too. If the session expired during the outage, the lease moves to the worker's new session
 * ({@link #rehome}), which declares it again. The broker never revokes a local lease it did not
 * count; a revoke of one it counts (an operator's, or its max hold) ends it and reaches its {@link
 * #onRevoked} listeners and the session's, as a broker lease's does. Thread-safe.
 */
final class LocalLease implements Lease {
  private final String leaseId;
  private final ResourceKind kind;
  private final String host;
  private final int memoryMb;
  private volatile SessionGeneration generation;
  private final long grantedNanos;
  private final long maxHoldNanos;
  private final Instant grantedAt;
  private final Ticker ticker;
  private final LocalLeases owner;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final List<OnceListener> listeners = new CopyOnWriteArrayList<>();
  private volatile RevokedLease revocation;
  private volatile boolean adopted;
  private volatile boolean refused;
  private volatile Outcome outcome;

  LocalLease(
      String leaseId,
      ResourceKind kind,
      String host,
      int memoryMb,
      SessionGeneration generation,
      long grantedNanos,
      long maxHoldNanos,
      Ticker ticker,
      LocalLeases owner) {
    this.leaseId = leaseId;
    this.kind = kind;
    this.host = host;
    this.memoryMb = memoryMb;
    this.generation = generation;
    this.grantedNanos = grantedNanos;
    this.maxHoldNanos = maxHoldNanos;
    this.grantedAt = Instant.now();
    this.ticker = ticker;
    this.owner = owner;
  }

  SessionGeneration generation() {
    return generation;
  }

  /** Whether the broker counts it since the session resumed. */
  boolean isAdopted() {
    return adopted;
  }

  void adopt() {
    adopted = true;
  }

  /** Whether the broker refused to count it when it was declared: local-only until closed. */
  boolean isRefused() {
    return refused;
  }

  void refuse() {
    refused = true;
  }

  /**
   * Moves the lease to {@code next}, the session the worker goes on in after its old one expired:
   * the broker no longer counts it (nor has refused it), so the new session declares it afresh.
   */
  void rehome(SessionGeneration next) {
    generation = next;
    adopted = false;
    refused = false;
  }

  /**
   * Ends the lease because the broker revoked it while counting it. Returns false when it had ended
   * already (closed by its holder, or revoked before); else its own listeners have been told, and
   * the caller tells the session's.
   */
  boolean revoke(RevokedLease event, Listeners via) {
    if (!closed.compareAndSet(false, true)) {
      return false;
    }
    revocation = event;
    for (OnceListener listener : listeners) {
      listener.deliver(via, event);
    }
    return true;
  }

  @Override
  public boolean isLocal() {
    return true;
  }

  @Override
  public String leaseId() {
    return leaseId;
  }

  @Override
  public ResourceKind kind() {
    return kind;
  }

  /** Always 0: no broker issued it, and a fenced store must refuse it. */
  @Override
  public long fencingToken() {
    return 0;
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
    return "";
  }

  @Override
  public String moduleDigest() {
    return "";
  }

  @Override
  public int memoryMb() {
    return memoryMb;
  }

  /** When the SDK granted it (this machine's wall clock). */
  @Override
  public Instant grantedAt() {
    return grantedAt;
  }

  @Override
  public Instant expiresAt() {
    return grantedAt.plusNanos(maxHoldNanos);
  }

  @Override
  public boolean isValid() {
    return !remainingValidity().isZero();
  }

  @Override
  public Duration remainingValidity() {
    if (closed.get()) {
      return Duration.ZERO;
    }
    return Duration.ofNanos(Math.max(0, grantedNanos + maxHoldNanos - ticker.nanoTime()));
  }

  @Override
  public void recordOutcome(Outcome value) {
    this.outcome = value;
  }

  @Override
  public void recordWasmCall(boolean succeeded) {
    throw new IllegalStateException(this + " is not a WASM lease");
  }

  /** Called only if the broker revokes the lease after it counted it (see the class comment). */
  @Override
  public void onRevoked(Consumer<RevokedLease> listener) {
    OnceListener once = new OnceListener(Objects.requireNonNull(listener, "listener"));
    listeners.add(once);
    RevokedLease event = revocation;
    if (event != null) {
      once.deliver(owner.listeners(), event); // it ended before the listener came
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      owner.closed(this, outcome, ticker.nanoTime() - grantedNanos);
    }
  }

  @Override
  public String toString() {
    return "local " + kind + " lease " + leaseId + (adopted ? " (counted by the broker)" : "");
  }
}
