package dev.berth.bench.suite;

import dev.berth.bench.suite.GoalResult.Target;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * G8, the broker's own work without a transport: JMH runs {@code BrokerCycleBench} (validate,
 * acquire, release with an outcome) and the rate-limit check next to Guava's {@code
 * RateLimiter.tryAcquire()} in one run (one fork, 3 x 1 s warm-up, 5 x 1 s measurement each). The
 * cycle is reported in nanoseconds (absolute), the rate check as a ratio to Guava, iteration by
 * iteration.
 */
final class Admission {
  private static final String RATE = "dev.berth.bench.RateLimitBench";
  private static final String CYCLE = "dev.berth.bench.BrokerCycleBench";

  private Admission() {}

  static List<GoalResult> jmh(boolean smoke) throws RunnerException {
    String cycleMetric = "broker cycle: validate, acquire, release (ns, absolute)";
    String rateMetric = "rate-limit check+take (locked) / Guava tryAcquire";
    if (smoke) {
      String why = "JMH is not part of --smoke (run bin/bench --only G8)";
      return List.of(
          GoalResult.skipped("G8", cycleMetric, CYCLE_TARGET, why),
          GoalResult.skipped("G8", rateMetric, RATE_TARGET, why));
    }
    Collection<RunResult> results =
        new Runner(
                new OptionsBuilder()
                    .include(
                        "^("
                            + RATE
                            + "\\.(hostRateLimiterHotHostLocked|guavaTryAcquire)|"
                            + CYCLE
                            + "\\.brokerAcquireRelease)$")
                    .forks(1)
                    .warmupIterations(3)
                    .warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5)
                    .measurementTime(TimeValue.seconds(1))
                    .timeUnit(TimeUnit.NANOSECONDS)
                    .verbosity(VerboseMode.SILENT)
                    .build())
            .run();
    Map<String, double[]> scores = new HashMap<>();
    for (RunResult r : results) {
      List<Double> it = new ArrayList<>();
      for (BenchmarkResult b : r.getBenchmarkResults()) {
        for (IterationResult i : b.getIterationResults()) {
          it.add(i.getPrimaryResult().getScore());
        }
      }
      scores.put(
          r.getParams().getBenchmark(), it.stream().mapToDouble(Double::doubleValue).toArray());
    }
    double[] cycle = scores.get(CYCLE + ".brokerAcquireRelease");
    if (cycle == null) {
      throw new IllegalStateException("JMH did not run " + CYCLE + ".brokerAcquireRelease");
    }
    return List.of(
        GoalResult.measured(
            "G8",
            cycleMetric,
            Spread.of(cycle),
            CYCLE_TARGET,
            "JMH average time per cycle, no transport: host rate limit, memory accounting and the"
                + " degradation monitor active"),
        row(rateMetric, scores, RATE + ".hostRateLimiterHotHostLocked", RATE + ".guavaTryAcquire"));
  }

  /** The broker's whole cycle in at most 1 µs. */
  private static final Target CYCLE_TARGET = Target.atMost(1_000);

  /** One rate check no dearer than Guava's {@code tryAcquire}. */
  private static final Target RATE_TARGET = Target.atMost(1.0);

  private static GoalResult row(
      String metric, Map<String, double[]> scores, String ours, String guava) {
    double[] a = scores.get(ours);
    double[] b = scores.get(guava);
    if (a == null || b == null) {
      throw new IllegalStateException("JMH did not run " + (a == null ? ours : guava));
    }
    String detail =
        String.format(
            Locale.ROOT,
            "JMH average time: ours %s ns/op, Guava %s ns/op",
            Report.number(Spread.of(a).median()),
            Report.number(Spread.of(b).median()));
    return GoalResult.measured("G8", metric, Spread.ratios(a, b), RATE_TARGET, detail);
  }
}
