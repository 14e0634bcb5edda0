package dev.berth.server.grpc;

import dev.berth.server.failure.BrokerException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Maps the broker's failures to gRPC statuses, in one place. */
final class Errors {
  private static final Logger log = LoggerFactory.getLogger(Errors.class);

  private Errors() {}

  /**
   * The status to answer for {@code error}. A {@link BrokerException} keeps its message; anything
   * else is a bug, logged here and answered INTERNAL without internals.
   */
  static StatusRuntimeException toStatus(Throwable error) {
    if (error instanceof StatusRuntimeException status) {
      return status;
    }
    if (error instanceof BrokerException broker) {
      return code(broker.code()).withDescription(broker.getMessage()).asRuntimeException();
    }
    log.error("unexpected failure while serving a call", error);
    return Status.INTERNAL
        .withDescription("internal error; see the broker log")
        .asRuntimeException();
  }

  private static Status code(BrokerException.Code code) {
    return switch (code) {
      case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.NOT_FOUND;
      case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
      case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
      case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
      case UNAVAILABLE -> Status.UNAVAILABLE;
    };
  }
}
