package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every command of {@code berth} and every option it takes is in the operator's docs: the reference
 * worker's in {@code docs/worker.md}, every other command's in {@code docs/operations.md}, so a new
 * option or command cannot ship undocumented.
 */
class DocumentedOptionsTest {
  /** Commands that are not the operator's: the daemon's own help, berth help, the completion. */
  private static final Set<String> NOT_DOCUMENTED_HERE =
      Set.of("serve", "help", "generate-completion");

  private static String doc(String name) throws IOException {
    Path repo = Path.of(System.getProperty("berth.repo", "..")).toAbsolutePath().normalize();
    return Files.readString(repo.resolve("docs").resolve(name), StandardCharsets.UTF_8);
  }

  private static List<CommandLine> commands(CommandLine line) {
    List<CommandLine> all = new ArrayList<>();
    for (CommandLine sub : line.getSubcommands().values()) {
      if (!all.contains(sub) && !NOT_DOCUMENTED_HERE.contains(sub.getCommandName())) {
        all.add(sub);
        all.addAll(commands(sub));
      }
    }
    return all;
  }

  /** Whether {@code text} names {@code option} itself, not only a longer option it starts. */
  private static boolean names(String text, String option) {
    return Pattern.compile(Pattern.quote(option) + "(?![a-z0-9-])").matcher(text).find();
  }

  @Test
  void everyCommandAndOption_isInTheDocs() throws IOException {
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    CommandLine berth = Berth.commandLine(sink, sink, Map.of(), Clock.systemUTC(), false);
    String operations = doc("operations.md");
    String worker = doc("worker.md");
    List<String> missing = new ArrayList<>();
    int checked = 0;

    for (CommandLine command : commands(berth)) {
      CommandSpec spec = command.getCommandSpec();
      String path = spec.qualifiedName(" ").replaceFirst("^berth ", "");
      boolean isWorker = path.equals("worker");
      String text = isWorker ? worker : operations;
      if (!operations.contains("berth " + path)) {
        missing.add("berth " + path + " (docs/operations.md)");
      }
      for (OptionSpec option : spec.options()) {
        if (option.usageHelp() || option.versionHelp() || option.hidden()) {
          continue;
        }
        if (!names(text, option.longestName())) {
          missing.add(
              "berth "
                  + path
                  + " "
                  + option.longestName()
                  + (isWorker ? " (docs/worker.md)" : " (docs/operations.md)"));
        }
        checked++;
      }
    }
    assertThat(checked).as("options checked").isGreaterThan(50);
    assertThat(missing).as("commands and options the docs do not name").isEmpty();
  }
}
