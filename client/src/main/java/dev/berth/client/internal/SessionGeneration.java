package dev.berth.client.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One broker session as the worker knows it: its id, its TTL, and the evidence that keeps it alive.
 * A {@code WorkerSession} goes through a new generation each time the broker answers a reconnect
 * with a fresh session instead of resuming; leases belong to the generation that acquired them and
 * die with it.
 *
 * <p>Liveness evidence is the <em>send</em> time (on the client's ticker) of the latest heartbeat,
 * or hello, that the broker acknowledged. The broker saw it no earlier, so it keeps the session at
 * least until that time plus the TTL. Thread-safe: written by the session thread, read by any.
 */
final class SessionGeneration {
  private final String sessionId;
  private final AtomicLong lastAckedSendNanos;
  private volatile long epoch;
  private volatile long ttlNanos;
  private volatile long marginNanos;
  private volatile boolean lost;

  SessionGeneration(
      String sessionId, long epoch, long ttlNanos, long marginNanos, long helloSentNanos) {
    this.sessionId = sessionId;
    this.epoch = epoch;
    this.ttlNanos = ttlNanos;
    this.marginNanos = marginNanos;
    this.lastAckedSendNanos = new AtomicLong(helloSentNanos);
  }

  String sessionId() {
    return sessionId;
  }

  long epoch() {
    return epoch;
  }

  long ttlNanos() {
    return ttlNanos;
  }

  long marginNanos() {
    return marginNanos;
  }

  /** The broker resumed this session in answer to a hello sent at {@code helloSentNanos}. */
  void resumed(long epoch, long ttlNanos, long marginNanos, long helloSentNanos) {
    this.epoch = epoch;
    this.ttlNanos = ttlNanos;
    this.marginNanos = marginNanos;
    acked(helloSentNanos);
  }

  /** The broker now keeps this session {@code ttlNanos} past each heartbeat it acknowledges. */
  void ttl(long ttlNanos, long marginNanos) {
    this.ttlNanos = ttlNanos;
    this.marginNanos = marginNanos;
  }

  /** The broker acknowledged a heartbeat sent at {@code sentNanos}. */
  void acked(long sentNanos) {
    lastAckedSendNanos.accumulateAndGet(sentNanos, (current, x) -> x - current > 0 ? x : current);
  }

  /** The send time of the latest acknowledged heartbeat or hello. */
  long lastAckedSendNanos() {
    return lastAckedSendNanos.get();
  }

  /** Until when (on the client's ticker) leases of this session may be trusted, margin included. */
  long validUntilNanos() {
    return lastAckedSendNanos.get() + ttlNanos - marginNanos;
  }

  /** The broker no longer has this session; nothing it held is valid. */
  void markLost() {
    lost = true;
  }

  boolean isLost() {
    return lost;
  }
}
