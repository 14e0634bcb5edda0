package dev.berth.bench.suite;

import com.google.common.base.Splitter;
import dev.berth.common.CommandLines;
import dev.berth.common.DurationConverter;
import dev.berth.common.Durations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The command line of {@code bin/bench}: which goals, how long, how big. {@code --smoke} shrinks
 * every size and duration so the whole suite takes well under a minute (used by {@code bin/test});
 * explicit options still win over it, wherever they stand. Durations read as everywhere in Berth
 * ({@link DurationConverter}).
 *
 * <p>Not thread-safe: parsed once, then read.
 */
@Command(
    name = "bin/bench",
    mixinStandardHelpOptions = true,
    description = {
      "The benchmark suite: each goal runs Berth and its baseline in interleaved rounds and prints"
          + " the ratio with PASS or MISS (docs/benchmarks.md). A MISS exits 0; a bad option 2."
    },
    footerHeading = "%n",
    footer = "Durations are written 500ms, 5s, 1m30s or 2m.")
public final class SuiteOptions {
  public static final List<String> GOALS =
      List.of("G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "C1", "C2", "C3");

  /**
   * The goals run without {@code --only}: all but the cluster goals (C1-C3), which start three
   * brokers and three etcd members and are asked for by name.
   */
  public static final List<String> DEFAULT_GOALS =
      GOALS.stream().filter(g -> g.startsWith("G")).toList();

  // The options as given: null when absent, so that --smoke fills only what was not given.

  @Option(names = "--smoke", description = "A few seconds per goal, tiny sizes (bin/test runs it).")
  private boolean smokeGiven;

  @Option(
      names = "--only",
      paramLabel = "LIST",
      split = ",",
      converter = Goal.class,
      completionCandidates = Goal.class,
      description = "Run only these goals, comma-separated: ${COMPLETION-CANDIDATES}.")
  private List<String> onlyGiven;

  @Option(
      names = "--rounds",
      paramLabel = "N",
      description = "Measured rounds per goal, interleaved with the baseline (default 5; smoke 1).")
  private Integer roundsGiven;

  @Option(
      names = "--round",
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description = "Length of one round (default 5s; smoke 400ms).")
  private Duration roundGiven;

  @Option(
      names = "--warmup",
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description = "Warm-up of each variant before the rounds (default 5s; smoke 400ms).")
  private Duration warmupGiven;

  @Option(
      names = "--warmup-max",
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description =
          "After --warmup, a variant's warm-up goes on in steps of 5 s while the servers' JIT"
              + " compilers still use more than --jit-settled, up to this in all (default 150s;"
              + " smoke: --warmup, no extension).")
  private Duration warmupMaxGiven;

  @Option(
      names = "--jit-settled",
      paramLabel = "PCT",
      description =
          "The warm-up ends once the JIT compiler threads of all the servers together used at most"
              + " this %% of one core over a 5 s step (default 5).")
  private Double jitSettledGiven;

  @Option(
      names = "--idle",
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description =
          "One window of C3's reading of the idle followers' CPU (default 10s; smoke 2s).")
  private Duration idleGiven;

  @Option(
      names = "--idle-windows",
      paramLabel = "N",
      description =
          "C3 reads this many windows of --idle one after the other once the load has stopped;"
              + " the verdict is the last one's, the steady state, and every window is listed, so"
              + " the tail of the load shows (default 4; smoke 1).")
  private Integer idleWindowsGiven;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      description =
          "Operations in flight for the saturated goals G2, G3, G6 (default 32; smoke 8).")
  private Integer concurrencyGiven;

  @Option(
      names = "--streams",
      paramLabel = "N",
      description = "Open streams heartbeating closed-loop for G4 (default 64; smoke 8).")
  private Integer streamsGiven;

  @Option(
      names = "--sessions",
      paramLabel = "N",
      description = "Idle sessions for G5 (default 20000; smoke 200).")
  private Integer sessionsGiven;

  @Option(
      names = "--spin",
      paramLabel = "N",
      description =
          "G1: also run both variants with N processes spinning at SCHED_IDLE (chrt --idle 0),"
              + " in the same rounds, so no CPU idles and no call pays a wake-up from idle; the"
              + " spinners yield to any other thread at once (default 0: off). --spin $(nproc)"
              + " shows how much of G1's latencies and gap is wake-up.")
  private Integer spinGiven;

  @Option(
      names = "--etcd",
      paramLabel = "PATH",
      description = "The etcd binary for G3/G4 (default: etcd on PATH); absent: SKIPPED.")
  private Path etcdGiven;

  @Option(
      names = "--cluster-flag",
      paramLabel = "KEY=VALUE",
      description =
          "C1-C3: a daemon setting for the three cluster members only (repeatable), e.g."
              + " --cluster-flag cluster.journal.max_uncommitted_grants=64 --cluster-flag"
              + " cluster.journal.uncommitted_limit_divisor=0 to measure a fixed K of 64.")
  private List<String> clusterFlagsGiven;

  @Option(
      names = "--server-flag",
      paramLabel = "KEY=VALUE",
      description =
          "A daemon setting for the lone Berth server that G1-G4, G6, G7 and C1's baseline share"
              + " (repeatable), e.g. --server-flag metrics.listen=127.0.0.1:9464 to measure"
              + " with the metrics endpoint and the dashboard on, as a daemon runs by default.")
  private List<String> serverFlagsGiven;

