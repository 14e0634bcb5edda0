package dev.berth.bench.suite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * CPU the JIT compilers of the suite's server processes used since the last look: the user plus
 * system time of the threads HotSpot names {@code C1 CompilerThread…} and {@code C2
 * CompilerThread…} (15 characters of it in {@code /proc/<pid>/task/<tid>/stat}), in every child
 * process of this JVM (the bench servers; an etcd has no such threads).
 *
 * <p>The warm-up runs until this falls low: a server still compiling what the load runs spends a
 * large share of its CPU on it (on two cores, 40 % of a core for 25 s in a lone broker and for 75 s
 * in each member of a three-broker cluster), which would count as the cost of the operations.
 *
 * <p>Not thread-safe: one warm-up at a time reads it.
 */
final class JitCpu {
  private final Path proc;
  private final Supplier<List<Long>> pids;

  /** Last ticks seen per {@code pid/tid} of a compiler thread. */
  private final Map<String, Long> seen = new HashMap<>();

  /** Watches the compiler threads of this JVM's child processes. */
  JitCpu() {
    this(
        Path.of("/proc"),
        () -> ProcessHandle.current().children().map(ProcessHandle::pid).toList());
  }

  /** Watches the compiler threads of {@code pids}, read under {@code proc} (tests: a fake tree). */
  JitCpu(Path proc, Supplier<List<Long>> pids) {
    this.proc = proc;
    this.pids = pids;
  }

  /**
   * Microseconds of CPU the compiler threads used since the previous call (the first call counts
   * everything they used so far). A compiler thread that ended between calls loses its last part; a
   * new one counts from its start.
   */
  long sinceLastMicros() {
    long ticks = 0;
    Map<String, Long> now = new HashMap<>();
    for (long pid : pids.get()) {
      Path tasks = proc.resolve(Long.toString(pid)).resolve("task");
      List<Path> threads;
      try (Stream<Path> s = Files.list(tasks)) {
        threads = s.toList();
      } catch (IOException gone) {
        continue; // the process ended
      }
      for (Path t : threads) {
        String line;
        try {
          line = Files.readString(t.resolve("stat"));
        } catch (IOException gone) {
          continue; // the thread ended
        }
        if (!isCompiler(line)) {
          continue;
        }
        String key = pid + "/" + t.getFileName();
        long used = ProcStat.cpuTicks(line);
        now.put(key, used);
        ticks += Math.max(0, used - seen.getOrDefault(key, 0L));
      }
    }
    seen.clear();
    seen.putAll(now);
    return ticks * 1_000_000 / ProcStat.TICKS_PER_SECOND;
  }

  /** Whether a {@code stat} line is a HotSpot JIT compiler thread's. */
  static boolean isCompiler(String statLine) {
    int open = statLine.indexOf('(');
    return open >= 0
        && (statLine.startsWith("C1 CompilerThre", open + 1)
            || statLine.startsWith("C2 CompilerThre", open + 1));
  }
}
