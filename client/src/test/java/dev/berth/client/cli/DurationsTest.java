package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void parse_unitsAndCompounds() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("2d")).isEqualTo(Duration.ofDays(2));
    assertThat(Durations.parse("0s")).isZero();
  }

  @Test
  void parse_malformed_rejected() {
    for (String bad : new String[] {"", "10", "s", "1.5s", "-1s", "10 s", "1x", "1h 30m"}) {
      assertThatThrownBy(() -> Durations.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("duration");
    }
  }

  @Test
  void format_shortHumanForms() {
    assertThat(Durations.format(Duration.ZERO)).isEqualTo("0s");
    assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1.5s");
    assertThat(Durations.format(Duration.ofSeconds(5))).isEqualTo("5s");
    assertThat(Durations.format(Duration.ofSeconds(42))).isEqualTo("42s");
    assertThat(Durations.format(Duration.ofSeconds(245))).isEqualTo("4m05s");
    assertThat(Durations.format(Duration.ofMinutes(123))).isEqualTo("2h03m");
    assertThat(Durations.format(Duration.ofHours(50))).isEqualTo("2d02h");
    assertThat(Durations.format(Duration.ofNanos(10))).isEqualTo("<1ms");
  }
}
