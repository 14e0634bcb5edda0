package dev.berth.server.session;

import dev.berth.server.lease.RevokeReason;
import java.time.Instant;

/**
 * The push side of a session's stream, as the broker sees it. The gRPC adapter implements it over
 * the {@code OpenSession} response stream. The broker calls these methods outside its lock; they
 * must not block (implementations queue and respect flow control).
 */
public interface SessionChannel {

  /** The broker took a lease back; the worker should stop using it within {@code graceNanos}. */
  void revoke(long commandId, String leaseId, RevokeReason reason, long graceNanos);

  /** The worker should free about {@code targetFreeMb} of memory. */
  void cleanup(long commandId, long targetFreeMb, String reason);

  /** The worker should finish current work by {@code deadline} and acquire nothing new. */
  void drain(long commandId, Instant deadline);

  /** The broker ends this stream; {@code why} says why, for the worker and its logs. */
  void close(CloseReason why, String detail);

  /** Why the broker closes a session stream. */
  enum CloseReason {
    /** The session missed heartbeats for longer than its TTL; its leases are gone. */
    EXPIRED,
    /** Another stream resumed this session; this one is stale. */
    REPLACED,
    /** The session said goodbye; everything it held is released. */
    GOODBYE,
    /** The broker is shutting down. */
    SHUTDOWN
  }
}
