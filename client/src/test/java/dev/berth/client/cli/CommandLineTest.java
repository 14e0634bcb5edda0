package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.cli.options.ConnectionOptions;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.HostRate;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.RevokeReason;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/** Where each part of a {@code berth} command line lands, read by picocli as {@code berth} does. */
class CommandLineTest {
  private static final PrintStream SINK =
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

  /** The command object the line selects, its options filled in. */
  private static <T> T parse(Class<T> type, String... args) {
    CommandLine line = Berth.commandLine(SINK, SINK, Map.of(), Clock.systemUTC(), false);
    ParseResult result = line.parseArgs(args);
    while (result.hasSubcommand()) {
      result = result.subcommand();
    }
    return type.cast(result.commandSpec().userObject());
  }

  private static ConnectionOptions.Settings settings(
      Commands.AdminCommand command, Map<String, String> env) {
    return command.connection.resolve(env);
  }

  @Test
  void parse_connectionOptionsBeforeAndAfterCommand_bothTaken() {
    Commands.Status status =
        parse(Commands.Status.class, "--broker", "10.0.0.1:7433", "status", "--timeout=3s");

    ConnectionOptions.Settings settings = settings(status, Map.of());
    assertThat(settings.target()).isEqualTo("10.0.0.1:7433");
    assertThat(settings.timeout()).isEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void parse_sameOptionBeforeAndAfter_theCommandsWins() {
    Commands.Status status =
        parse(Commands.Status.class, "--broker", "a:1", "status", "--broker", "b:2");

    assertThat(settings(status, Map.of()).target()).isEqualTo("b:2");
  }

  @Test
  void parse_nothingGiven_environmentThenDefaults() {
    Commands.Status status = parse(Commands.Status.class, "status");

    assertThat(settings(status, Map.of()).target()).isEqualTo("127.0.0.1:7433");
    assertThat(settings(status, Map.of()).timeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(settings(status, Map.of("BERTH_BROKER", "[::1]:9000")).target())
        .isEqualTo("[::1]:9000");
  }

  @Test
  void parse_revoke_leaseIdAndOptions() {
    Commands.Revoke revoke =
        parse(Commands.Revoke.class, "revoke", "abc123", "--reason", "idle", "--grace", "1m30s");

    assertThat(revoke.leaseId).isEqualTo("abc123");
    assertThat(revoke.reason).isEqualTo(RevokeReason.REVOKE_REASON_IDLE);
    assertThat(revoke.grace).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void parse_limitsSet_twoWordCommandWithRepeatedHosts() {
    Commands.LimitsSet set =
        parse(
            Commands.LimitsSet.class,
            "limits",
            "set",
            "--render",
            "16",
            "--host",
            "a.com=5/10",
            "--host=*.b.com=1");

    assertThat(set.render).isEqualTo(16);
    assertThat(set.hosts)
        .extracting(HostRate::getPattern, HostRate::getRatePerSecond, HostRate::getBurst)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("a.com", 5.0, 10),
            org.assertj.core.groups.Tuple.tuple("*.b.com", 1.0, 0));
  }

  @Test
  void parse_watchTypes_repeatedAndCommaSeparated() {
    Commands.Watch watch =
        parse(Commands.Watch.class, "watch", "--type", "granted,released", "--type", "refused");

    assertThat(watch.types)
        .containsExactly(
            BrokerEventType.BROKER_EVENT_TYPE_GRANTED,
            BrokerEventType.BROKER_EVENT_TYPE_RELEASED,
            BrokerEventType.BROKER_EVENT_TYPE_REFUSED);
  }

  @Test
  void parse_drainWithoutSession_noArgs() {
    Commands.Drain drain = parse(Commands.Drain.class, "drain", "--resume");

    assertThat(drain.session).isNull();
    assertThat(drain.resume).isTrue();
  }

  @Test
  void parse_doubleDash_endsOptions() {
    Commands.Revoke revoke = parse(Commands.Revoke.class, "revoke", "--", "--odd-id");

    assertThat(revoke.leaseId).isEqualTo("--odd-id");
  }

  @Test
  void parse_kindInAnyCaseWithOrWithoutPrefix() {
    Commands.Leases upper = parse(Commands.Leases.class, "leases", "--kind", "PDF");
    Commands.Leases prefixed =
        parse(Commands.Leases.class, "leases", "--kind", "resource_kind_wasm");

    assertThat(upper.kind).isEqualTo(ResourceKind.RESOURCE_KIND_PDF);
    assertThat(prefixed.kind).isEqualTo(ResourceKind.RESOURCE_KIND_WASM);
  }
}
