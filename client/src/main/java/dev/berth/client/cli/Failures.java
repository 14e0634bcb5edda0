package dev.berth.client.cli;

import dev.berth.client.internal.ChannelSecurity;
import dev.berth.client.internal.TlsFailures;
import io.grpc.Status;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;

/** Turns a failed call into the line printed on stderr and the exit code, in one place. */
final class Failures {
  private Failures() {}

  /** What to tell the operator, and how to exit. */
  record Report(int exitCode, String message) {}

  static Report of(Throwable error, String target, Duration timeout) {
    Status status = Status.fromThrowable(error);
    String description = status.getDescription() == null ? "" : status.getDescription();
    return switch (status.getCode()) {
      case UNAVAILABLE -> unavailable(status, description, target);
      case DEADLINE_EXCEEDED ->
          new Report(
              ExitCode.UNREACHABLE,
              "berth: the broker at "
                  + target
                  + " did not answer within "
                  + Durations.format(timeout)
                  + " (raise it with --timeout)");
      case UNIMPLEMENTED ->
          new Report(
              ExitCode.BROKER_ERROR,
              "berth: UNIMPLEMENTED: the broker at "
                  + target
                  + " does not serve this call (an older broker?): "
                  + description);
      default ->
          new Report(
              ExitCode.BROKER_ERROR,
              "berth: " + status.getCode() + (description.isEmpty() ? "" : ": " + description));
    };
  }

  private static Report unavailable(Status status, String description, String target) {
    Throwable cause = rootCause(status.getCause());
    if (cause instanceof ConnectException) {
      return new Report(
          ExitCode.UNREACHABLE,
          "berth: cannot reach the broker at "
              + target
              + " (connection refused); is it running? start it with bin/berth serve");
    }
    if (cause instanceof UnknownHostException) {
      return new Report(
          ExitCode.UNREACHABLE,
          "berth: cannot reach the broker at " + target + " (unknown host); check --broker");
    }
    String why =
        TlsFailures.explain(status.getCause(), ChannelSecurity.OptionNames.FLAGS)
            .orElse(description.isEmpty() && cause != null ? cause.getMessage() : description);
    return new Report(
        ExitCode.UNREACHABLE,
        "berth: the broker at " + target + " is unavailable" + (why == null ? "" : ": " + why));
  }

  /**
   * Whether the call that failed with {@code error} never reached a broker: the connection was
   * refused or the host is unknown, so nothing was done there.
   */
  static boolean neverReached(io.grpc.StatusRuntimeException error) {
    Throwable cause = rootCause(error.getStatus().getCause());
    return cause instanceof ConnectException || cause instanceof UnknownHostException;
  }

  private static Throwable rootCause(Throwable t) {
    Throwable at = t;
    while (at != null) {
      if (at instanceof ConnectException || at instanceof UnknownHostException) {
        return at;
      }
      if (at.getCause() == null || at.getCause() == at) {
        return at;
      }
      at = at.getCause();
    }
    return null;
  }
}
