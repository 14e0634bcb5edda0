package dev.berth.bench;

import dev.berth.bench.BrokerCycleBench.QuietChannel;
import dev.berth.common.CommandLines;
import dev.berth.common.DurationConverter;
import dev.berth.common.Durations;
import dev.berth.server.admission.AcquireCallback;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LockTiming;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.time.SystemTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/bench --lock}: the broker's lock, measured. For each thread count it runs the real
 * {@link Broker} (no transport) with that many threads, each on its own session, issuing commands
 * back to back: a granted acquire and its release every round, a heartbeat every round, a refused
 * acquire every {@code --refused-every} rounds and a status every {@code --status-every}. With
 * {@link LockTiming} on, it prints each command's hold and wait times and, over the window, the
 * lock's utilization (sum of holds / wall time) and the share of the threads' time spent waiting
 * for it. Threads ≥ cores is saturation: every thread does nothing but broker commands. See
 * docs/benchmarks.md. Runs once, from {@code main}; not thread-safe.
 */
@Command(
    name = "bench --lock",
    mixinStandardHelpOptions = true,
    description = "Hold and wait times of the broker's lock per command, and its contention.")
public final class BrokerLockRun {
  private static final String URL = "https://www.example.com/page";
  private static final String REFUSED_HOST = "refused.bench.invalid";
  private static final Outcome OK = new Outcome(true, 300_000_000L, 200, 0, "");

  @Option(
      names = "--threads",
      split = ",",
      paramLabel = "N",
      description = "Thread counts to run, one window each (default: 1, cores, 2 x cores).")
  private List<Integer> threads;

  @Option(
      names = "--duration",
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description = "Measured window per thread count (default 5s).")
  private Duration duration = Duration.ofSeconds(5);

  @Option(
      names = "--warmup",
      paramLabel = "DUR",
      converter = DurationConverter.class,
      description = "Unmeasured run before each window (default 3s).")
  private Duration warmup = Duration.ofSeconds(3);

  @Option(
      names = "--refused-every",
      paramLabel = "K",
      description = "A refused acquire every K rounds (default 8).")
  private int refusedEvery = 8;

  @Option(
      names = "--status-every",
      paramLabel = "K",
      description = "A status view every K rounds (default 1000).")
  private int statusEvery = 1000;

  public static void main(String[] args) throws Exception {
    // Before any broker class loads: LockTiming reads it once. "-": figures in-process, no file.
    if (System.getProperty("berth.lock_timing") == null) {
      System.setProperty("berth.lock_timing", "-");
    }
    BrokerLockRun run = new BrokerLockRun();
    CommandLine line = CommandLines.configure(new CommandLine(run), System.out, System.err);
    try {
      line.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      CommandLines.usageError(e, line.getErr());
      System.exit(CommandLines.USAGE);
      return;
    }
    if (line.isUsageHelpRequested() || line.isVersionHelpRequested()) {
      line.usage(line.getOut());
      return;
    }
    String bad = run.check();
    if (bad != null) {
      System.err.println("bench --lock: " + bad);
      System.exit(CommandLines.USAGE);
      return;
    }
    System.out.print(run.runAll());
    System.exit(0);
  }

  /** The first bad option, named with its rule; null when all are good. */
  private String check() {
    if (!LockTiming.ENABLED) {
      return "LockTiming is off: start the JVM with -Dberth.lock_timing=-";
    }
    if (threads != null && threads.stream().anyMatch(n -> n < 1)) {
      return "--threads: every count must be at least 1, got " + threads;
    }
    if (refusedEvery < 1) {
      return "--refused-every: must be at least 1, got " + refusedEvery;
    }
    if (statusEvery < 1) {
      return "--status-every: must be at least 1, got " + statusEvery;
    }
    return null;
  }

