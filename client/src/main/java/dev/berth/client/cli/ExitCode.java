package dev.berth.client.cli;

import dev.berth.client.cli.options.Failures;
import dev.berth.common.CommandLines;

/** The exit codes of {@code berth}, which scripts may rely on. */
final class ExitCode {
  private ExitCode() {}

  /** The command did what was asked. */
  static final int OK = 0;

  /** The broker answered with an error (NOT_FOUND, INVALID_ARGUMENT, ...); printed to stderr. */
  static final int BROKER_ERROR = Failures.BROKER_ERROR;

  /** The command line was wrong; nothing was sent. The same for every Berth command line. */
  static final int USAGE = CommandLines.USAGE;

  /** The broker could not be reached, is shutting down, or did not answer in time. */
  static final int UNREACHABLE = Failures.UNREACHABLE;

  /** {@code explain}: an acquire now would be refused. */
  static final int WOULD_REFUSE = 4;
}
