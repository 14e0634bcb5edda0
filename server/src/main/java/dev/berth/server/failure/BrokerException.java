package dev.berth.server.failure;

/**
 * A request the broker cannot serve, named by condition. The gRPC edge maps each {@link Code} to a
 * status once ({@code dev.berth.server.grpc.Errors}); the message names the field or rule and is
 * shown to the caller as is.
 */
public final class BrokerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The few ways a request can fail. Expected refusals are not failures; they are results. */
  public enum Code {
    /** A field is missing, malformed or out of range. */
    INVALID_ARGUMENT,
    /** The named session, lease or module does not exist (or no longer does). */
    NOT_FOUND,
    /** The thing exists but belongs to someone else. */
    PERMISSION_DENIED,
    /** The request is well-formed but conflicts with state, e.g. a reused request id. */
    FAILED_PRECONDITION,
    /** A per-caller cap was reached. */
    RESOURCE_EXHAUSTED,
    /** The broker is shutting down. */
    UNAVAILABLE
  }

  private final Code code;

  public BrokerException(Code code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public Code code() {
    return code;
  }

  public static BrokerException invalid(String field, String rule) {
    return new BrokerException(Code.INVALID_ARGUMENT, field + ": " + rule);
  }

  public static BrokerException notFound(String message) {
    return new BrokerException(Code.NOT_FOUND, message);
  }

  public static BrokerException denied(String message) {
    return new BrokerException(Code.PERMISSION_DENIED, message);
  }
}