  private String runAll() throws InterruptedException {
    int cores = Runtime.getRuntime().availableProcessors();
    List<Integer> counts = threads != null ? threads : List.of(1, cores, 2 * cores);
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "broker lock, %d cores, load average before %s; per round: acquire granted +"
                + " release + heartbeat, a refused acquire every %d rounds, status every %d;"
                + " warm-up %s, window %s per thread count%n",
            cores,
            loadAverage(),
            refusedEvery,
            statusEvery,
            Durations.format(warmup),
            Durations.format(duration)));
    for (int n : counts) {
      out.append(window(n));
    }
    out.append("load average after: ").append(loadAverage()).append('\n');
    return out.toString();
  }

  /** One window at {@code n} threads on a fresh broker: its summary and table, as Markdown. */
  private String window(int n) throws InterruptedException {
    try (SystemTimeSource time = new SystemTimeSource()) {
      Broker broker =
          BrokerCycleBench.newBroker(
              time, RateLimitConfig.newBuilder().host(REFUSED_HOST, 0.001, 1));
      try {
        AtomicBoolean running = new AtomicBoolean(true);
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          workers.add(new Worker(broker, running, i));
        }
        workers.forEach(Thread::start);
        Thread.sleep(warmup.toMillis());
        LockTiming.reset();
        long rounds0 = rounds(workers);
        long t0 = System.nanoTime();
        Thread.sleep(duration.toMillis());
        long rounds1 = rounds(workers);
        long t1 = System.nanoTime();
        List<LockTiming.Row> rows = LockTiming.rows();
        running.set(false);
        for (Worker w : workers) {
          w.join();
          if (w.error != null) {
            throw new IllegalStateException("a worker failed: " + w.error, w.error);
          }
        }
        return table(n, t1 - t0, rounds1 - rounds0, rows);
      } finally {
        broker.close();
      }
    }
  }

  private static long rounds(List<Worker> workers) {
    return workers.stream().mapToLong(w -> w.rounds).sum();
  }

  private static String table(int n, long windowNanos, long rounds, List<LockTiming.Row> rows) {
    long count = 0;
    long hold = 0;
    long wait = 0;
    for (LockTiming.Row r : rows) {
      count += r.count();
      hold += r.holdTotal();
      wait += r.waitTotal();
    }
    double seconds = windowNanos / 1e9;
    double cycleHold = mean(rows, "Broker.acquire granted") + mean(rows, "Broker.release");
    StringBuilder t = new StringBuilder();
    t.append(
        String.format(
            Locale.ROOT,
            "%n%d thread(s), %.2f s: %,.0f commands/s (%,.0f lease cycles/s); lock held %.1f %%"
                + " of the time; the threads waited for it %.1f %% of theirs; mean hold %.0f ns"
                + " per command (at most %,.0f commands/s on one lock), acquire granted +"
                + " release %.0f ns (at most %,.0f lease cycles/s)%n%n",
            n,
            seconds,
            count / seconds,
            rounds / seconds,
            100.0 * hold / windowNanos,
            100.0 * wait / (n * (double) windowNanos),
            count == 0 ? 0 : (double) hold / count,
            hold == 0 ? 0 : count * 1e9 / hold,
            cycleHold,
            cycleHold == 0 ? 0 : 1e9 / cycleHold));
    t.append(
        "| command | count | hold p50 | hold p99 | hold mean | hold max | wait p50 | wait p99 |"
            + " wait mean | held, % of window |\n");
    t.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (LockTiming.Row r : rows) {
      t.append(
          String.format(
              Locale.ROOT,
              "| `%s` | %,d | %s | %s | %s | %s | %s | %s | %s | %.2f |%n",
              r.command(),
              r.count(),
              ns((double) r.holdP50()),
              ns((double) r.holdP99()),
              ns(r.holdMean()),
              ns((double) r.holdMax()),
              ns((double) r.waitP50()),
              ns((double) r.waitP99()),
              ns(r.waitMean()),
              100.0 * r.holdTotal() / windowNanos));
    }
    return t.toString();
  }

  private static double mean(List<LockTiming.Row> rows, String command) {
    return rows.stream()
        .filter(r -> r.command().equals(command))
        .mapToDouble(LockTiming.Row::holdMean)
        .findFirst()
        .orElse(0);
  }

  /** {@code 850 ns}, {@code 12.3 µs}, {@code 4.1 ms}. */
  static String ns(double nanos) {
    if (nanos < 10_000) {
      return String.format(Locale.ROOT, "%,.0f ns", nanos);
    }
    if (nanos < 10_000_000) {
      return String.format(Locale.ROOT, "%.1f µs", nanos / 1e3);
    }
    return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
  }

  private static String loadAverage() {
    try {
      String s = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg"));
      return String.join(" ", java.util.Arrays.asList(s.split(" ", -1)).subList(0, 3));
    } catch (java.io.IOException | RuntimeException e) {
      return "unknown";
    }
  }

  /** A thread issuing broker commands on its own session until told to stop. */
  private final class Worker extends Thread {
    private final Broker broker;
    private final AtomicBoolean running;
    private final QuietChannel channel = new QuietChannel();
    private final Answer answer = new Answer();

    /** Rounds completed; read by the main thread at the window's edges. */
    volatile long rounds;

    volatile Throwable error;

    Worker(Broker broker, AtomicBoolean running, int i) {
      super("bench-lock-" + i);
      this.broker = broker;
      this.running = running;
    }

    @Override
    public void run() {
      try {
        String session = BrokerCycleBench.openSession(broker, channel);
        long seq = 0;
        long done = 0;
        while (running.get()) {
          AcquireSpec spec =
              AcquireSpec.validate(session, ResourceKind.RENDER, URL, "", null, "", 0, 0);
          broker.acquire(spec, "anonymous", answer);
          broker.release(session, answer.granted().lease().id(), "anonymous", OK);
          broker.heartbeat(session, channel, ++seq, 0, 0);
          if (done % refusedEvery == 0) {
            AcquireSpec refused =
                AcquireSpec.validate(
                    session,
                    ResourceKind.RENDER,
                    "https://" + REFUSED_HOST + "/page",
                    "",
                    null,
                    "",
                    0,
                    0);
            broker.acquire(refused, "anonymous", answer);
            if (answer.decision instanceof Decision.Granted g) { // the host's one token of burst
              broker.release(session, g.lease().id(), "anonymous", OK);
            }
          }
          if (done % statusEvery == 0) {
            broker.status();
          }
          rounds = ++done;
        }
      } catch (RuntimeException | AssertionError e) {
        error = e;
      }
    }
  }

  /** The last decision told; every acquire here is answered before it returns. */
  private static final class Answer implements AcquireCallback {
    Decision decision;

    Decision.Granted granted() {
      if (decision instanceof Decision.Granted g) {
        return g;
      }
      throw new IllegalStateException("expected a grant, got " + decision);
    }

    @Override
    public void decided(Decision d) {
      decision = d;
    }

    @Override
    public void failed(BrokerException e) {
      throw e;
    }
  }
}
