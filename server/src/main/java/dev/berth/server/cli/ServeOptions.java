package dev.berth.server.cli;

import dev.berth.server.Versions;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigKey;
import dev.berth.server.config.ConfigKeys;
import dev.berth.server.config.Flag;
import dev.berth.server.settings.ConfigException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Stack;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgGroupSpec;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The command line of {@code berth serve}, parsed with picocli: {@code --config FILE}, {@code
 * --print-config}, {@code --help}, {@code --version}, and one option per configuration key ({@code
 * --KEY VALUE} or {@code --KEY=VALUE}, and the key's short aliases such as {@code --session-ttl}),
 * with the help generated from {@link ConfigKeys}: every key under its section, with its type,
 * default, whether it changes on reload, and its environment variable.
 *
 * <p>Values are not converted here: each configuration flag is kept as typed, in order, and the
 * config loader converts and checks it with the key's codec, so that a bad value is reported the
 * same way from every source. Flags picocli does not know (dashes for underscores, {@code
 * --wasm.modules.NAME.path}, mistakes) are kept too, and the loader accepts them or names them with
 * a suggestion.
 *
 * <p>Instances are used by one thread.
 */
final class ServeOptions {
  private static final String SYNOPSIS =
      "berth serve [--config FILE] [--print-config] [--check-config] [--KEY VALUE ...]";

  private static final String HEADER =
      """
      Runs the Berth broker. Every setting is a configuration key: in the YAML file (--config),
      an environment variable (BERTH_ + the key upper-cased, dots as underscores) or a flag
      (--KEY VALUE or --KEY=VALUE; dashes may stand for underscores). Precedence: flags >
      environment > config file > defaults. See docs/configuration.md.
      """;

  private static final String FOOTER =
      """

      Durations are written 500ms, 10s, 1m30s, 1h or 1d12h (or ISO-8601, PT1.5S). A map key's
      entries can also be set one field at a time: --wasm.modules.NAME.path FILE,
      --wasm.modules.NAME.exports alloc,extract, --rate_limit.hosts.PATTERN.rate 5.
      --print-config shows the effective value of every key and where it came from.
      --check-config also loads the files a start would read (WASM modules, TLS certificate and
      key) and exits 0 when all of it would start, 2 naming what would not.
      SIGHUP (systemctl reload berth) re-reads the file and the WASM modules; keys marked
      "restart" are read at start only.
      """;

  private static final int WIDTH = 100;

  Path configFile;
  boolean printConfig;
  boolean checkConfig;
  boolean help;
  boolean version;

  /** The configuration flags, as typed and in order, for {@code ConfigSources}. */
  final List<Flag> flags = new ArrayList<>();

  /** The arguments being parsed, to tell which of an option's names was typed. */
  private String[] typed = new String[0];

  private ServeOptions() {}

  /**
   * Parses {@code args} (without the {@code serve} word). Which flags name real keys, and whether
   * their values are valid, is checked when the configuration is loaded.
   *
   * @throws ConfigException naming the option at fault
   */
  static ServeOptions parse(List<String> args) {
    ServeOptions options = new ServeOptions();
    CommandLine commandLine = options.commandLine();
    options.typed = args.toArray(String[]::new);
    try {
      commandLine.parseArgs(options.typed);
    } catch (CommandLine.PicocliException e) {
      if (e.getCause() instanceof ConfigException c) {
        throw c;
      }
      throw new ConfigException("serve", e.getMessage());
    }
    options.help = commandLine.isUsageHelpRequested();
    options.version = commandLine.isVersionHelpRequested();
    return options;
  }

  /** The help text, generated from the configuration keys. */
  static String usage() {
    StringWriter text = new StringWriter();
    new ServeOptions().commandLine().usage(new PrintWriter(text, true));
    return text.toString();
  }

  /** The version line. */
  static String versionLine() {
    return "berth " + Versions.current();
  }

  private CommandLine commandLine() {
    CommandSpec spec = CommandSpec.create().name("berth serve");
    spec.usageMessage()
        .customSynopsis(SYNOPSIS)
        .description(escape(HEADER.strip()).split("\n"))
        .footer(escape(FOOTER).split("\n"))
        .width(WIDTH)
        .autoWidth(false)
        .sortOptions(false);
    spec.parser()
        .unmatchedOptionsArePositionalParams(true)
        .overwrittenOptionsAllowed(true)
        .expandAtFiles(false)
        // --KEY VALUE in help; --KEY=VALUE is split by unknown() below, like any other flag.
        .separator(" ");
    spec.addOption(
        OptionSpec.builder("-h", "--help")
            .usageHelp(true)
            .description("print this help and exit")
            .build());
    spec.addOption(
        OptionSpec.builder("-V", "--version")
            .versionHelp(true)
            .description("print the version and exit")
            .build());
    spec.addOption(
        OptionSpec.builder("--config")
            .paramLabel("FILE")
            .arity("1")
            .description("YAML config file (or BERTH_CONFIG); see docs/configuration.md")
            .preprocessor(
                (args, command, arg, info) -> {
                  configFile(value(args, "--config"));
                  return true;
                })
            .build());
    spec.addOption(
        OptionSpec.builder("--print-config")
            .arity("0")
            .description("print the effective configuration, each value with its source, and exit")
            .preprocessor(
                (args, command, arg, info) -> {
                  printConfig = true;
                  return true;
                })
            .build());
    spec.addOption(
        OptionSpec.builder("--check-config")
            .arity("0")
            .description(
                "check the configuration and load the files a start reads (WASM modules, TLS"
                    + " material), then exit: 0 when it would start, 2 naming what would not")
            .preprocessor(
                (args, command, arg, info) -> {
                  checkConfig = true;
                  return true;
                })
            .build());
    for (Map.Entry<String, List<OptionSpec>> section : keyOptions().entrySet()) {
      ArgGroupSpec.Builder group =
          ArgGroupSpec.builder()
              .heading("%n" + section.getKey() + ":%n")
              .exclusive(false)
              .validate(false)
              .multiplicity("0..1");
      section.getValue().forEach(group::addArg);
      spec.addArgGroup(group.build());
    }
    // Flags picocli does not know go to the loader as typed, which accepts them (dashed names,
    // map entry fields) or names them with a suggestion.
    spec.addPositional(
        PositionalParamSpec.builder()
            .arity("0..*")
            .hidden(true)
            .paramLabel("--KEY VALUE")
            .preprocessor(this::unknown)
            .build());
    spec.versionProvider(() -> new String[] {versionLine()});
    return new CommandLine(spec);
  }

  /** One option per key and entry flag, by help section, in documentation order. */
  private Map<String, List<OptionSpec>> keyOptions() {
    BerthConfig defaults = BerthConfig.defaults();
    Map<String, List<OptionSpec>> sections = new LinkedHashMap<>();
    for (ConfigKey<?> key : ConfigKeys.all()) {
      List<String> names = new ArrayList<>();
      names.add(key.flagName());
      names.addAll(ConfigKeys.aliases(key));
      OptionSpec option =
          OptionSpec.builder(names.toArray(String[]::new))
              .paramLabel(key.codec().label())
              .arity("1")
              .description(describe(key, defaults))
              .preprocessor(this::keyFlag)
              .build();
      sections.computeIfAbsent(key.section(), s -> new ArrayList<>()).add(option);
      for (ConfigKeys.EntryFlagHelp entryFlag : ConfigKeys.entryFlagsOf(key)) {
        sections
            .get(key.section())
            .add(
                OptionSpec.builder(entryFlag.flag())
                    .paramLabel(entryFlag.label())
                    .arity("1")
                    .description(escape(entryFlag.description()))
                    .preprocessor(this::keyFlag)
                    .build());
      }
    }
    return sections;
  }

  /** A key's help: what it does; then its type, default, reload and environment variable. */
  private static <T> String[] describe(ConfigKey<T> key, BerthConfig defaults) {
    return new String[] {
      escape(key.description()),
      escape(
          key.codec().typeName().replace("`", "")
              + ", default "
              + defaults.text(key)
              + "; "
              + (key.live() ? "changes on reload" : "restart to change")
              + "; "
              + key.envName())
    };
  }

  /** Records a known configuration flag with its value, as typed. */
  private boolean keyFlag(
      Stack<String> args, CommandSpec command, ArgSpec arg, Map<String, Object> info) {
    String name = typedName((OptionSpec) arg, args.size());
    flags.add(new Flag(name, value(args, name)));
    return true;
  }

  /**
   * Which of {@code option}'s names was typed, so that errors and {@code --print-config} name the
   * flag as the operator wrote it: picocli has taken it off the stack, so it is the argument before
   * the {@code remaining} ones.
   */
  private String typedName(OptionSpec option, int remaining) {
    int at = typed.length - remaining - 1;
    if (at >= 0 && at < typed.length && List.of(option.names()).contains(typed[at])) {
      return typed[at];
    }
    return option.longestName();
  }

  /** Records a flag picocli does not know, {@code --name value} or {@code --name=value}. */
  private boolean unknown(
      Stack<String> args, CommandSpec command, ArgSpec arg, Map<String, Object> info) {
    String word = args.pop();
    if (!word.startsWith("--") || word.length() == 2) {
      throw new ConfigException(word, "unexpected argument; options start with --");
    }
    int eq = word.indexOf('=');
    if (eq > 0 && word.substring(0, eq).equals("--config")) {
      configFile(word.substring(eq + 1)); // --config=FILE, which picocli leaves to this parameter
    } else if (eq > 0) {
      flags.add(new Flag(word.substring(0, eq), word.substring(eq + 1)));
    } else {
      flags.add(new Flag(word, value(args, word)));
    }
    return true;
  }

  private void configFile(String value) {
    if (value.isBlank()) {
      throw new ConfigException("--config", "needs a file path");
    }
    configFile = Path.of(value);
  }

  private static String value(Stack<String> args, String option) {
    if (args.isEmpty()) {
      throw new ConfigException(option, "needs a value");
    }
    return args.pop();
  }

  /** Text for picocli's help, which formats it: a literal % is written %%. */
  private static String escape(String text) {
    return text.replace("%", "%%");
  }
}
