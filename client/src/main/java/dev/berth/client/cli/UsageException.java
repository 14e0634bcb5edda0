package dev.berth.client.cli;

/** The command line is wrong; the message says what to change. Exit code {@link ExitCode#USAGE}. */
final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The command whose help to point at, or empty for the global help. */
  private final String command;

  UsageException(String command, String message) {
    super(message, null, false, false);
    this.command = command;
  }

  String command() {
    return command;
  }
}
