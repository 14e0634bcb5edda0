package dev.berth.bench.suite;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The command line of {@code bin/bench}: which goals, how long, how big. {@code --smoke} shrinks
 * every size and duration so the whole suite takes well under a minute (used by {@code bin/test});
 * explicit options given after it still win.
 *
 * <p>Not thread-safe: parsed once, then read.
 */
public final class SuiteOptions {
  public static final List<String> GOALS = List.of("G1", "G2", "G3", "G4", "G5", "G6", "G7");

  static final String USAGE =
      """
      usage: bin/bench [--smoke] [--only G1,G3] [--rounds N] [--round DUR] [--warmup DUR]
                       [--concurrency N] [--streams N] [--sessions N] [--etcd PATH]
                       [--markdown FILE]

        --smoke          a few seconds per goal, tiny sizes, no JMH (bin/test runs this)
        --only LIST      run only these goals (G1..G7), comma-separated
        --rounds N       measured rounds per goal, interleaved with the baseline (default 5)
        --round DUR      length of one round, e.g. 5s or 500ms (default 5s)
        --warmup DUR     warm-up of each variant before the rounds (default 5s)
        --concurrency N  operations in flight for the saturated goals G2, G3, G6 (default 32)
        --streams N      open streams heartbeating closed-loop for G4 (default 64)
        --sessions N     idle sessions for G5 (default 20000)
        --etcd PATH      the etcd binary for G3/G4 (default: etcd on PATH); absent: SKIPPED
        --markdown FILE  also write the table as Markdown to FILE
      """;

  boolean smoke;
  Set<String> only = new LinkedHashSet<>(GOALS);
  int rounds = 5;
  Duration round = Duration.ofSeconds(5);
  Duration warmup = Duration.ofSeconds(5);
  int concurrency = 32;
  int streams = 64;
  int sessions = 20_000;
  Path etcd;
  Path markdown;
  boolean help;

  /**
   * @throws IllegalArgumentException naming the option and what is wrong with it
   */
  public static SuiteOptions parse(List<String> args) {
    SuiteOptions o = new SuiteOptions();
    if (args.contains("--smoke")) {
      o.smoke = true;
      o.rounds = 1;
      o.round = Duration.ofMillis(400);
      o.warmup = Duration.ofMillis(400);
      o.concurrency = 8;
      o.streams = 8;
      o.sessions = 200;
    }
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      switch (arg) {
        case "--smoke" -> {}
        case "-h", "--help" -> o.help = true;
        case "--only" -> o.only = goals(value(args, ++i, arg));
        case "--rounds" -> o.rounds = positive(arg, value(args, ++i, arg));
        case "--round" -> o.round = duration(arg, value(args, ++i, arg));
        case "--warmup" -> o.warmup = duration(arg, value(args, ++i, arg));
        case "--concurrency" -> o.concurrency = positive(arg, value(args, ++i, arg));
        case "--streams" -> o.streams = positive(arg, value(args, ++i, arg));
        case "--sessions" -> o.sessions = positive(arg, value(args, ++i, arg));
        case "--etcd" -> o.etcd = Path.of(value(args, ++i, arg));
        case "--markdown" -> o.markdown = Path.of(value(args, ++i, arg));
        default -> throw new IllegalArgumentException("unknown option " + arg + "\n" + USAGE);
      }
    }
    if (o.etcd == null) {
      o.etcd = onPath("etcd");
    }
    return o;
  }

  private static String value(List<String> args, int i, String option) {
    if (i >= args.size()) {
      throw new IllegalArgumentException(option + ": needs a value");
    }
    return args.get(i);
  }

  static Set<String> goals(String list) {
    Set<String> out = new LinkedHashSet<>();
    for (String g : list.split(",")) {
      String goal = g.trim().toUpperCase(Locale.ROOT);
      if (!GOALS.contains(goal)) {
        throw new IllegalArgumentException(
            "--only: unknown goal '" + g.trim() + "', expected some of " + GOALS);
      }
      out.add(goal);
    }
    return out;
  }

  private static int positive(String option, String text) {
    try {
      int n = Integer.parseInt(text);
      if (n < 1) {
        throw new IllegalArgumentException(option + ": must be at least 1, got " + n);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + ": must be a whole number, got '" + text + "'");
    }
  }

  /** {@code 500ms}, {@code 5s} or {@code 2m}. */
  static Duration duration(String option, String text) {
    String t = text.trim();
    try {
      Duration d;
      if (t.endsWith("ms")) {
        d = Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      } else if (t.endsWith("s")) {
        d =
            Duration.ofMillis(
                Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
      } else if (t.endsWith("m")) {
        d = Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)) * 60);
      } else {
        throw new NumberFormatException();
      }
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(option + ": must be positive, got '" + text + "'");
      }
      return d;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          option + ": must be a duration like 500ms, 5s or 2m, got '" + text + "'");
    }
  }

  private static Path onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
