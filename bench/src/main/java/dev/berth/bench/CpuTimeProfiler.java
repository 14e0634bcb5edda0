package dev.berth.bench;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * A JMH profiler ({@code -prof dev.berth.bench.CpuTimeProfiler}) that reports CPU time per
 * operation: {@code cpu.norm}, the CPU time of the benchmark's own threads (JMH's workers), and
 * {@code cpu.process.norm}, that of the whole JVM (the broker's scheduler, the JIT and the
 * collector too), both in ns/op. On a machine shared with other work, wall time per operation
 * counts the time a thread waited for a CPU (or for a lock whose holder waited for one); CPU time
 * does not, so a before/after pair ({@code bin/bench-ab}) on a loaded machine is read from these.
 * Not thread-safe: JMH calls it from one thread.
 */
public final class CpuTimeProfiler implements InternalProfiler {
  private final OperatingSystemMXBean os =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private long processBefore;
  private Map<Long, Long> workersBefore = Map.of();

  @Override
  public String getDescription() {
    return "CPU time per operation: the benchmark threads' and the whole JVM's";
  }

  @Override
  public void beforeIteration(BenchmarkParams benchmark, IterationParams iteration) {
    workersBefore = workerCpu();
    processBefore = os.getProcessCpuTime();
  }

  @Override
  public Collection<? extends Result<?>> afterIteration(
      BenchmarkParams benchmark, IterationParams iteration, IterationResult result) {
    long process = os.getProcessCpuTime() - processBefore;
    long workers = 0;
    for (Map.Entry<Long, Long> now : workerCpu().entrySet()) {
      workers += now.getValue() - workersBefore.getOrDefault(now.getKey(), 0L);
    }
    long ops = result.getMetadata().getMeasuredOps();
    if (ops <= 0) {
      return List.of();
    }
    return List.of(
        new ScalarResult("cpu.norm", (double) workers / ops, "ns/op", AggregationPolicy.AVG),
        new ScalarResult(
            "cpu.process.norm", (double) process / ops, "ns/op", AggregationPolicy.AVG));
  }

  /** CPU time so far of each JMH worker thread (named "...-jmh-worker-N"), by thread id. */
  private Map<Long, Long> workerCpu() {
    Map<Long, Long> cpu = new HashMap<>();
    for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null && info.getThreadName().contains("-jmh-worker-")) {
        long t = threads.getThreadCpuTime(info.getThreadId());
        if (t >= 0) {
          cpu.put(info.getThreadId(), t);
        }
      }
    }
    return cpu;
  }
}
