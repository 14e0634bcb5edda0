package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandLineTest {
  private static CommandLine parse(String... args) {
    return CommandLine.parse(List.of(args));
  }

  private static UsageException usage(String... args) {
    UsageException e = catchThrowableOfType(UsageException.class, () -> parse(args));
    assertThat(e).as("usage error for %s", List.of(args)).isNotNull();
    return e;
  }

  @Test
  void parse_globalOptionsBeforeAndAfterCommand_bothTaken() {
    CommandLine line = parse("--broker", "10.0.0.1:7433", "status", "--json", "--timeout=3s");

    assertThat(line.command()).isEqualTo("status");
    assertThat(line.value("--broker", "")).isEqualTo("10.0.0.1:7433");
    assertThat(line.flag("--json")).isTrue();
    assertThat(line.duration("--timeout", null)).isEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void parse_revoke_leaseIdAndOptions() {
    CommandLine line = parse("revoke", "abc123", "--reason", "idle", "--grace", "1m30s");

    assertThat(line.command()).isEqualTo("revoke");
    assertThat(line.arg(0)).isEqualTo("abc123");
    assertThat(line.value("--reason", "")).isEqualTo("idle");
    assertThat(line.duration("--grace", null)).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void parse_limitsSet_twoWordCommandWithRepeatedHosts() {
    CommandLine line =
        parse("limits", "set", "--render", "16", "--host", "a.com=5/10", "--host=*.b.com=1");

    assertThat(line.command()).isEqualTo("limits set");
    assertThat(line.number("--render", 0, 100, -1)).isEqualTo(16);
    assertThat(line.values("--host")).containsExactly("a.com=5/10", "*.b.com=1");
  }

  @Test
  void parse_watchTypes_repeatedAndCommaSeparated() {
    CommandLine line = parse("watch", "--type", "granted,released", "--type", "refused");

    assertThat(line.values("--type")).containsExactly("granted", "released", "refused");
  }

  @Test
  void parse_drainWithoutSession_noArgs() {
    CommandLine line = parse("drain", "--resume");

    assertThat(line.args()).isEmpty();
    assertThat(line.flag("--resume")).isTrue();
  }

  @Test
  void parse_doubleDash_endsOptions() {
    CommandLine line = parse("revoke", "--", "--odd-id");

    assertThat(line.arg(0)).isEqualTo("--odd-id");
  }

  @Test
  void parse_noCommand_isHelp() {
    assertThat(parse("--json").command()).isEqualTo("help");
  }

  @Test
  void parse_helpFlagAnywhere_setsHelpEvenWithoutRequiredArgs() {
    CommandLine line = parse("revoke", "-h");

    assertThat(line.flag("--help")).isTrue();
    assertThat(line.command()).isEqualTo("revoke");
  }

  @Test
  void parse_unknownCommand_usageError() {
    assertThat(usage("stauts").getMessage()).contains("unknown command 'stauts'");
  }

  @Test
  void parse_serve_pointsAtBinBerth() {
    assertThat(usage("serve").getMessage()).contains("bin/berth");
  }

  @Test
  void parse_optionOfAnotherCommand_usageErrorNamingIt() {
    UsageException e = usage("status", "--kind", "render");

    assertThat(e.getMessage()).contains("--kind").contains("status");
    assertThat(e.command()).isEqualTo("status");
  }

  @Test
  void parse_commandOptionBeforeCommand_usageError() {
    assertThat(usage("--worker", "w", "sessions").getMessage()).contains("after the command");
  }

  @Test
  void parse_missingValue_usageError() {
    assertThat(usage("sessions", "--worker").getMessage()).isEqualTo("--worker needs a value");
  }

  @Test
  void parse_flagWithValue_usageError() {
    assertThat(usage("status", "--json=yes").getMessage()).contains("takes no value");
  }

  @Test
  void parse_optionTwice_usageError() {
    assertThat(usage("leases", "--kind", "pdf", "--kind", "render").getMessage())
        .contains("given twice");
  }

  @Test
  void parse_globalOptionTwice_lastWins() {
    CommandLine line = parse("--broker", "a:1", "status", "--broker", "b:2");

    assertThat(line.value("--broker", "")).isEqualTo("b:2");
  }

  @Test
  void parse_revokeWithoutLease_usageError() {
    assertThat(usage("revoke").getMessage()).contains("needs an argument");
  }

  @Test
  void parse_extraArgument_usageError() {
    assertThat(usage("status", "now").getMessage()).contains("unexpected argument 'now'");
  }

  @Test
  void parse_limitsWithoutSet_usageError() {
    assertThat(usage("limits", "--render", "3").getMessage()).contains("limits set");
  }

  @Test
  void number_outOfRangeOrNotANumber_usageError() {
    CommandLine line = parse("watch", "--count", "0");
    assertThat(catchThrowableOfType(UsageException.class, () -> line.number("--count", 1, 9, 0)))
        .hasMessageContaining("--count must be 1..9, got 0");
    CommandLine words = parse("watch", "--count", "ten");
    assertThat(catchThrowableOfType(UsageException.class, () -> words.number("--count", 1, 9, 0)))
        .hasMessageContaining("whole number");
  }

  @Test
  void duration_malformed_usageErrorNamingOption() {
    CommandLine line = parse("drain", "--deadline", "soon");

    assertThat(catchThrowableOfType(UsageException.class, () -> line.duration("--deadline", null)))
        .hasMessageStartingWith("--deadline must be a duration");
  }

  @Test
  void required_missing_usageError() {
    CommandLine line = parse("explain", "--kind", "pdf");

    assertThat(catchThrowableOfType(UsageException.class, () -> line.required("--session")))
        .hasMessage("--session is required");
  }
}
