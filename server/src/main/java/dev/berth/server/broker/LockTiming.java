package dev.berth.server.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.HdrHistogram.Histogram;

/**
 * An opt-in measurement of the broker's lock, for capacity planning: for each command (named by the
 * broker method that ran it, and for an acquire by how it was answered) how long it waited to take
 * the lock and how long it held it, and the window those figures cover. Off unless the JVM is
 * started with {@code -Dberth.lock_timing=<file>} (or {@code -}, to read the figures in-process
 * through {@link #rows} only); with a file, the table is written there when the JVM exits. Off,
 * {@link #ENABLED} is a constant false, so the JIT drops every timing branch and the broker's path
 * does not change.
 *
 * <p>Thread-safe. Each thread records into its own histograms (HdrHistogram, 2 significant digits)
 * and exact sums, guarded by that thread's own monitor, which only {@link #rows} and {@link #reset}
 * ever contend for; a record is made after the broker's lock is released, so it adds nothing to a
 * hold.
 */
public final class LockTiming {
  private static final String PROPERTY = "berth.lock_timing";

  /** Whether the broker times its lock; fixed at class load. */
  public static final boolean ENABLED = System.getProperty(PROPERTY, "").length() > 0;

  /** How an acquire (or a bundle) was answered under the lock: part of its command's name. */
  enum Outcome {
    /** No outcome told: any command but an answered acquire (or an acquire that failed). */
    NONE(""),
    GRANTED(" granted"),
    REFUSED(" refused"),
    QUEUED(" queued"),
    /** A repeated request id, answered with the first answer or attached to its wait. */
    REPEATED(" repeated");

    final String suffix;

    Outcome(String suffix) {
      this.suffix = suffix;
    }
  }

  /**
   * A command's figures over the window, in nanoseconds. Percentiles are within 1 % (2 significant
   * digits).
   *
   * @param command e.g. {@code Broker.acquire granted}, {@code Broker.heartbeat}
   * @param windowNanos since the JVM started timing or the last {@link #reset}
   */
  public record Row(
      String command,
      long count,
      long holdP50,
      long holdP99,
      double holdMean,
      long holdMax,
      long holdTotal,
      long waitP50,
      long waitP99,
      double waitMean,
      long waitMax,
      long waitTotal,
      long windowNanos) {}

  /** A command's site (the class of the lambda it runs under the lock) to its name. */
  private static final Map<Class<?>, String> NAMES = new ConcurrentHashMap<>();

  private static final List<PerThread> THREADS = new CopyOnWriteArrayList<>();
  private static final ThreadLocal<PerThread> MINE =
      ThreadLocal.withInitial(
          () -> {
            PerThread p = new PerThread();
            THREADS.add(p);
            return p;
          });
  private static final StackWalker WALKER = StackWalker.getInstance();

  private static volatile long since = System.nanoTime();

