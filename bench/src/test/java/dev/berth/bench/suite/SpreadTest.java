package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SpreadTest {
  @Test
  void of_oddCount_medianIsTheMiddleValue() {
    assertThat(Spread.of(5, 1, 3)).isEqualTo(new Spread(3, 1, 5));
  }

  @Test
  void of_evenCount_medianAveragesTheTwoMiddleValues() {
    assertThat(Spread.of(4, 1, 2, 10)).isEqualTo(new Spread(3, 1, 10));
  }

  @Test
  void of_callersArray_isNotReordered() {
    double[] v = {3, 1, 2};
    Spread.of(v);
    assertThat(v).containsExactly(3, 1, 2);
  }

  @Test
  void ratios_perRound_dividedRoundByRoundThenSummarised() {
    Spread s = Spread.ratios(new double[] {2, 9, 4}, new double[] {1, 10, 2});
    assertThat(s.median()).isEqualTo(2.0);
    assertThat(s.min()).isEqualTo(0.9);
    assertThat(s.max()).isEqualTo(2.0);
  }

  @Test
  void ofAndRatios_badInput_refusedNamingTheProblem() {
    assertThatThrownBy(Spread::of).hasMessageContaining("at least one round");
    assertThatThrownBy(() -> Spread.of(1, Double.NaN)).hasMessageContaining("NaN");
    assertThatThrownBy(() -> Spread.ratios(new double[] {1}, new double[] {1, 2}))
        .hasMessageContaining("1 measured vs 2 baseline");
    assertThatThrownBy(() -> Spread.ratios(new double[] {1}, new double[] {0}))
        .hasMessageContaining("baseline[0]: must be > 0");
  }
}
