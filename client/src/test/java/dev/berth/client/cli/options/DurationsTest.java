package dev.berth.client.cli.options;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
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
