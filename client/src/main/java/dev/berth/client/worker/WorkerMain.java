package dev.berth.client.worker;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * {@code berth worker} as a program of its own (the {@code berth} command runs the same {@link
 * WorkerCommand} as its subcommand). See {@code berth worker --help} for the options and exit
 * status; {@link Crawl} for what it does with each URL.
 */
public final class WorkerMain {
  private WorkerMain() {}

  public static void main(String[] args) {
    System.exit(
        WorkerCommand.commandLine(System.out, System.err, System.getenv(), true).execute(args));
  }

  /**
   * Runs {@code berth worker} with {@code args} (without the {@code worker} word) in this process,
   * with {@code env} as its environment, and returns the exit status: 0 done, 1 failures, 2 usage
   * error, 3 broker unreachable. SIGTERM is left to the caller.
   */
  public static int run(
      List<String> args, PrintStream out, PrintStream err, Map<String, String> env) {
    return WorkerCommand.commandLine(out, err, env, false).execute(args.toArray(String[]::new));
  }
}
