package dev.berth.client.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One parsed {@code berth} command line: the command, its arguments and its options. Options are
 * {@code --name value} or {@code --name=value} and may come before or after the command (options of
 * the command itself after it); {@code --} ends the options. Every rule broken is a {@link
 * UsageException} naming the option.
 *
 * <p>Immutable once parsed.
 */
final class CommandLine {
  private final Usage.Command command;
  private final List<String> args;
  private final Map<String, List<String>> values;
  private final Set<String> flags;

  private CommandLine(
      Usage.Command command,
      List<String> args,
      Map<String, List<String>> values,
      Set<String> flags) {
    this.command = command;
    this.args = List.copyOf(args);
    this.values = values;
    this.flags = Set.copyOf(flags);
  }

  /**
   * Parses {@code argv}. With no command at all, the command is {@code help}.
   *
   * @throws UsageException when the line is not one {@code berth} accepts
   */
  static CommandLine parse(List<String> argv) {
    Usage.Command command = null;
    List<String> args = new ArrayList<>();
    Map<String, List<String>> values = new LinkedHashMap<>();
    Set<String> flags = new HashSet<>();
    boolean optionsEnded = false;
    for (int i = 0; i < argv.size(); i++) {
      String arg = argv.get(i);
      if (!optionsEnded && arg.equals("--")) {
        optionsEnded = true;
        continue;
      }
      if (!optionsEnded && arg.startsWith("-") && arg.length() > 1) {
        String name = arg;
        String inline = null;
        int eq = arg.indexOf('=');
        if (arg.startsWith("--") && eq > 2) {
          name = arg.substring(0, eq);
          inline = arg.substring(eq + 1);
        }
        String where = command == null ? "" : command.name();
        boolean global = Usage.GLOBAL_VALUED.contains(name) || Usage.GLOBAL_FLAGS.contains(name);
        if (!global && (command == null || !command.knows(name))) {
          throw new UsageException(
              where,
              command == null
                  ? "unknown option " + name + " (command options come after the command)"
                  : "unknown option " + name + " for '" + command.name() + "'");
        }
        boolean takesValue =
            Usage.GLOBAL_VALUED.contains(name) || (command != null && command.takesValue(name));
        if (!takesValue) {
          if (inline != null) {
            throw new UsageException(where, name + " takes no value");
          }
          flags.add(name.equals("-h") ? "--help" : name);
          continue;
        }
        String value = inline;
        if (value == null) {
          if (i + 1 >= argv.size()) {
            throw new UsageException(where, name + " needs a value");
          }
          value = argv.get(++i);
        }
        boolean repeatable = command != null && command.repeatable().contains(name);
        List<String> list = values.computeIfAbsent(name, k -> new ArrayList<>());
        if (Usage.GLOBAL_VALUED.contains(name)) {
          list.clear(); // the last one wins, so an alias can be overridden
        } else if (!list.isEmpty() && !repeatable) {
          throw new UsageException(where, name + " given twice");
        }
        list.add(value);
        continue;
      }
      if (command == null) {
        command = command(arg, argv, i);
        if (command.name().equals("limits set")) {
          i++; // "set"
        }
      } else {
        args.add(arg);
      }
    }
    if (command == null) {
      command = Usage.command("help");
    }
    if (!flags.contains("--help")) {
      if (args.size() < command.minArgs()) {
        throw new UsageException(command.name(), "'" + command.name() + "' needs an argument");
      }
      if (args.size() > command.maxArgs()) {
        throw new UsageException(
            command.name(), "unexpected argument '" + args.get(command.maxArgs()) + "'");
      }
    }
    return new CommandLine(command, args, values, flags);
  }

  private static Usage.Command command(String word, List<String> argv, int i) {
    if (word.equals("limits")) {
      if (i + 1 < argv.size() && argv.get(i + 1).equals("set")) {
        return Usage.command("limits set");
      }
      throw new UsageException("limits set", "'limits' needs a subcommand: berth limits set ...");
    }
    Usage.Command command = Usage.command(word);
    if (command == null) {
      throw new UsageException(
          "",
          "unknown command '"
              + word
              + "'"
              + (word.equals("serve") ? " (serve is run by bin/berth, not by this jar)" : ""));
    }
    return command;
  }

  /** The command's name, e.g. {@code status} or {@code limits set}. */
  String command() {
    return command.name();
  }

  List<String> args() {
    return args;
  }

  /** The positional argument at {@code index}, or empty. */
  String arg(int index) {
    return index < args.size() ? args.get(index) : "";
  }

  boolean flag(String name) {
    return flags.contains(name);
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  /** The value of {@code name}, or {@code fallback} when it was not given. */
  String value(String name, String fallback) {
    List<String> list = values.get(name);
    return list == null ? fallback : list.get(0);
  }

  /** Every value of a repeatable option, commas splitting values too. */
  List<String> values(String name) {
    List<String> out = new ArrayList<>();
    for (String value : values.getOrDefault(name, List.of())) {
      for (String part : value.split(",")) {
        if (!part.isBlank()) {
          out.add(part.trim());
        }
      }
    }
    return out;
  }

  /** The value of a required option. */
  String required(String name) {
    String value = value(name, null);
    if (value == null || value.isEmpty()) {
      throw usage(name + " is required");
    }
    return value;
  }

  /** A whole number option in {@code [min, max]}, or {@code fallback} when absent. */
  long number(String name, long min, long max, long fallback) {
    String value = value(name, null);
    if (value == null) {
      return fallback;
    }
    long n;
    try {
      n = Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw usage(name + " must be a whole number, got '" + value + "'");
    }
    if (n < min || n > max) {
      throw usage(name + " must be " + min + ".." + max + ", got " + n);
    }
    return n;
  }

  /** A decimal option, or null when absent. */
  Double decimal(String name) {
    String value = value(name, null);
    if (value == null) {
      return null;
    }
    try {
      return Double.parseDouble(value.trim());
    } catch (NumberFormatException e) {
      throw usage(name + " must be a number like 0.85, got '" + value + "'");
    }
  }

  /** A duration option, or {@code fallback} (may be null) when absent. */
  Duration duration(String name, Duration fallback) {
    String value = value(name, null);
    if (value == null) {
      return fallback;
    }
    try {
      return Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw usage(name + " " + e.getMessage());
    }
  }

  /** A usage error about this command. */
  UsageException usage(String message) {
    return new UsageException(command.name().equals("help") ? "" : command.name(), message);
  }
}
