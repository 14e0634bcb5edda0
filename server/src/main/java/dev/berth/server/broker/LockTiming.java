package dev.berth.server.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * An opt-in measurement of the broker's lock, for capacity planning: for each command (named by the
 * broker method that ran it) how long it waited to take the lock and how long it held it. Off
 * unless the JVM is started with {@code -Dberth.lock_timing=<file>}; then the table is written to
 * that file when the JVM exits. Off, {@link #ENABLED} is a constant false and the broker's path
 * does not change. Thread-safe.
 */
final class LockTiming {
  private static final String PROPERTY = "berth.lock_timing";

  /** Whether the broker times its lock; fixed at class load. */
  static final boolean ENABLED = System.getProperty(PROPERTY, "").length() > 0;

  private static final Map<String, Stat> STATS = new ConcurrentHashMap<>();
  private static final StackWalker WALKER = StackWalker.getInstance();

  static {
    if (ENABLED) {
      Path file = Path.of(System.getProperty(PROPERTY));
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

  /** The broker method that runs the command: the first caller outside {@link BrokerState}. */
  static String caller() {
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

  static void record(String caller, long waitNanos, long holdNanos) {
    STATS.computeIfAbsent(caller, c -> new Stat()).add(waitNanos, holdNanos);
  }

  /** One line per command: count, hold mean / p50 / p99 / max, wait mean / p99 / max, in ns. */
  static String report() {
    List<Map.Entry<String, Stat>> rows = new ArrayList<>(STATS.entrySet());
    rows.sort((a, b) -> Long.compare(b.getValue().holdSum.sum(), a.getValue().holdSum.sum()));
    StringBuilder out =
        new StringBuilder(
            "command\tcount\thold_mean_ns\thold_p50_ns\thold_p99_ns\thold_max_ns"
                + "\twait_mean_ns\twait_p99_ns\twait_max_ns\thold_total_ms\twait_total_ms\n");
    for (Map.Entry<String, Stat> row : rows) {
      Stat s = row.getValue();
      long n = Math.max(1, s.count.sum());
      out.append(
          String.format(
              Locale.ROOT,
              "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f%n",
              row.getKey(),
              s.count.sum(),
              s.holdSum.sum() / n,
              s.hold.percentile(0.50),
              s.hold.percentile(0.99),
              s.holdMax.get(),
              s.waitSum.sum() / n,
              s.wait.percentile(0.99),
              s.waitMax.get(),
              s.holdSum.sum() / 1e6,
              s.waitSum.sum() / 1e6));
    }
    return out.toString();
  }

  private static final class Stat {
    final LongAdder count = new LongAdder();
    final LongAdder holdSum = new LongAdder();
    final LongAdder waitSum = new LongAdder();
    final LongAccumulator holdMax = new LongAccumulator(Math::max, 0);
    final LongAccumulator waitMax = new LongAccumulator(Math::max, 0);
    final Log2Histogram hold = new Log2Histogram();
    final Log2Histogram wait = new Log2Histogram();

    void add(long waitNanos, long holdNanos) {
      count.increment();
      holdSum.add(holdNanos);
      waitSum.add(waitNanos);
      holdMax.accumulate(holdNanos);
      waitMax.accumulate(waitNanos);
      hold.add(holdNanos);
      wait.add(waitNanos);
    }
  }

  /** Counts per power of two; a percentile is the upper bound of its bucket (within 2x). */
  private static final class Log2Histogram {
    final AtomicLongArray buckets = new AtomicLongArray(64);

    void add(long nanos) {
      buckets.incrementAndGet(64 - Long.numberOfLeadingZeros(Math.max(1, nanos)) - 1);
    }

    long percentile(double q) {
      long total = 0;
      for (int i = 0; i < 64; i++) {
        total += buckets.get(i);
      }
      long rank = (long) Math.ceil(q * total);
      long seen = 0;
      for (int i = 0; i < 64; i++) {
        seen += buckets.get(i);
        if (seen >= rank && seen > 0) {
          return (2L << i) - 1;
        }
      }
      return 0;
    }
  }
}