  @Option(
      names = "--markdown",
      paramLabel = "FILE",
      description = "Also write the table as Markdown to FILE.")
  private Path markdownGiven;

  // The effective values the suite reads.

  boolean smoke;
  Set<String> only = new LinkedHashSet<>(DEFAULT_GOALS);
  int rounds;
  Duration round;
  Duration warmup;
  Duration warmupMax;
  double jitSettled;
  Duration idle;
  int idleWindows;
  int concurrency;
  int streams;
  int sessions;
  int spin;
  Path etcd;
  Path markdown;

  /** {@code --cluster-flag}s as daemon flags: {@code --KEY VALUE} pairs. */
  List<String> clusterFlags = List.of();

  /** {@code --server-flag}s as daemon flags: {@code --KEY VALUE} pairs. */
  List<String> serverFlags = List.of();

  boolean help;

  /** The command line that fills a new {@code SuiteOptions}; {@link #from} reads it after. */
  static CommandLine commandLine() {
    return new CommandLine(new SuiteOptions());
  }

  /**
   * Parses {@code args}.
   *
   * @throws CommandLine.ParameterException naming the option and what is wrong with it ({@link
   *     CommandLines#message})
   */
  public static SuiteOptions parse(List<String> args) {
    CommandLine line = commandLine();
    line.parseArgs(args.toArray(String[]::new));
    return from(line);
  }

  /** The effective options of a parsed {@link #commandLine()}. */
  static SuiteOptions from(CommandLine line) {
    SuiteOptions o = line.getCommand();
    o.help = line.isUsageHelpRequested() || line.isVersionHelpRequested();
    o.smoke = o.smokeGiven;
    if (o.onlyGiven != null) {
      o.only = new LinkedHashSet<>(o.onlyGiven);
    }
    o.rounds = positive(line, "--rounds", o.roundsGiven, o.smoke ? 1 : 5);
    o.round = o.roundGiven != null ? o.roundGiven : o.smoke ? ms(400) : Duration.ofSeconds(5);
    o.warmup = o.warmupGiven != null ? o.warmupGiven : o.smoke ? ms(400) : Duration.ofSeconds(5);
    o.warmupMax =
        o.warmupMaxGiven != null
            ? o.warmupMaxGiven
            : o.smoke ? o.warmup : max(o.warmup, Duration.ofSeconds(150));
    if (o.warmupMax.compareTo(o.warmup) < 0) {
      throw new CommandLine.ParameterException(
          line,
          "--warmup-max: must be at least --warmup ("
              + Durations.format(o.warmup)
              + "), got "
              + Durations.format(o.warmupMax));
    }
    o.jitSettled = o.jitSettledGiven != null ? o.jitSettledGiven : 5.0;
    if (!(o.jitSettled > 0 && o.jitSettled <= 100)) {
      throw new CommandLine.ParameterException(
          line,
          "--jit-settled: must be above 0 and at most 100 (% of one core), got " + o.jitSettled);
    }
    o.idle = o.idleGiven != null ? o.idleGiven : o.smoke ? ms(2000) : Duration.ofSeconds(10);
    o.idleWindows = positive(line, "--idle-windows", o.idleWindowsGiven, o.smoke ? 1 : 4);
    o.concurrency = positive(line, "--concurrency", o.concurrencyGiven, o.smoke ? 8 : 32);
    o.streams = positive(line, "--streams", o.streamsGiven, o.smoke ? 8 : 64);
    o.sessions = positive(line, "--sessions", o.sessionsGiven, o.smoke ? 200 : 20_000);
    o.spin = o.spinGiven == null ? 0 : Math.max(0, o.spinGiven);
    o.etcd = o.etcdGiven != null ? o.etcdGiven : onPath("etcd");
    o.markdown = o.markdownGiven;
    o.clusterFlags = daemonFlags(line, "--cluster-flag", o.clusterFlagsGiven);
    o.serverFlags = daemonFlags(line, "--server-flag", o.serverFlagsGiven);
    return o;
  }

  private static List<String> daemonFlags(CommandLine line, String option, List<String> given) {
    List<String> flags = new java.util.ArrayList<>();
    for (String kv : given == null ? List.<String>of() : given) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new CommandLine.ParameterException(
            line, option + ": expected KEY=VALUE (a daemon config key), got '" + kv + "'");
      }
      flags.add("--" + kv.substring(0, eq).trim());
      flags.add(kv.substring(eq + 1).trim());
    }
    return List.copyOf(flags);
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  private static Duration ms(long millis) {
    return Duration.ofMillis(millis);
  }

  private static int positive(CommandLine line, String option, Integer given, int fallback) {
    if (given == null) {
      return fallback;
    }
    return (int) CommandLines.range(line.getCommandSpec(), option, given, 1, Integer.MAX_VALUE);
  }

  /** Reads one goal of {@code --only}, in any case, and lists them for help. */
  static final class Goal implements ITypeConverter<String>, Iterable<String> {
    @Override
    public String convert(String value) {
      String goal = value.trim().toUpperCase(Locale.ROOT);
      if (!GOALS.contains(goal)) {
        throw new TypeConversionException(
            "unknown goal '" + value.trim() + "', expected some of " + GOALS);
      }
      return goal;
    }

    @Override
    public java.util.Iterator<String> iterator() {
      return GOALS.iterator();
    }
  }

  private static Path onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    // Every entry counts, a trailing empty one too: an empty entry is the working directory.
    for (String dir : Splitter.on(':').split(path)) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
