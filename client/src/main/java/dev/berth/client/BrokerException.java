package dev.berth.client;

import static java.util.Objects.requireNonNull;

/**
 * A call to the broker failed for a reason other than an ordinary refusal: a protocol fault, an
 * unknown session, an unreachable broker. Refusals are never exceptions; they are {@link
 * AcquireResult.Refused} values.
 *
 * <p>The {@link #condition()} names what went wrong; the message is the broker's description, which
 * names the field or rule at fault.
 */
public final class BrokerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The few ways a call can fail, named by condition. */
  public enum Condition {
    /** A field is missing, malformed or out of range; the message names it. */
    INVALID_ARGUMENT,
    /** The session is not live (it expired or was closed), or the lease or module is unknown. */
    NOT_FOUND,
    /** The lease belongs to another session, or the session to another principal. */
    PERMISSION_DENIED,
    /** The call conflicts with state, e.g. a request id reused for a different request. */
    FAILED_PRECONDITION,
    /** A per-caller cap was reached, or a stream fell too far behind. */
    RESOURCE_EXHAUSTED,
    /** The credentials were missing or rejected. */
    UNAUTHENTICATED,
    /** The call's deadline passed before the broker answered. */
    DEADLINE_EXCEEDED,
    /** The broker could not be reached or is shutting down; trying again later may work. */
    UNAVAILABLE,
    /** The call was cancelled, e.g. because the calling thread was interrupted. */
    CANCELLED,
    /** The broker aborted the call, e.g. a session stream replaced by another. */
    ABORTED,
    /** Anything else: a bug on one side or the other; the message says more. */
    INTERNAL
  }

  private final Condition condition;

  public BrokerException(Condition condition, String message, Throwable cause) {
    super(condition + ": " + message, cause);
    this.condition = requireNonNull(condition, "condition");
  }

  public BrokerException(Condition condition, String message) {
    this(condition, message, null);
  }

  /** What went wrong. */
  public Condition condition() {
    return condition;
  }

  /**
   * Whether the same call may succeed if tried again later unchanged: the broker was unreachable,
   * busy or too slow. A retried acquire should reuse its request id so it cannot be granted twice.
   */
  public boolean isTransient() {
    return switch (condition) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED -> true;
      default -> false;
    };
  }
}
