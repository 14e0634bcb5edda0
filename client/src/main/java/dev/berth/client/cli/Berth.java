package dev.berth.client.cli;

import dev.berth.client.cli.options.ConnectionOptions;
import dev.berth.client.worker.WorkerCommand;
import dev.berth.common.CommandLines;
import java.io.PrintStream;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@code berth} command: its subcommands, the options that may come before any of them, and
 * what every admin command shares (where to print, the environment, the clock).
 *
 * <p>Not thread-safe; one per command line.
 */
@Command(
    name = "berth",
    mixinStandardHelpOptions = true,
    versionProvider = Berth.Version.class,
    synopsisSubcommandLabel = "COMMAND",
    description = {
      "Operate a Berth broker over its BrokerAdmin gRPC service, or run the reference worker.",
      "The connection options may come before the command or after it."
    },
    exitCodeList = {
      "0:ok",
      "1:the broker answered with an error (NOT_FOUND, INVALID_ARGUMENT, ...)",
      "2:usage error: the command line is wrong",
      "3:the broker is unreachable or unavailable",
      "4:explain: an acquire now would be refused"
    },
    footerHeading = "%n",
    footer = {
      "Durations are written 500ms, 10s, 1m30s or 1h. An option not given is read from its"
          + " environment variable. The bearer token comes from --token-file FILE"
          + " ($BERTH_TOKEN_FILE) or $BERTH_TOKEN, never from the command line.",
      "'berth help COMMAND' or 'berth COMMAND --help' explains a command."
    })
final class Berth implements Callable<Integer> {
  @Mixin ConnectionOptions connection;

  @Option(names = "--json", order = 90, description = Commands.JSON_HELP)
  boolean json;

  @Spec CommandLine.Model.CommandSpec spec;

  final PrintStream out;
  final PrintStream err;
  final Map<String, String> env;
  final Clock clock;

  Berth(PrintStream out, PrintStream err, Map<String, String> env, Clock clock) {
    this.out = out;
    this.err = err;
    this.env = env;
    this.clock = clock;
  }

  /**
   * The whole {@code berth} command line, set up to print to {@code out} and {@code err}. {@code
   * stopWorkerOnShutdown} installs the worker's SIGTERM handling, for a process of its own.
   */
  static CommandLine commandLine(
      PrintStream out,
      PrintStream err,
      Map<String, String> env,
      Clock clock,
      boolean stopWorkerOnShutdown) {
    CommandLine line = new CommandLine(new Berth(out, err, env, clock));
    line.addSubcommand(new ServeCommand());
    line.addSubcommand(new Commands.Status());
    line.addSubcommand(new Commands.Sessions());
    line.addSubcommand(new Commands.Leases());
    line.addSubcommand(new Commands.Waiting());
    line.addSubcommand(new Commands.Revoke());
    line.addSubcommand(new Commands.Drain());
    line.addSubcommand(new Commands.Explain());
    line.addSubcommand(new Commands.Watch());
    line.addSubcommand(new TopCommand());
    line.addSubcommand(
        new CommandLine(new Commands.Limits()).addSubcommand(new Commands.LimitsSet()));
    line.addSubcommand(
        new CommandLine(new ClusterCommands.Cluster())
            .addSubcommand(new ClusterCommands.Status())
            .addSubcommand(new ClusterCommands.Transfer()));
    line.addSubcommand(new WorkerCommand(out, err, env, stopWorkerOnShutdown));
    line.addSubcommand(new HelpCommand());
    // Hidden: writes src/dist/berth-completion.bash (CompletionScriptTest keeps that file current).
    CommandLine completion = new CommandLine(new AutoComplete.GenerateCompletion());
    completion.getCommandSpec().usageMessage().hidden(true);
    line.addSubcommand(completion);
    return CommandLines.configure(line, out, err);
  }

  /** {@code berth} alone: the help, on stderr, as a usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(err);
    return ExitCode.USAGE;
  }

  /** {@code berth --version}: the version of this build. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Berth.class.getPackage().getImplementationVersion();
      return new String[] {"berth " + (version == null ? "(development build)" : version)};
    }
  }

  /**
   * {@code berth serve}: listed so that help and completion show it, but run by {@code bin/berth}
   * from the daemon's own jar.
   */
  @Command(
      name = "serve",
      description = "Start the broker (bin/berth serve --help lists its options).")
  static final class ServeCommand implements Callable<Integer> {
    @CommandLine.Unmatched java.util.List<String> ignored;

    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      throw CommandLines.usage(
          spec, "serve is run by bin/berth, from the daemon's jar, not by this one");
    }
  }
}
