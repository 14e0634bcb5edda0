package dev.berth.bench.fleet;

import dev.berth.bench.suite.Machine;
import dev.berth.bench.suite.ServerProcess;
import dev.berth.bench.suite.Suite;
import dev.berth.common.CommandLines;
import dev.berth.common.DurationConverter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/bench --fleet}: the fleet simulation (docs/fleet.md). Starts a daemon in its own
 * process, runs the simulated workers against it, and prints each goal with PASS, FAIL or NOT
 * CHECKED; {@code --markdown} also writes the report and its charts. A FAIL of a goal is a result
 * (exit 0); a broken invariant (a pool above its limit, a host above its rate) exits 1, as does a
 * crash; a bad option exits 2.
 *
 * <p>Not thread-safe: one run per process.
 */
@Command(
    name = "bin/bench --fleet",
    mixinStandardHelpOptions = true,
    description = {
      "The fleet simulation: hundreds of simulated workers in three jobs (weights 1:2:5) against a"
          + " real daemon, a hundred simulated hosts with a 429 storm and a memory leak;"
          + " prints the goals with PASS/FAIL (docs/fleet.md)."
    },
    footerHeading = "%n",
    footer = "Durations are written 500ms, 5s, 1m30s or 2m.")
public final class FleetMain {
  @Option(names = "--smoke", description = "10 s, 30 workers, 20 hosts (bin/test runs it).")
  boolean smoke;

  @Option(names = "--workers", paramLabel = "N", description = "Simulated workers (default 300).")
  Integer workers;

  @Option(
      names = "--pool",
      paramLabel = "N",
      description = "The RENDER pool limit (default: a fifth of the workers).")
  Integer pool;

  @Option(
      names = "--hosts",
      paramLabel = "N",
      description =
          "Simulated hosts (default 100, and one per three workers beyond 300, so that the"
              + " hosts' rates can carry the pool: see docs/fleet.md).")
  Integer hosts;

  @Option(
      names = "--duration",
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description = "The whole run, the first tenth (at least 3 s) warm-up (default 3m).")
  Duration duration;

  @Option(
      names = "--wait",
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description = "How long each acquire may queue at the broker (default 5s).")
  Duration wait = Duration.ofSeconds(5);

  @Option(names = "--seed", paramLabel = "N", description = "The schedule's seed (default 1).")
  long seed = 1;

  @Option(
      names = "--markdown",
      paramLabel = "FILE",
      description =
          "Write the report to FILE and its charts to a directory named after it"
              + " (docs/fleet.md: docs/fleet/*.png).")
  Path markdown;

  public static void main(String[] args) {
    FleetMain o = new FleetMain();
    CommandLine line = CommandLines.configure(new CommandLine(o), System.out, System.err);
    Scenario scenario;
    try {
      line.parseArgs(args);
      if (line.isUsageHelpRequested() || line.isVersionHelpRequested()) {
        line.usage(line.getOut());
        System.exit(0);
        return;
      }
      scenario = o.scenario();
    } catch (CommandLine.ParameterException e) {
      CommandLines.usageError(e, line.getErr());
      System.exit(CommandLines.USAGE);
      return;
    } catch (IllegalArgumentException e) {
      line.getErr().println("bin/bench --fleet: " + e.getMessage());
      line.getErr().flush();
      System.exit(CommandLines.USAGE);
      return;
    }
    try {
      System.exit(o.run(scenario, "bin/bench --fleet " + String.join(" ", args)));
    } catch (Exception | AssertionError e) {
      System.err.println("fleet: the simulation failed: " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  Scenario scenario() {
    int w = workers != null ? workers : smoke ? 30 : 300;
    int p = pool != null ? pool : Math.max(1, w / 5);
    // A hundred hosts at 3/s carry a 60-slot pool (some 170 pages/s) with room to spare; a
    // 200-slot pool would fetch more pages a second than a hundred hosts allow, and the run would
    // measure the hosts' rates instead of the pool. A bigger fleet crawls more sites.
    int h = hosts != null ? hosts : smoke ? 20 : Math.max(100, (w + 2) / 3);
    Duration d =
        duration != null ? duration : smoke ? Duration.ofSeconds(10) : Duration.ofMinutes(3);
    return new Scenario(w, p, h, d.toNanos(), wait.toNanos(), seed);
  }

  private int run(Scenario scenario, String command) throws Exception {
    String machine = Machine.describe();
    System.out.println(machine);
    Fleet.Measured measured;
    String queue;
    try (Started s = start(scenario)) {
      queue = s.queue;
      System.out.println(queue);
      measured = new Fleet(scenario, seed).run(s.daemon);
    }
    FleetReport report = new FleetReport(scenario, measured);
    String after = "load average after: " + Machine.loadAverage();
    System.out.println();
    System.out.print(report.text());
    System.out.println(after);
    Path md = markdown;
    Path tmp = null;
    if (md == null && smoke) {
      // The smoke run checks that the report and its charts are produced, then removes them.
      tmp = Files.createTempDirectory("berth-fleet-smoke-");
      md = tmp.resolve("fleet.md");
    }
    if (md != null) {
      String stem = md.getFileName().toString().replaceFirst("\\.md$", "");
      Path dir = md.toAbsolutePath().getParent().resolve(stem);
      Files.createDirectories(dir);
      List<String> charts = new ArrayList<>();
      for (String c : Charts.write(report, dir)) {
        charts.add(stem + "/" + c);
      }
      Files.writeString(md, report.markdown(command, machine + "\n" + after, queue, charts));
      System.out.println("report: " + md + ", charts: " + dir);
      if (tmp != null) {
        verifyProduced(md, dir, charts.size());
        deleteTree(tmp);
      }
    }
    if (!report.invariantsHold()) {
      System.err.println("fleet: an invariant was broken (see the table above)");
      return 1;
    }
    return 0;
  }

  private static void verifyProduced(Path md, Path dir, int charts) throws IOException {
    try (var files = Files.list(dir)) {
      long pngs = files.filter(f -> f.toString().endsWith(".png")).count();
      if (Files.size(md) == 0 || pngs != charts) {
        throw new IllegalStateException("fleet: the report or its charts were not written");
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  /** The daemon and which queue it runs. */
  private record Started(ServerProcess daemon, String queue) implements AutoCloseable {
    @Override
    public void close() {
      daemon.close();
    }
  }

  /**
   * Starts the daemon with the jobs' weights; a daemon that does not know the {@code jobs} setting
   * is started without it, and the report says that its one queue serves acquires in arrival order.
   */
  private static Started start(Scenario scenario) throws IOException {
    try {
      return new Started(
          ServerProcess.java(
              "berth",
              Suite.serverJvm(System.getenv("BERTH_BENCH_SERVER_OPTS")),
              scenario.daemonArgs(true)),
          "Queue: the daemon has the `jobs` setting, configured with the weights above; its"
              + " contended pools are shared by weight.");
    } catch (IOException e) {
      if (!String.valueOf(e.getMessage()).contains("jobs")) {
        throw e;
      }
      return new Started(
          ServerProcess.java(
              "berth",
              Suite.serverJvm(System.getenv("BERTH_BENCH_SERVER_OPTS")),
              scenario.daemonArgs(false)),
          "Queue: this daemon has no `jobs` setting (it refused the flag), so it ran without one:"
              + " its one queue serves waiting acquires in priority-then-arrival order, every job"
              + " gets the share its demand brings (here a third each, as each job has a third of"
              + " the workers), and the share goal FAILs by design until the broker shares pools"
              + " by job weight.");
    }
  }
}
