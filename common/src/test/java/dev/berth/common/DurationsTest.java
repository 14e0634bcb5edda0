package dev.berth.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

  @ParameterizedTest
  @CsvSource({
    "250ms, PT0.25S",
    "10s, PT10S",
    "1m30s, PT1M30S",
    "2h, PT2H",
    "1d12h, PT36H",
    "1h2m3s4ms, PT1H2M3.004S",
    "' 5m ', PT5M",
    "0s, PT0S",
    "PT1.5S, PT1.5S",
    "pt2m, PT2M"
  })
  void parse_operatorForms_readAsWritten(String text, String iso) {
    assertThat(Durations.parse(text)).isEqualTo(Duration.parse(iso));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "10", "s", "10x", "1.5s", "-1s", "30s1m", "1m1m", "10 s", "PTX"})
  void parse_malformed_namesTheRule(String text) {
    assertThatThrownBy(() -> Durations.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(Durations.RULE + ", got '" + text + "'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"999999999999999999d", "106751991167299d99999999999h"})
  void parse_overflow_saysTooLong(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).hasMessageStartingWith("is too long");
  }

  @ParameterizedTest
  @CsvSource({"PT0S, 0s", "PT0.25S, 250ms", "PT90S, 1m30s", "PT36H, 1d12h", "PT1.5S, 1s500ms"})
  void format_exactForms(String iso, String text) {
    assertThat(Durations.format(Duration.parse(iso))).isEqualTo(text);
  }

  @Property
  void format_thenParse_roundTrips(@ForAll @LongRange(min = 0, max = 1L << 45) long millis) {
    Duration d = Duration.ofMillis(millis);
    assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
  }
}
