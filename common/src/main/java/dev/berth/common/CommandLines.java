package dev.berth.common;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/**
 * What every Berth command line has in common: the help layout, and usage errors that name the
 * option and the rule on one line, followed by where to read more, with exit code 2.
 *
 * <p>Stateless and thread-safe; the command lines it sets up are not.
 */
public final class CommandLines {
  /** The exit code of a usage error: the command line is wrong and nothing was done. */
  public static final int USAGE = 2;

  private static final Pattern NOT_A_NUMBER =
      Pattern.compile("'(.*)' is not an? (int|long|short|byte)");
  private static final Pattern NOT_A_DECIMAL = Pattern.compile("'(.*)' is not a (double|float)");

  private CommandLines() {}

  /**
   * Sets up {@code line} and every subcommand it has now: help and errors go to {@code out} and
   * {@code err}, help reads {@code usage:}, {@code options:}, {@code commands:} in lower case like
   * the rest of Berth's output, and a usage error prints as {@link #usageError} says.
   */
  public static CommandLine configure(CommandLine line, PrintStream out, PrintStream err) {
    line.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
    line.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
    line.setParameterExceptionHandler(
        (ex, args) -> {
          usageError(ex, line.getErr());
          return USAGE;
        });
    layout(line);
    return line;
  }

  private static void layout(CommandLine line) {
    CommandSpec spec = line.getCommandSpec();
    spec.usageMessage()
        .synopsisHeading("usage: ")
        .commandListHeading("%ncommands:%n")
        .optionListHeading("%noptions:%n")
        .parameterListHeading("%narguments:%n")
        .descriptionHeading("%n")
        .abbreviateSynopsis(true)
        .sortOptions(false) // a command's own options first, then the connection options
        .width(100);
    if (!spec.usageMessage().exitCodeList().isEmpty()) {
      spec.usageMessage().exitCodeListHeading("%nexit codes:%n");
    }
    for (CommandLine sub : line.getSubcommands().values()) {
      layout(sub);
    }
  }

  /**
   * Prints {@code ex} as {@code berth: MESSAGE} and {@code run 'berth COMMAND --help' for usage}.
   */
  public static void usageError(ParameterException ex, PrintWriter err) {
    CommandLine failed = ex.getCommandLine();
    String program = failed.getCommandSpec().root().name();
    err.println(program + ": " + message(ex));
    err.println("run '" + failed.getCommandSpec().qualifiedName() + " --help' for usage");
    err.flush();
  }

  /**
   * The one-line message of {@code ex}: the option or argument at fault, then the rule it breaks,
   * e.g. {@code --deadline: must be a duration like 500ms, 10s, 1m30s or 1h, got 'soon'}.
   */
  public static String message(ParameterException ex) {
    CommandSpec spec = ex.getCommandLine().getCommandSpec();
    if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
      return unmatched(spec, u);
    }
    if (ex instanceof CommandLine.MissingParameterException m && !m.getMissing().isEmpty()) {
      // picocli raises the same exception for an option never given and one given without its
      // value; only its message tells them apart.
      boolean valueMissing =
          String.valueOf(m.getMessage()).startsWith("Missing required parameter for option");
      List<String> parts = new ArrayList<>();
      for (ArgSpec arg : m.getMissing()) {
        parts.add(missing(spec, arg, valueMissing));
      }
      return String.join("; ", parts);
    }
    if (ex instanceof CommandLine.OverwrittenOptionException o) {
      return name(o.getOverwritten()) + " given twice";
    }
    if (ex.getCause() instanceof TypeConversionException conversion && ex.getArgSpec() != null) {
      return name(ex.getArgSpec()) + ": " + plain(conversion.getMessage());
    }
    return ex.getMessage();
  }

  private static String unmatched(CommandSpec spec, CommandLine.UnmatchedArgumentException u) {
    String arg = u.getUnmatched().get(0);
    List<String> suggestions = u.getSuggestions();
    // picocli lists every loose match, best first; the best is the one worth showing.
    String hint = suggestions.isEmpty() ? "" : " (did you mean " + suggestions.get(0) + "?)";
    if (arg.startsWith("-") && arg.length() > 1) {
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      if (!spec.subcommands().isEmpty()) {
        return "unknown option " + name + " (a command's options come after the command)";
      }
      return "unknown option "
          + name
          + " for '"
          + spec.qualifiedName().replaceFirst("^\\S+ ", "")
          + "'"
          + hint;
    }
    if (!spec.subcommands().isEmpty()) {
      return "unknown command '" + arg + "'" + hint;
    }
    return "unexpected argument '" + arg + "'";
  }

  private static String missing(CommandSpec spec, ArgSpec arg, boolean valueMissing) {
    if (arg instanceof OptionSpec option) {
      return option.required() && !valueMissing
          ? option.longestName() + " is required"
          : option.longestName() + " needs a value";
    }
    PositionalParamSpec positional = (PositionalParamSpec) arg;
    return "'"
        + spec.qualifiedName().replaceFirst("^\\S+ ", "")
        + "' needs "
        + positional.paramLabel();
  }

  private static String name(ArgSpec arg) {
    return arg instanceof OptionSpec option ? option.longestName() : arg.paramLabel();
  }

  /** picocli's words for a number it could not read, in Berth's. */
  private static String plain(String message) {
    Matcher number = NOT_A_NUMBER.matcher(message);
    if (number.matches()) {
      return "must be a whole number, got '" + number.group(1) + "'";
    }
    Matcher decimal = NOT_A_DECIMAL.matcher(message);
    if (decimal.matches()) {
      return "must be a number like 0.85, got '" + decimal.group(1) + "'";
    }
    return message;
  }

  /** A usage error of the command {@code spec}: {@code message} names the option at fault. */
  public static ParameterException usage(CommandSpec spec, String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /**
   * {@code value} when it lies in {@code [min, max]}.
   *
   * @throws ParameterException naming {@code option} and the range
   */
  public static long range(CommandSpec spec, String option, long value, long min, long max) {
    if (value < min || value > max) {
      throw usage(
          spec,
          option
              + ": must be "
              + (max == Long.MAX_VALUE || max == Integer.MAX_VALUE
                  ? "at least " + min
                  : min + ".." + max)
              + ", got "
              + value);
    }
    return value;
  }

  /**
   * The mixins of type {@code type} of the commands above {@code command}, nearest first: options
   * given before a subcommand ({@code berth --broker H:P status}) count for it unless it gives them
   * again ({@code berth status --broker H:P}).
   */
  public static <T> List<T> outer(CommandSpec command, Class<T> type) {
    List<T> found = new ArrayList<>();
    for (CommandSpec at = command == null ? null : command.parent(); at != null; at = at.parent()) {
      for (CommandSpec mixin : at.mixins().values()) {
        if (type.isInstance(mixin.userObject())) {
          found.add(type.cast(mixin.userObject()));
        }
      }
    }
    return found;
  }
}
