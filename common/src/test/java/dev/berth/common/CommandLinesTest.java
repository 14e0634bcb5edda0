package dev.berth.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Usage errors read alike on every Berth command line: the option at fault, then the rule. */
class CommandLinesTest {
  @Command(name = "tool", mixinStandardHelpOptions = true)
  static final class Tool implements Callable<Integer> {
    @Command(name = "sub", mixinStandardHelpOptions = true)
    static final class Sub implements Callable<Integer> {
      @Parameters(paramLabel = "ID")
      String id;

      @Option(names = "--wait", converter = DurationConverter.class)
      Duration wait;

      @Option(names = "--count")
      long count = 1;

      @Option(names = "--name", required = true)
      String name;

      @Spec CommandLine.Model.CommandSpec spec;

      @Override
      public Integer call() {
        CommandLines.range(spec, "--count", count, 1, 9);
        return 0;
      }
    }

    @Override
    public Integer call() {
      return 0;
    }
  }

  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    CommandLine line = new CommandLine(new Tool()).addSubcommand(new Tool.Sub());
    return CommandLines.configure(line, out, new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute(args);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void badDuration_namesOptionAndRule_exit2() {
    assertThat(run("sub", "x", "--name", "n", "--wait", "soon")).isEqualTo(CommandLines.USAGE);

    assertThat(err())
        .isEqualTo(
            "tool: --wait: " + Durations.RULE + ", got 'soon'\nrun 'tool sub --help' for usage\n");
  }

  @Test
  void eachKindOfMistake_oneLineNamingIt() {
    run("sbu");
    run("sub", "x", "--name", "n", "--frob");
    run("--frob", "sub", "x", "--name", "n");
    run("sub", "--name", "n");
    run("sub", "x");
    run("sub", "x", "--name");
    run("sub", "x", "--name", "a", "--name", "b");
    run("sub", "x", "--name", "n", "--count", "ten");
    run("sub", "x", "--name", "n", "--count", "0");
    run("sub", "x", "y", "--name", "n");

    assertThat(err())
        .contains("tool: unknown command 'sbu'")
        .contains("tool: unknown option --frob for 'sub'")
        .contains("tool: unknown option --frob (a command's options come after the command)")
        .contains("tool: 'sub' needs ID")
        .contains("tool: --name is required")
        .contains("tool: --name needs a value")
        .contains("tool: --name given twice")
        .contains("tool: --count: must be a whole number, got 'ten'")
        .contains("tool: --count: must be 1..9, got 0")
        .contains("tool: unexpected argument 'y'");
  }

  @Test
  void help_lowerCaseHeadings() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CommandLine line = new CommandLine(new Tool()).addSubcommand(new Tool.Sub());
    CommandLines.configure(
            line,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("--help");

    assertThat(out.toString(StandardCharsets.UTF_8))
        .startsWith("usage: tool [OPTIONS] [COMMAND]")
        .contains("options:", "commands:");
  }
}
