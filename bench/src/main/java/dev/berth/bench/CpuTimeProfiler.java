package dev.berth.bench;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * A JMH profiler ({@code -prof dev.berth.bench.CpuTimeProfiler}) that reports the CPU time the
 * benchmark's JVM used per operation ({@code cpu.norm}, ns/op): all its threads, the benchmark's
 * and the broker's scheduler, the JIT and the collector included. On a machine shared with other
 * work, wall time per operation counts the time a thread waited for a CPU (or for a lock whose
 * holder waited for one); CPU time does not, so a before/after pair ({@code bin/bench-ab}) on a
 * loaded machine is read from this figure. Not thread-safe: JMH calls it from one thread.
 */
public final class CpuTimeProfiler implements InternalProfiler {
  private final OperatingSystemMXBean os =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private long cpuBefore;

  @Override
  public String getDescription() {
    return "CPU time of the whole benchmark JVM per operation";
  }

  @Override
  public void beforeIteration(BenchmarkParams benchmark, IterationParams iteration) {
    cpuBefore = os.getProcessCpuTime();
  }

  @Override
  public Collection<? extends Result<?>> afterIteration(
      BenchmarkParams benchmark, IterationParams iteration, IterationResult result) {
    long cpu = os.getProcessCpuTime() - cpuBefore;
    long ops = result.getMetadata().getMeasuredOps();
    if (ops <= 0) {
      return List.of();
    }
    return List.of(
        new ScalarResult("cpu.norm", (double) cpu / ops, "ns/op", AggregationPolicy.AVG));
  }
}
