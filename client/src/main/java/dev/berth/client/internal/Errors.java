package dev.berth.client.internal;

import dev.berth.client.BrokerException;
import dev.berth.client.BrokerException.Condition;
import io.grpc.Status;

/** Maps gRPC failures to {@link BrokerException}, in one place. */
public final class Errors {
  private Errors() {}

  /** The exception for a failed call; {@code error} is kept as the cause. */
  public static BrokerException fromGrpc(Throwable error) {
    return fromStatus(Status.fromThrowable(error), error);
  }

  /**
   * The exception for a call or stream that ended with {@code status}. Its cause is {@code cause},
   * or the status itself when there is none, so that what gRPC saw (e.g. the SSLHandshakeException
   * under an UNAVAILABLE) is never lost.
   */
  static BrokerException fromStatus(Status status, Throwable cause) {
    String description = status.getDescription();
    if (status.getCode() == Status.Code.UNAVAILABLE) {
      description =
          TlsFailures.explain(status.getCause(), ChannelSecurity.OptionNames.SDK)
              .orElse(description);
    }
    if (description == null || description.isEmpty()) {
      description =
          status.getCause() != null
              ? String.valueOf(status.getCause().getMessage())
              : "no description";
    }
    return new BrokerException(
        condition(status.getCode()),
        description,
        cause != null ? cause : status.asRuntimeException());
  }

  static Condition condition(Status.Code code) {
    return switch (code) {
      case INVALID_ARGUMENT, OUT_OF_RANGE -> Condition.INVALID_ARGUMENT;
      case NOT_FOUND -> Condition.NOT_FOUND;
      case PERMISSION_DENIED -> Condition.PERMISSION_DENIED;
      case FAILED_PRECONDITION -> Condition.FAILED_PRECONDITION;
      case RESOURCE_EXHAUSTED -> Condition.RESOURCE_EXHAUSTED;
      case UNAUTHENTICATED -> Condition.UNAUTHENTICATED;
      case DEADLINE_EXCEEDED -> Condition.DEADLINE_EXCEEDED;
      case UNAVAILABLE -> Condition.UNAVAILABLE;
      case CANCELLED -> Condition.CANCELLED;
      case ABORTED -> Condition.ABORTED;
      case OK, UNKNOWN, ALREADY_EXISTS, UNIMPLEMENTED, INTERNAL, DATA_LOSS -> Condition.INTERNAL;
    };
  }

  /** Whether a session stream that ended with {@code code} cannot be fixed by reconnecting. */
  static boolean isFatalForStream(Status.Code code) {
    return switch (code) {
      case INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED -> true;
      default -> false;
    };
  }
}
