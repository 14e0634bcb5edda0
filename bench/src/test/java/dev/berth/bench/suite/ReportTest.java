package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.bench.suite.GoalResult.Target;
import dev.berth.bench.suite.GoalResult.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTest {
  private final GoalResult pass =
      GoalResult.measured("G2", "throughput", new Spread(0.95, 0.9, 1.0), Target.atLeast(0.9), "d");
  private final GoalResult miss =
      GoalResult.measured("G1", "p50", new Spread(1.2, 1.1, 1.3), Target.atMost(1.05), "");
  private final GoalResult skipped =
      GoalResult.skipped("G3", "vs etcd", Target.atLeast(10), "etcd not found");

  @Test
  void verdict_medianAgainstTarget_passMissOrSkipped() {
    assertThat(pass.verdict()).isEqualTo(Verdict.PASS);
    assertThat(miss.verdict()).isEqualTo(Verdict.MISS);
    assertThat(skipped.verdict()).isEqualTo(Verdict.SKIPPED);
    // the best round meeting the target is not enough
    GoalResult bestRoundOnly =
        GoalResult.measured("G1", "p50", new Spread(1.2, 1.0, 1.3), Target.atMost(1.05), "");
    assertThat(bestRoundOnly.verdict()).isEqualTo(Verdict.MISS);
    assertThat(Target.atMost(1.05).met(1.05)).isTrue();
    assertThat(Target.atLeast(0.9).met(0.9)).isTrue();
  }

  @Test
  void number_anyMagnitude_threeSignificantFigures() {
    assertThat(Report.number(1234.6)).isEqualTo("1235");
    assertThat(Report.number(12.345)).isEqualTo("12.3");
    assertThat(Report.number(1.05)).isEqualTo("1.05");
    assertThat(Report.number(0.0123456)).isEqualTo("0.0123");
    assertThat(Report.number(0)).isEqualTo("0");
    assertThat(Report.spread(new Spread(1.02, 0.98, 1.1))).isEqualTo("1.02 (0.980-1.10)");
  }

  @Test
  void text_missAndSkipped_alignedColumnsWithTheReason() {
    String text = Report.text(List.of(miss, skipped));
    List<String> lines = text.lines().toList();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).startsWith("goal  metric");
    assertThat(lines.get(1)).contains("1.20 (1.10-1.30)").contains("<= 1.05").contains("MISS");
    assertThat(lines.get(2)).contains("SKIPPED").endsWith("etcd not found");
    int verdictColumn = lines.get(0).indexOf("verdict");
    assertThat(lines.get(1).indexOf("MISS")).isEqualTo(verdictColumn);
    assertThat(lines.get(2).indexOf("SKIPPED")).isEqualTo(verdictColumn);
  }

  @Test
  void markdown_twoGoals_oneRowEach() {
    assertThat(Report.markdown(List.of(pass, miss)))
        .isEqualTo(
            """
            | goal | metric | ratio median (min-max) | target | verdict | detail |
            |---|---|---|---|---|---|
            | G2 | throughput | 0.950 (0.900-1.00) | >= 0.900 | PASS | d |
            | G1 | p50 | 1.20 (1.10-1.30) | <= 1.05 | MISS |  |
            """);
  }
}
