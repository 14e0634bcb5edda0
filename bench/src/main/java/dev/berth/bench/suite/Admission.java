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
 * G6's in-process half: JMH runs the rate-limit check and the lease table's grant/release next to
 * Guava's {@code RateLimiter.tryAcquire()} in one run (one fork, 3 x 1 s warm-up, 5 x 1 s
 * measurement each), and each is reported as a ratio of average times, iteration by iteration.
 */
final class Admission {
  private static final String RATE = "dev.berth.bench.RateLimitBench";
  private static final String TABLE = "dev.berth.bench.LeaseTableBench";

  private Admission() {}

  static List<GoalResult> jmh(boolean smoke) throws RunnerException {
    Target target = Target.atMost(0.5);
    String rateMetric = "rate-limit check+take (locked) / Guava tryAcquire";
    String tableMetric = "lease table grant+release (locked) / Guava tryAcquire";
    if (smoke) {
      String why = "JMH is not part of --smoke (run bin/bench --only G6)";
      return List.of(
          GoalResult.skipped("G6", rateMetric, target, why),
          GoalResult.skipped("G6", tableMetric, target, why));
    }
    Collection<RunResult> results =
        new Runner(
                new OptionsBuilder()
                    .include(
                        "^("
                            + RATE
                            + "\\.(hostRateLimiterHotHostLocked|guavaTryAcquire)|"
                            + TABLE
                            + "\\.(leaseTableGrantRelease|guavaTryAcquire))$")
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
    return List.of(
        row(rateMetric, scores, RATE + ".hostRateLimiterHotHostLocked", RATE + ".guavaTryAcquire"),
        row(tableMetric, scores, TABLE + ".leaseTableGrantRelease", TABLE + ".guavaTryAcquire"));
  }

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
    return GoalResult.measured("G6", metric, Spread.ratios(a, b), Target.atMost(0.5), detail);
  }
}
