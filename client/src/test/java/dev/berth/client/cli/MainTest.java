package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@code berth} does before it talks to a broker: help, usage errors and their exit code. */
class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Main.run(
        List.of(args),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8),
        Map.of(),
        Clock.systemUTC());
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void help_listsEveryCommandAndTheExitCodes() {
    assertThat(run("--help")).isZero();

    assertThat(out())
        .contains("serve", "status", "sessions", "leases", "revoke", "drain", "explain", "watch")
        .contains("limits set")
        .contains("exit codes:")
        .contains("3  the broker is unreachable")
        .contains("4  explain: an acquire now would be refused");
    assertThat(err()).isEmpty();
  }

  @Test
  void helpCommand_ofACommand_printsItsHelp() {
    assertThat(run("help", "limits", "set")).isZero();

    assertThat(out()).startsWith("usage: berth limits set");
  }

  @Test
  void commandHelpFlag_printsThatCommandsHelp() {
    assertThat(run("revoke", "--help")).isZero();

    assertThat(out()).startsWith("usage: berth revoke LEASE_ID");
  }

  @Test
  void noArguments_usageOnStderrExit2() {
    assertThat(run()).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("usage: berth");
    assertThat(out()).isEmpty();
  }

  @Test
  void unknownCommand_exit2WithAHint() {
    assertThat(run("stauts")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).isEqualTo("berth: unknown command 'stauts'\nrun 'berth --help' for usage\n");
  }

  @Test
  void badBroker_exit2() {
    assertThat(run("--broker", "localhost", "status")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--broker must be HOST:PORT");
  }

  @Test
  void zeroTimeout_exit2() {
    assertThat(run("--timeout", "0s", "status")).isEqualTo(ExitCode.USAGE);
  }

  @Test
  void explainWithoutSession_exit2PointingAtExplainHelp() {
    assertThat(run("explain", "--kind", "pdf")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--session is required").contains("berth explain --help");
  }

  @Test
  void explainUnknownKind_exit2ListingKinds() {
    assertThat(run("explain", "--kind", "gpu", "--session", "s")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("render, pdf, wasm");
  }

  @Test
  void limitsSetNothing_exit2() {
    assertThat(run("limits", "set")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("nothing to change");
  }

  @Test
  void limitsSetHalfAPressurePair_exit2() {
    assertThat(run("limits", "set", "--pressure-on", "0.9")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("go together");
  }

  @Test
  void limitsSetMalformedHost_exit2() {
    assertThat(run("limits", "set", "--host", "example.com")).isEqualTo(ExitCode.USAGE);
    assertThat(run("limits", "set", "--host", "example.com=fast")).isEqualTo(ExitCode.USAGE);
    assertThat(run("limits", "set", "--host", "example.com=2/0")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("PATTERN=RATE[/BURST]").contains("rate must be").contains("burst");
  }

  @Test
  void drainSessionWithResume_exit2() {
    assertThat(run("drain", "abc", "--resume")).isEqualTo(ExitCode.USAGE);
  }

  @Test
  void watchUnknownType_exit2() {
    assertThat(run("watch", "--type", "exploded")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("session_opened");
  }

  @Test
  void revokeUnknownReason_exit2() {
    assertThat(run("revoke", "abc", "--reason", "because")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("admin");
  }

  @Test
  void target_acceptsHostPortIpv6AndUris() {
    assertThat(Main.target("127.0.0.1:7433")).isEqualTo("127.0.0.1:7433");
    assertThat(Main.target("[::1]:7433")).isEqualTo("[::1]:7433");
    assertThat(Main.target("broker.internal:7433")).isEqualTo("broker.internal:7433");
    assertThat(Main.target("dns:///broker.internal:7433")).isEqualTo("dns:///broker.internal:7433");
  }

  @Test
  void tlsCaMissingFile_exit2NamingFlagAndFile() {
    assertThat(run("--tls-ca", "/nonexistent/ca.pem", "status")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("berth: --tls-ca: cannot read /nonexistent/ca.pem: no such file");
  }

  @Test
  void tlsCertWithoutKey_exit2NamingBoth() {
    assertThat(run("status", "--tls-cert", "c.pem")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--tls-cert needs --tls-key");
  }

  @Test
  void tlsKeyFromEnvironmentWithoutCert_exit2() {
    int code =
        Main.run(
            List.of("status"),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            Map.of("BERTH_TLS_KEY", "k.pem"),
            Clock.systemUTC());

    assertThat(code).isEqualTo(ExitCode.USAGE);
    assertThat(err()).contains("--tls-key needs --tls-cert");
  }

  @Test
  void help_listsTheTlsOptions() {
    assertThat(run("--help")).isZero();

    assertThat(out())
        .contains("--tls ", "--tls-ca FILE", "--tls-cert FILE", "--tls-key FILE")
        .contains("--tls-server-name NAME", "$BERTH_TLS_CA");
  }
}
