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
        .containsPattern("3 +the broker is unreachable")
        .containsPattern("4 +explain: an acquire now would be refused")
        .contains("worker", "help");
    assertThat(err()).isEmpty();
  }

  @Test
  void helpCommand_ofACommand_printsItsHelp() {
    assertThat(run("help", "limits", "set")).isZero();

    assertThat(out()).startsWith("usage: berth limits set [OPTIONS]").contains("--pressure-on");
  }

  @Test
  void commandHelpFlag_printsThatCommandsHelp() {
    assertThat(run("revoke", "--help")).isZero();

    assertThat(out()).startsWith("usage: berth revoke [OPTIONS] LEASE_ID").contains("--grace");
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

    assertThat(err())
        .isEqualTo(
            """
            berth: unknown command 'stauts' (did you mean status?)
            run 'berth --help' for usage
            """);
  }

  @Test
  void badBroker_exit2() {
    assertThat(run("--broker", "localhost", "status")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("berth: --broker: must be HOST:PORT").contains("'localhost'");
  }

  @Test
  void unixSocketBroker_exit2OneLineNoStackTrace() {
    assertThat(run("--broker", "unix:///tmp/x.sock", "status")).isEqualTo(ExitCode.USAGE);

    assertThat(err())
        .startsWith("berth: --broker: unix sockets are not supported\n")
        .doesNotContain("Exception");
  }

  @Test
  void zeroTimeout_exit2() {
    assertThat(run("--timeout", "0s", "status")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--timeout: must be more than zero");
  }

  @Test
  void durationInTheOneFormat_readAlikeEverywhere() {
    assertThat(run("revoke", "x", "--grace", "90")).isEqualTo(ExitCode.USAGE);
    assertThat(run("drain", "--deadline", "soon")).isEqualTo(ExitCode.USAGE);

    assertThat(err())
        .contains("berth: --grace: must be a duration like 500ms, 10s, 1m30s or 1h, got '90'")
        .contains("berth: --deadline: must be a duration like 500ms, 10s, 1m30s or 1h");
  }

  @Test
  void tokenOnTheCommandLine_refusedWithAdvice() {
    assertThat(run("--token", "s3cret", "status")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--token:").contains("BERTH_TOKEN").contains("--token-file");
    assertThat(err()).doesNotContain("s3cret");
  }

  @Test
  void tokenFileMissing_exit2NamingOptionAndFile() {
    assertThat(run("status", "--token-file", "/nonexistent/token")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("berth: --token-file: cannot read /nonexistent/token: no such file");
  }

  @Test
  void brokerListNamingOneTwice_exit2NamingIt() {
    assertThat(run("--broker", "a:7433,b:7433,a:7433", "status")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--broker").contains("names a:7433 twice");
  }

  @Test
  void brokerListNoneReachable_triesEachThenExit3() {
    // Ports 1 and 2 on loopback refuse connections at once.
    assertThat(run("--broker", "127.0.0.1:1,127.0.0.1:2", "--timeout", "5s", "status"))
        .isEqualTo(ExitCode.UNREACHABLE);

    assertThat(err()).startsWith("berth: ").contains("127.0.0.1:");
  }

  @Test
  void clusterTransfer_memberFails_notSentToTheNextOne() throws Exception {
    // Two "members" that accept and hang up on every connection: UNAVAILABLE without a leader
    // hint, after the call may have reached them. A transfer that failed so may still have moved
    // the leadership, so it is not sent on (a refused connection, which did nothing, would be).
    java.util.concurrent.atomic.AtomicInteger[] accepted = {
      new java.util.concurrent.atomic.AtomicInteger(),
      new java.util.concurrent.atomic.AtomicInteger()
    };
    java.net.ServerSocket[] members = new java.net.ServerSocket[2];
    try {
      for (int i = 0; i < 2; i++) {
        java.net.ServerSocket socket =
            new java.net.ServerSocket(
                0, 50, java.net.InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
        members[i] = socket;
        java.util.concurrent.atomic.AtomicInteger count = accepted[i];
        Thread t =
            new Thread(
                () -> {
                  while (!socket.isClosed()) {
                    try {
                      socket.accept().close(); // hang up at once
                      count.incrementAndGet();
                    } catch (java.io.IOException e) {
                      return;
                    }
                  }
                });
        t.setDaemon(true);
        t.start();
      }
      String brokers =
          "127.0.0.1:" + members[0].getLocalPort() + ",127.0.0.1:" + members[1].getLocalPort();

      run("--broker", brokers, "--timeout", "5s", "cluster", "transfer");
      int secondForTransfer = accepted[1].get();
      run("--broker", brokers, "--timeout", "5s", "status");

      assertThat(secondForTransfer).as("the transfer went to the second member").isZero();
      assertThat(accepted[1].get()).as("a read does go on to the next member").isPositive();
    } finally {
      for (java.net.ServerSocket socket : members) {
        if (socket != null) {
          socket.close();
        }
      }
    }
  }

  @Test
  void unknownOptionOfACommand_exit2NamingItAndTheCommand() {
    assertThat(run("status", "--kind", "render")).isEqualTo(ExitCode.USAGE);

    assertThat(err())
        .startsWith("berth: unknown option --kind for 'status'")
        .contains("run 'berth status --help' for usage");
  }

  @Test
  void commandOptionBeforeTheCommand_exit2SayingWhereItGoes() {
    assertThat(run("--worker", "w", "sessions")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("unknown option --worker").contains("after the command");
  }

  @Test
  void optionTwice_exit2() {
    assertThat(run("leases", "--kind", "pdf", "--kind", "render")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("berth: --kind given twice");
  }

  @Test
  void missingValueOrArgument_exit2NamingIt() {
    assertThat(run("sessions", "--worker")).isEqualTo(ExitCode.USAGE);
    assertThat(run("revoke")).isEqualTo(ExitCode.USAGE);
    assertThat(run("status", "now")).isEqualTo(ExitCode.USAGE);

    assertThat(err())
        .contains("berth: --worker needs a value")
        .contains("berth: 'revoke' needs LEASE_ID")
        .contains("berth: unexpected argument 'now'");
  }

  @Test
  void numbersOutOfRange_exit2NamingTheRange() {
    assertThat(run("watch", "--count", "0")).isEqualTo(ExitCode.USAGE);
    assertThat(run("watch", "--count", "ten")).isEqualTo(ExitCode.USAGE);
    assertThat(run("limits", "set", "--render", "-1")).isEqualTo(ExitCode.USAGE);
    assertThat(run("limits", "set", "--pdf", "1000001")).isEqualTo(ExitCode.USAGE);

    assertThat(err())
        .contains("berth: --count: must be at least 1, got 0")
        .contains("berth: --count: must be a whole number, got 'ten'")
        .contains("berth: --render: must be 0..1000000, got -1")
        .contains("berth: --pdf: must be 0..1000000, got 1000001");
  }

  @Test
  void limitsWithoutSet_exit2NamingTheSubcommand() {
    assertThat(run("limits", "--help")).isZero();
    assertThat(run("limits")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("berth limits set");
  }

  @Test
  void serve_pointsAtBinBerth() {
    assertThat(run("serve", "--listen", "0.0.0.0:7433")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("bin/berth");
  }

  @Test
  void helpOfAnUnknownCommand_exit2() {
    assertThat(run("help", "stauts")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("no command 'stauts'");
  }

  @Test
  void version_printsIt() {
    assertThat(run("--version")).isZero();

    assertThat(out()).startsWith("berth ");
  }

  @Test
  void explainWithoutSession_exit2PointingAtExplainHelp() {
    assertThat(run("explain", "--kind", "pdf")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("berth: --session is required").contains("berth explain --help");
  }

  @Test
  void explainUnknownKind_exit2ListingKinds() {
    assertThat(run("explain", "--kind", "gpu", "--session", "s")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("berth: --kind: must be one of render, pdf, wasm; got 'gpu'");
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

    assertThat(err())
        .contains("berth: --host: must be PATTERN=RATE[/BURST]")
        .contains("berth: --host: example.com: the rate must be a number")
        .contains("berth: --host: example.com: the burst must be a whole number");
  }

  @Test
  void drainSessionWithResume_exit2() {
    assertThat(run("drain", "abc", "--resume")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--resume lifts a broker-wide drain and takes no SESSION");
  }

  @Test
  void drainEmptySession_exit2NotTheWholeBroker() {
    // berth drain "$SID" with SID unset: nothing is sent (no broker listens here), exit 2.
    assertThat(run("--broker", "127.0.0.1:1", "drain", "")).isEqualTo(ExitCode.USAGE);
    assertThat(run("--broker", "127.0.0.1:1", "drain", " ", "--resume")).isEqualTo(ExitCode.USAGE);

    assertThat(err().lines())
        .containsExactly(
            "berth: SESSION: must not be empty; omit it to drain the whole broker",
            "run 'berth drain --help' for usage",
            "berth: SESSION: must not be empty; omit it to drain the whole broker",
            "run 'berth drain --help' for usage");
  }

  @Test
  void watchUnknownType_exit2() {
    assertThat(run("watch", "--type", "exploded")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("session_opened");
  }

  @Test
  void revokeUnknownReason_exit2() {
    assertThat(run("revoke", "abc", "--reason", "because")).isEqualTo(ExitCode.USAGE);

    assertThat(err()).contains("--reason: must be one of admin");
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
        .contains("--tls ", "--tls-ca=FILE", "--tls-cert=FILE", "--tls-key=FILE")
        .contains("--tls-server-name=NAME", "$BERTH_TLS_CA", "--token-file=FILE", "$BERTH_TOKEN")
        .doesNotContain("--token ");
  }
}
