package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.bench.suite.Schedule.Step;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleTest {
  @Test
  void interleaved_twoVariants_warmUpsThenABAB() {
    assertThat(Schedule.interleaved(List.of("A", "B"), 3))
        .containsExactly(
            new Step("A", 0, true),
            new Step("B", 0, true),
            new Step("A", 1, false),
            new Step("B", 1, false),
            new Step("A", 2, false),
            new Step("B", 2, false),
            new Step("A", 3, false),
            new Step("B", 3, false));
  }

  @Test
  void interleaved_threeVariants_keepGivenOrderInEachRound() {
    List<String> round1 =
        Schedule.interleaved(List.of("x", "y", "z"), 2).stream()
            .filter(s -> s.round() == 1)
            .map(Step::variant)
            .toList();
    assertThat(round1).containsExactly("x", "y", "z");
  }

  @Test
  void interleaved_nothingToRun_refused() {
    assertThatThrownBy(() -> Schedule.interleaved(List.of(), 1)).hasMessageContaining("variants");
    assertThatThrownBy(() -> Schedule.interleaved(List.of("A"), 0))
        .hasMessageContaining("rounds: must be at least 1, got 0");
  }
}
