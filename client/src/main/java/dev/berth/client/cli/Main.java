package dev.berth.client.cli;

import java.io.PrintStream;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * The {@code berth} command line for operators: status, listings, interventions, explain, watch and
 * live limits, over the broker's {@code BrokerAdmin} service, and the reference worker ({@code
 * berth worker}). {@code bin/berth} runs it for every command but {@code serve}. See {@code berth
 * --help} and docs/operations.md; the exit codes are in {@link ExitCode}.
 */
public final class Main {
  private Main() {}

  /**
   * gRPC's own logger, held so that its level stays set (the JDK keeps loggers only weakly). Its
   * warnings (an unknown broker host, a header it drops) come with stack traces, before the one
   * line each command prints for the same failure; only its severe messages still show.
   */
  private static final java.util.logging.Logger GRPC_LOG =
      java.util.logging.Logger.getLogger("io.grpc");

  public static void main(String[] args) {
    GRPC_LOG.setLevel(java.util.logging.Level.SEVERE);
    int code =
        Berth.commandLine(System.out, System.err, System.getenv(), Clock.systemUTC(), true)
            .execute(args);
    System.out.flush();
    System.exit(code);
  }

  /** Runs one command line, printing to {@code out} and {@code err}; returns the exit code. */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    return run(args, out, err, System.getenv(), Clock.systemUTC());
  }

  /** As {@link #run(List, PrintStream, PrintStream)}, with the environment and clock given. */
  static int run(
      List<String> args, PrintStream out, PrintStream err, Map<String, String> env, Clock clock) {
    int code = Berth.commandLine(out, err, env, clock, false).execute(args.toArray(String[]::new));
    out.flush();
    err.flush();
    return code;
  }
}
