package dev.berth.client;

/** Why the broker did not grant an acquire. A refusal is an answer, not an error. */
public enum RefusalReason {
  /** The per-host politeness limit of the URL's host is used up; retry after the given time. */
  RATE_LIMITED,
  /** The pool of the kind (or this session's share of it) is full. */
  EXHAUSTED,
  /** The fleet, or this worker, is short of memory; new RENDER and PDF grants are paused. */
  MEMORY_PRESSURE,
  /** The acquire waited its whole {@code maxWait} for capacity in vain. */
  TIMEOUT,
  /** The broker or this session is draining: finish current work and acquire nothing new. */
  DRAINING,
  /** A reason this SDK does not know (a newer broker); treat like {@link #EXHAUSTED}. */
  UNKNOWN
}
