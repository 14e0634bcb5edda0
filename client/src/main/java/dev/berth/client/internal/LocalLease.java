package dev.berth.client.internal;

import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokedLease;
import dev.berth.client.Ticker;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A lease the SDK granted itself in safe mode: fencing token 0, valid for the safe mode's max hold
 * until closed. Once the session resumes and the broker counts it ({@link #isAdopted()}), closing
 * it releases it at the broker too. The broker never revokes a local lease it did not count; a
 * revoke of one it counts (an operator's, or its max hold) is not reported to this lease's
 * listeners yet: the worker learns of it only when its release is refused. Thread-safe.
 */
final class LocalLease implements Lease {
  private final String leaseId;
  private final ResourceKind kind;
  private final String host;
  private final int memoryMb;
  private final SessionGeneration generation;
  private final long grantedNanos;
  private final long maxHoldNanos;
  private final Instant grantedAt;
  private final Ticker ticker;
  private final LocalLeases owner;
  private final AtomicBoolean closed = new AtomicBoolean();
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

  /** Not called for a local lease (see the class documentation). */
  @Override
  public void onRevoked(Consumer<RevokedLease> listener) {
    java.util.Objects.requireNonNull(listener, "listener");
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
