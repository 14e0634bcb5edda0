package dev.berth.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

class DurationConverterTest {
  @Command(name = "probe")
  static final class Probe {
    @Option(names = "--grace", converter = DurationConverter.class)
    Duration grace;

    @Option(names = "--timeout", converter = DurationConverter.Positive.class)
    Duration timeout;
  }

  private static Probe parse(String... args) {
    Probe probe = new Probe();
    new CommandLine(probe).parseArgs(args);
    return probe;
  }

  @Test
  void convert_compoundAndIso_readAlike() {
    assertThat(parse("--grace", "1m30s").grace).isEqualTo(Duration.ofSeconds(90));
    assertThat(parse("--grace=PT1M30S").grace).isEqualTo(Duration.ofSeconds(90));
    assertThat(parse("--grace", "0s").grace).isZero();
    assertThat(parse("--timeout", "250ms").timeout).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void convert_malformed_errorNamesOptionAndRule() {
    assertThatThrownBy(() -> parse("--grace", "90"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--grace")
        .hasMessageContaining(Durations.RULE + ", got '90'");
  }

  @Test
  void convert_negative_refused() {
    assertThatThrownBy(() -> parse("--grace", "-PT1S"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("must not be negative, got '-PT1S'");
  }

  @Test
  void positive_zero_refused() {
    assertThatThrownBy(() -> parse("--timeout", "0s"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--timeout")
        .hasMessageContaining("must be more than zero, got '0s'");
  }

  /** A timeout of 999999999d overflowed when a command turned it into nanoseconds. */
  @Test
  void convert_longerThanTenYears_refusedNamingTheOption() {
    assertThatThrownBy(() -> parse("--timeout", "999999999d"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--timeout")
        .hasMessageContaining("must be at most 3650d (ten years), got '999999999d'");
    assertThat(parse("--timeout", "3650d").timeout).isEqualTo(Durations.MAX);
  }

  @Test
  void convert_partOfAMillisecond_refused() {
    assertThatThrownBy(() -> parse("--timeout", "PT0.0001S"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("must be whole milliseconds, got 'PT0.0001S'");
  }
}