  static {
    String target = System.getProperty(PROPERTY, "");
    if (ENABLED && !target.equals("-")) {
      Path file = Path.of(target);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try {
                      Files.writeString(file, report());
                    } catch (IOException e) {
                      throw new UncheckedIOException(e);
                    }
                  },
                  "berth-lock-timing"));
    }
  }

  private LockTiming() {}

  /**
   * Tells how the command running on this thread answered its acquire; it becomes part of the
   * command's name when {@link #record} runs. Call only when {@link #ENABLED}. Lock held.
   */
  static void outcome(Outcome outcome) {
    MINE.get().outcome = outcome;
  }

  /**
   * Records one command run from {@code site} (the class of the lambda it ran under the lock),
   * after the lock is released, on the thread that ran it.
   */
  static void record(Class<?> site, long waitNanos, long holdNanos) {
    String name = NAMES.get(site);
    if (name == null) {
      name = caller(); // walked here, not in a map function, so the map's frames are not found
      NAMES.putIfAbsent(site, name);
    }
    PerThread mine = MINE.get();
    Outcome outcome = mine.outcome;
    mine.outcome = Outcome.NONE;
    mine.add(name, outcome, waitNanos, holdNanos);
  }

  /** The broker method that ran the command: the first caller outside {@link BrokerState}. */
  private static String caller() {
    return WALKER.walk(
        frames ->
            frames
                .filter(
                    f ->
                        !f.getClassName().equals(BrokerState.class.getName())
                            && !f.getClassName().equals(LockTiming.class.getName()))
                .findFirst()
                .map(f -> simpleName(f.getClassName()) + "." + f.getMethodName())
                .orElse("?"));
  }

  private static String simpleName(String className) {
    String s = className.substring(className.lastIndexOf('.') + 1);
    int lambda = s.indexOf("$$");
    return lambda > 0 ? s.substring(0, lambda) : s;
  }

  /** Forgets every figure and starts a new window now (e.g. after a warm-up). */
  public static void reset() {
    for (PerThread p : THREADS) {
      p.clear();
    }
    since = System.nanoTime();
  }

  /** Every command's figures over the window so far, the most total hold time first. */
  public static List<Row> rows() {
    long window = System.nanoTime() - since;
    Map<String, Stat> merged = new LinkedHashMap<>();
    for (PerThread p : THREADS) {
      p.addTo(merged);
    }
    List<Row> rows = new ArrayList<>();
    merged.forEach(
        (command, stat) -> {
          Histogram hold = stat.hold;
          Histogram wait = stat.wait;
          rows.add(
              new Row(
                  command,
                  hold.getTotalCount(),
                  hold.getValueAtPercentile(50),
                  hold.getValueAtPercentile(99),
                  (double) stat.holdSum / Math.max(1, hold.getTotalCount()),
                  hold.getMaxValue(),
                  stat.holdSum,
                  wait.getValueAtPercentile(50),
                  wait.getValueAtPercentile(99),
                  (double) stat.waitSum / Math.max(1, wait.getTotalCount()),
                  wait.getMaxValue(),
                  stat.waitSum,
                  window));
        });
    rows.sort((a, b) -> Long.compare(b.holdTotal(), a.holdTotal()));
    return rows;
  }

  /**
   * One tab-separated line per command, in ns: count, hold p50 / p99 / mean / max, wait p50 / p99 /
   * mean / max, then the totals and the window in ms.
   */
  static String report() {
    StringBuilder out =
        new StringBuilder(
            "command\tcount\thold_p50_ns\thold_p99_ns\thold_mean_ns\thold_max_ns"
                + "\twait_p50_ns\twait_p99_ns\twait_mean_ns\twait_max_ns"
                + "\thold_total_ms\twait_total_ms\twindow_ms\n");
    for (Row r : rows()) {
      out.append(
          String.format(
              Locale.ROOT,
              "%s\t%d\t%d\t%d\t%.0f\t%d\t%d\t%d\t%.0f\t%d\t%.1f\t%.1f\t%.1f%n",
              r.command(),
              r.count(),
              r.holdP50(),
              r.holdP99(),
              r.holdMean(),
              r.holdMax(),
              r.waitP50(),
              r.waitP99(),
              r.waitMean(),
              r.waitMax(),
              r.holdTotal() / 1e6,
              r.waitTotal() / 1e6,
              r.windowNanos() / 1e6));
    }
    return out.toString();
  }

  /** One command's figures: hold and wait times, as histograms and as exact sums. */
  private static final class Stat {
    final Histogram hold = new Histogram(2);
    final Histogram wait = new Histogram(2);
    long holdSum;
    long waitSum;

    void add(long waitNanos, long holdNanos) {
      hold.recordValue(holdNanos);
      wait.recordValue(waitNanos);
      holdSum += holdNanos;
      waitSum += waitNanos;
    }

    void add(Stat other) {
      hold.add(other.hold);
      wait.add(other.wait);
      holdSum += other.holdSum;
      waitSum += other.waitSum;
    }
  }

  /** One thread's figures per command name and outcome. */
  private static final class PerThread {
    /** Set under the broker's lock by the command running on this thread; read by its owner. */
    Outcome outcome = Outcome.NONE;

    private final Map<String, Map<Outcome, Stat>> byName = new HashMap<>();

    synchronized void add(String name, Outcome outcome, long waitNanos, long holdNanos) {
      byName
          .computeIfAbsent(name, n -> new EnumMap<>(Outcome.class))
          .computeIfAbsent(outcome, o -> new Stat())
          .add(Math.max(0, waitNanos), Math.max(0, holdNanos));
    }

    synchronized void clear() {
      byName.clear();
    }

    synchronized void addTo(Map<String, Stat> merged) {
      byName.forEach(
          (name, byOutcome) ->
              byOutcome.forEach(
                  (o, stat) -> merged.computeIfAbsent(name + o.suffix, n -> new Stat()).add(stat)));
    }
  }
}
