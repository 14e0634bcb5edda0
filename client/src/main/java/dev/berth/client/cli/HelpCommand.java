package dev.berth.client.cli;

import dev.berth.common.CommandLines;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code berth help [COMMAND...]}: the help of {@code berth}, or of a command, nested ones too
 * ({@code berth help limits set}), which picocli's own help command does not reach.
 *
 * <p>Not thread-safe; one per command line.
 */
@Command(
    name = "help",
    helpCommand = true,
    mixinStandardHelpOptions = true,
    description = "Show the help of berth, or of a command: berth help limits set.")
final class HelpCommand implements Callable<Integer> {
  @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command, word by word.")
  List<String> words = new ArrayList<>();

  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine at = spec.parent().commandLine();
    for (String word : words) {
      CommandLine sub = at.getSubcommands().get(word);
      if (sub == null) {
        throw CommandLines.usage(spec, "no command '" + String.join(" ", words) + "'");
      }
      at = sub;
    }
    at.usage(spec.commandLine().getOut());
    return ExitCode.OK;
  }
}
