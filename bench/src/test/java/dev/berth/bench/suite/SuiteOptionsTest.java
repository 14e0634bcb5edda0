package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.common.CommandLines;
import dev.berth.common.Durations;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SuiteOptionsTest {
  private static String error(String... args) {
    try {
      SuiteOptions.parse(List.of(args));
    } catch (CommandLine.ParameterException e) {
      return CommandLines.message(e);
    }
    throw new AssertionError("no usage error for " + List.of(args));
  }

  @Test
  void parse_nothing_fullSizes() {
    SuiteOptions o = SuiteOptions.parse(List.of());

    assertThat(o.smoke).isFalse();
    assertThat(o.only).containsExactlyElementsOf(SuiteOptions.DEFAULT_GOALS).doesNotContain("C1");
    assertThat(o.rounds).isEqualTo(5);
    assertThat(o.idle).isEqualTo(Duration.ofSeconds(10));
    assertThat(o.round).isEqualTo(Duration.ofSeconds(5));
    assertThat(o.sessions).isEqualTo(20_000);
    assertThat(o.spin).as("no spinning unless asked").isZero();
  }

  @Test
  void parse_warmup_extendsUntilTheJitSettles_butNotInASmokeRun() {
    SuiteOptions full = SuiteOptions.parse(List.of());
    assertThat(full.warmupMax).isEqualTo(Duration.ofSeconds(150));
    assertThat(full.jitSettled).isEqualTo(5.0);
    SuiteOptions smoke = SuiteOptions.parse(List.of("--smoke"));
    assertThat(smoke.warmupMax).isEqualTo(smoke.warmup);
    assertThat(SuiteOptions.parse(List.of("--warmup", "200s")).warmupMax)
        .isEqualTo(Duration.ofSeconds(200));

    assertThat(error("--warmup", "10s", "--warmup-max", "5s"))
        .contains("--warmup-max")
        .contains("at least --warmup");
    assertThat(error("--jit-settled", "0")).contains("--jit-settled").contains("above 0");
  }

  @Test
  void parse_spin_runsG1AlsoWithThatManySpinners() {
    assertThat(SuiteOptions.parse(List.of("--only", "G1", "--spin", "2")).spin).isEqualTo(2);
  }

  @Test
  void parse_smokeThenRounds_smallSizesButExplicitRoundsWin() {
    SuiteOptions o = SuiteOptions.parse(List.of("--smoke", "--rounds", "4"));
    assertThat(o.smoke).isTrue();
    assertThat(o.rounds).isEqualTo(4);
    assertThat(o.sessions).isLessThan(1000);
    assertThat(o.round).isLessThan(Duration.ofSeconds(1));
  }

  @Test
  void parse_roundsThenSmoke_explicitStillWins() {
    SuiteOptions o = SuiteOptions.parse(List.of("--round", "2s", "--smoke"));

    assertThat(o.round).isEqualTo(Duration.ofSeconds(2));
    assertThat(o.rounds).isEqualTo(1);
  }

  @Test
  void parse_clusterFlags_becomeDaemonFlagPairs_aFlagWithoutValueIsRefused() {
    SuiteOptions o =
        SuiteOptions.parse(
            List.of(
                "--only",
                "C1",
                "--cluster-flag",
                "cluster.journal.max_uncommitted_grants=64",
                "--cluster-flag",
                "cluster.journal.flush_interval=10ms"));

    assertThat(o.clusterFlags)
        .containsExactly(
            "--cluster.journal.max_uncommitted_grants",
            "64",
            "--cluster.journal.flush_interval",
            "10ms");
    assertThat(SuiteOptions.parse(List.of()).clusterFlags).isEmpty();
    assertThat(error("--cluster-flag", "cluster.journal.max_uncommitted_grants"))
        .contains("--cluster-flag")
        .contains("KEY=VALUE");
  }

  @Test
  void parse_serverFlags_becomeDaemonFlagPairs_apartFromTheClusters() {
    SuiteOptions o =
        SuiteOptions.parse(
            List.of("--server-flag", "metrics.listen=127.0.0.1:9464", "--cluster-flag", "a=b"));

    assertThat(o.serverFlags).containsExactly("--metrics.listen", "127.0.0.1:9464");
    assertThat(o.clusterFlags).containsExactly("--a", "b");
    assertThat(error("--server-flag", "=off")).contains("--server-flag").contains("KEY=VALUE");
  }

  @Test
  void parse_onlyClusterGoals_runOnlyWhenNamed() {
    assertThat(SuiteOptions.parse(List.of("--only", "c1,C3", "--idle", "2s")).only)
        .containsExactly("C1", "C3");
  }

  @Test
  void parse_idleWindows_defaultFourAndOneInSmoke() {
    assertThat(SuiteOptions.parse(List.of()).idleWindows).isEqualTo(4);
    assertThat(SuiteOptions.parse(List.of("--smoke")).idleWindows).isEqualTo(1);
    assertThat(SuiteOptions.parse(List.of("--idle-windows", "6")).idleWindows).isEqualTo(6);
  }

  @Test
  void parse_onlyList_goalsCaseInsensitive() {
    assertThat(SuiteOptions.parse(List.of("--only", "g1, G3")).only).containsExactly("G1", "G3");
  }

  @Test
  void parse_durations_inBerthsOneFormat() {
    assertThat(SuiteOptions.parse(List.of("--round", "250ms")).round)
        .isEqualTo(Duration.ofMillis(250));
    assertThat(SuiteOptions.parse(List.of("--round", "1s500ms")).round)
        .isEqualTo(Duration.ofMillis(1500));
    assertThat(SuiteOptions.parse(List.of("--warmup", "1m30s")).warmup)
        .isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void parse_badOptions_refusedNamingOptionAndRule() {
    assertThat(error("--only", "G10")).startsWith("--only: unknown goal 'G10'");
    assertThat(error("--rounds", "0")).isEqualTo("--rounds: must be at least 1, got 0");
    assertThat(error("--rounds", "many")).isEqualTo("--rounds: must be a whole number, got 'many'");
    assertThat(error("--round", "5")).isEqualTo("--round: " + Durations.RULE + ", got '5'");
    assertThat(error("--round", "0s")).startsWith("--round: must be more than zero");
    assertThat(error("--rounds")).isEqualTo("--rounds needs a value");
    assertThat(error("--fast")).startsWith("unknown option --fast");
  }

  @Test
  void help_formatsEveryDescription_withoutAPicocliWarning() {
    java.io.PrintStream err = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    String usage;
    System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      usage = SuiteOptions.commandLine().getUsageMessage();
    } finally {
      System.setErr(err);
    }

    // A lone % in a description is a format specifier to picocli: it warns and prints it raw.
    assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8)).isEmpty();
    assertThat(usage.replaceAll("\\s+", " ")).contains("at most this % of one core");
  }

  @Test
  void parse_help_flagged() {
    assertThat(SuiteOptions.parse(List.of("--help")).help).isTrue();
    assertThatThrownBy(() -> SuiteOptions.parse(List.of("--smoke", "extra")))
        .isInstanceOf(CommandLine.ParameterException.class);
  }
}
