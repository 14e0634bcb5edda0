package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SuiteOptionsTest {
  @Test
  void parse_smokeThenRounds_smallSizesButExplicitRoundsWin() {
    SuiteOptions o = SuiteOptions.parse(List.of("--smoke", "--rounds", "4"));
    assertThat(o.smoke).isTrue();
    assertThat(o.rounds).isEqualTo(4);
    assertThat(o.sessions).isLessThan(1000);
    assertThat(o.round).isLessThan(Duration.ofSeconds(1));
  }

  @Test
  void parse_onlyList_goalsCaseInsensitive() {
    assertThat(SuiteOptions.parse(List.of("--only", "g1, G3")).only).containsExactly("G1", "G3");
  }

  @Test
  void parse_badOptions_refusedNamingOptionAndRule() {
    assertThatThrownBy(() -> SuiteOptions.parse(List.of("--only", "G8")))
        .hasMessageContaining("--only: unknown goal 'G8'");
    assertThatThrownBy(() -> SuiteOptions.parse(List.of("--rounds", "0")))
        .hasMessageContaining("--rounds: must be at least 1, got 0");
    assertThatThrownBy(() -> SuiteOptions.parse(List.of("--round", "5")))
        .hasMessageContaining("--round: must be a duration like 500ms, 5s or 2m, got '5'");
    assertThatThrownBy(() -> SuiteOptions.parse(List.of("--rounds")))
        .hasMessageContaining("--rounds: needs a value");
    assertThatThrownBy(() -> SuiteOptions.parse(List.of("--fast")))
        .hasMessageContaining("unknown option --fast");
  }

  @Test
  void duration_msSecondsMinutes_parsed() {
    assertThat(SuiteOptions.duration("--round", "250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(SuiteOptions.duration("--round", "1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(SuiteOptions.duration("--round", "2m")).isEqualTo(Duration.ofMinutes(2));
  }
}
