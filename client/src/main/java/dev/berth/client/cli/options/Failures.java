package dev.berth.client.cli.options;

import dev.berth.client.BrokerException;
import dev.berth.client.internal.ChannelSecurity;
import dev.berth.client.internal.TlsFailures;
import io.grpc.Status;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * Turns a failed call into the line printed on stderr and the exit code, in one place: for every
 * {@code berth} command and for {@code berth worker}.
 */
public final class Failures {
  /** The exit code of a call the broker answered with an error. */
  public static final int BROKER_ERROR = 1;

  /** The exit code of a broker that could not be reached, is shutting down or did not answer. */
  public static final int UNREACHABLE = 3;

  private Failures() {}

  /** What to tell the operator, and how to exit. */
  public record Report(int exitCode, String message) {
    /** This report as {@code program} prints it, e.g. {@code berth worker: cannot reach ...}. */
    public Report as(String program) {
      return new Report(exitCode, program + message.substring(message.indexOf(':')));
    }
  }

  /**
   * As {@link #of(Throwable, String, Duration)}, for a call the SDK failed: its gRPC status when it
   * carries one, else the status its condition names (e.g. a hello that got no answer in time).
   */
  public static Report of(BrokerException error, String target, Duration timeout) {
    Throwable cause = error.getCause();
    if (cause == null || Status.fromThrowable(cause).getCode() == Status.Code.UNKNOWN) {
      cause =
          Status.Code.valueOf(error.condition().name())
              .toStatus()
              .withDescription(error.getMessage().substring(error.condition().name().length() + 2))
              .asRuntimeException();
    }
    return of(cause, target, timeout);
  }

  public static Report of(Throwable error, String target, Duration timeout) {
    Status status = Status.fromThrowable(error);
    String description = status.getDescription() == null ? "" : status.getDescription();
    return switch (status.getCode()) {
      case UNAVAILABLE -> unavailable(status, description, target);
      case DEADLINE_EXCEEDED ->
          new Report(
              UNREACHABLE,
              "berth: the broker at "
                  + target
                  + " did not answer within "
                  + Durations.format(timeout)
                  + " (raise it with --timeout)");
      case UNIMPLEMENTED ->
          new Report(
              BROKER_ERROR,
              "berth: UNIMPLEMENTED: the broker at "
                  + target
                  + " does not serve this call (an older broker?): "
                  + description);
      default ->
          new Report(
              BROKER_ERROR,
              "berth: " + status.getCode() + (description.isEmpty() ? "" : ": " + description));
    };
  }

  private static Report unavailable(Status status, String description, String target) {
    Throwable cause = rootCause(status.getCause());
    if (cause instanceof ConnectException) {
      return new Report(
          UNREACHABLE,
          "berth: cannot reach the broker at "
              + target
              + " (connection refused); is it running? start it with bin/berth serve");
    }
    if (cause instanceof UnknownHostException) {
      return new Report(
          UNREACHABLE,
          "berth: cannot reach the broker at " + target + " (unknown host); check --broker");
    }
    String why =
        TlsFailures.explain(status.getCause(), ChannelSecurity.OptionNames.FLAGS)
            .orElse(description.isEmpty() && cause != null ? cause.getMessage() : description);
    return new Report(
        UNREACHABLE,
        "berth: the broker at " + target + " is unavailable" + (why == null ? "" : ": " + why));
  }

  /**
   * Whether the call that failed with {@code error} never reached a broker: the connection was
   * refused or the host is unknown, so nothing was done there.
   */
  public static boolean neverReached(io.grpc.StatusRuntimeException error) {
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
