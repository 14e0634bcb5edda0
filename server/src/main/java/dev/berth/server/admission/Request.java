package dev.berth.server.admission;

import dev.berth.server.lease.Lease;

/**
 * What one call asks the broker for: one lease ({@link AcquireSpec}) or several granted together
 * ({@link BundleSpec}), and how it may wait. Both go through the same admission, idempotency, caps
 * and wait queue; only the shape of the answer differs. Implementations are immutable.
 *
 * @param <A> the answer the caller is told
 */
public sealed interface Request<A> permits AcquireSpec, BundleSpec {

  /** The session that will hold the leases. */
  String sessionId();

  /** How many leases it asks for: 1 for an acquire, 2..8 for a bundle. */
  int itemCount();

  /** Item {@code i}, an acquire of its own; all items share this request's session and wait. */
  AcquireSpec item(int i);

  /** How long the caller is willing to wait for all of it (0 = answer now). */
  long waitNanos();

  /** The idempotency key, or empty. */
  String requestId();

  /** 0..9, higher first within its job. */
  int priority();

  /** Whether {@code other}, asked with the same request id, asks for the same thing. */
  boolean sameRequestAs(Request<?> other);

  /** What it asked for, in words, for an error about a reused request id. */
  String describe();

  /**
   * The answer granting {@code leases}, one per item in order.
   *
   * @param heldItem the item answered with a lease its session already held (a WASM instance asked
   *     for again), or -1 for none
   */
  A granted(Lease[] leases, int heldItem);

  /** The answer refusing all of it because item {@code item} was refused. */
  A refused(int item, Decision.Refused refusal);
}
