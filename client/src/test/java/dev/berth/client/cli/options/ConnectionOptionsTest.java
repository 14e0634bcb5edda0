package dev.berth.client.cli.options;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.common.CommandLines;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParameterException;

/** The shared connection options: flags, then the environment, then defaults; the token's rules. */
class ConnectionOptionsTest {
  @TempDir Path dir;

  @Command(name = "probe")
  static final class Probe {
    @Mixin ConnectionOptions connection;
  }

  private static ConnectionOptions.Settings resolve(Map<String, String> env, String... args) {
    Probe probe = new Probe();
    new CommandLine(probe).parseArgs(args);
    return probe.connection.resolve(env);
  }

  private static String error(Map<String, String> env, String... args) {
    try {
      resolve(env, args);
    } catch (ParameterException e) {
      return CommandLines.message(e);
    }
    throw new AssertionError("no usage error for " + String.join(" ", args) + " with " + env);
  }

  @Test
  void resolve_nothingGiven_plaintextLoopbackNoToken() {
    ConnectionOptions.Settings s = resolve(Map.of());

    assertThat(s.target()).isEqualTo("127.0.0.1:7433");
    assertThat(s.tls()).isNull();
    assertThat(s.token()).isNull();
    assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void resolve_environment_givesEveryDefault() {
    Map<String, String> env =
        Map.of(
            "BERTH_BROKER", "broker.internal:7433",
            "BERTH_TIMEOUT", "1m30s",
            "BERTH_TLS", "1",
            "BERTH_TLS_SERVER_NAME", "berth-1",
            "BERTH_TOKEN", "  s3cret\n");

    ConnectionOptions.Settings s = resolve(env);

    assertThat(s.target()).isEqualTo("broker.internal:7433");
    assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(s.tls()).isNotNull();
    assertThat(s.tls().serverName()).contains("berth-1");
    assertThat(s.token()).isEqualTo("s3cret");
  }

  @Test
  void resolve_flagsWinOverTheEnvironment() {
    ConnectionOptions.Settings s =
        resolve(
            Map.of("BERTH_BROKER", "env:1", "BERTH_TIMEOUT", "5s", "BERTH_TLS_CA", "env-ca.pem"),
            "--broker",
            "flag:2",
            "--timeout",
            "250ms",
            "--tls-ca",
            "flag-ca.pem");

    assertThat(s.target()).isEqualTo("flag:2");
    assertThat(s.timeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(s.tls().trustedCertificates()).contains(Path.of("flag-ca.pem"));
  }

  @Test
  void resolve_badEnvironmentValue_namesTheVariable() {
    assertThat(error(Map.of("BERTH_BROKER", "[::1:7433")))
        .startsWith("BERTH_BROKER: must be HOST:PORT")
        .endsWith("got '[::1:7433'");
    assertThat(error(Map.of("BERTH_TIMEOUT", "10")))
        .startsWith("BERTH_TIMEOUT: must be a duration");
    assertThat(error(Map.of("BERTH_TLS", "maybe")))
        .isEqualTo("BERTH_TLS: must be 1 or 0 (true or false), got 'maybe'");
  }

  @Test
  void resolve_emptyVariables_countAsUnset() {
    assertThat(resolve(Map.of("BERTH_BROKER", "", "BERTH_TOKEN", " ", "BERTH_TLS", "")).tls())
        .isNull();
  }

  @Test
  void resolve_anyTlsOption_impliesTls() {
    assertThat(resolve(Map.of(), "--tls").tls().trustedCertificates()).isEmpty();
    assertThat(resolve(Map.of(), "--tls-server-name", "b.internal").tls().serverName())
        .contains("b.internal");
    assertThat(resolve(Map.of("BERTH_TLS", "0")).tls()).isNull();
  }

  @Test
  void resolve_certWithoutKey_namesBothOptions() {
    assertThat(error(Map.of(), "--tls-cert", "c.pem"))
        .isEqualTo("--tls-cert needs --tls-key (the certificate's private key)");
    assertThat(error(Map.of("BERTH_TLS_KEY", "k.pem")))
        .isEqualTo("--tls-key needs --tls-cert (the certificate of the key)");
  }

  @Test
  void resolve_badServerName_namesTheOption() {
    assertThat(error(Map.of(), "--tls-server-name", "a b"))
        .startsWith("--tls-server-name: must be a host name or IP address");
  }

  @Test
  void resolve_tokenFile_readAndTrimmed() throws Exception {
    Path file = Files.writeString(dir.resolve("token"), "\n  t0ken-1 \n", StandardCharsets.UTF_8);

    assertThat(resolve(Map.of(), "--token-file", file.toString()).token()).isEqualTo("t0ken-1");
    assertThat(resolve(Map.of("BERTH_TOKEN_FILE", file.toString())).token()).isEqualTo("t0ken-1");
  }

  @Test
  void resolve_tokenFileFlag_winsOverBothVariables() throws Exception {
    Path file = Files.writeString(dir.resolve("token"), "from-file");

    ConnectionOptions.Settings s =
        resolve(
            Map.of("BERTH_TOKEN", "from-env", "BERTH_TOKEN_FILE", "/nonexistent"),
            "--token-file",
            file.toString());

    assertThat(s.token()).isEqualTo("from-file");
  }

  @Test
  void resolve_bothTokenVariables_refused() {
    assertThat(error(Map.of("BERTH_TOKEN", "a", "BERTH_TOKEN_FILE", "/b")))
        .startsWith("BERTH_TOKEN and BERTH_TOKEN_FILE are both set");
  }

  @Test
  void resolve_unusableTokenFile_namesOptionAndFile() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty"), " \n");
    Path twoLines = Files.writeString(dir.resolve("two"), "a\nb\n");
    Path missing = dir.resolve("missing");

    assertThat(error(Map.of(), "--token-file", missing.toString()))
        .isEqualTo("--token-file: cannot read " + missing + ": no such file");
    assertThat(error(Map.of(), "--token-file", empty.toString()))
        .startsWith("--token-file: " + empty + " is empty");
    assertThat(error(Map.of(), "--token-file", twoLines.toString()))
        .startsWith("--token-file: " + twoLines + " holds more than one line");
    Path control = Files.writeString(dir.resolve("control"), "t\u0001ken\n");
    Path accented = Files.writeString(dir.resolve("accented"), "tökén\n", StandardCharsets.UTF_8);
    assertThat(error(Map.of(), "--token-file", control.toString()))
        .isEqualTo(
            "--token-file: "
                + control
                + " holds a character a token cannot carry; it must be printable ASCII");
    assertThat(error(Map.of(), "--token-file", accented.toString()))
        .startsWith("--token-file: " + accented + " holds a character");
    assertThat(error(Map.of("BERTH_TOKEN", "t\u0007k")))
        .isEqualTo("BERTH_TOKEN: must be one line of printable ASCII text");
    assertThat(error(Map.of("BERTH_TOKEN_FILE", missing.toString())))
        .isEqualTo("BERTH_TOKEN_FILE: cannot read " + missing + ": no such file");
  }

  @Test
  void resolve_unreadableTokenFile_saysPermissionDenied() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "t");
    Files.setPosixFilePermissions(
        secret, java.nio.file.attribute.PosixFilePermissions.fromString("---------"));
    org.junit.jupiter.api.Assumptions.assumeFalse(Files.isReadable(secret), "running as root");

    assertThat(error(Map.of(), "--token-file", secret.toString()))
        .isEqualTo("--token-file: cannot read " + secret + ": permission denied");
  }

  @Test
  void resolve_tokenOnTheCommandLine_refusedWithoutEchoingIt() {
    String message = error(Map.of(), "--token", "s3cret");

    assertThat(message).startsWith("--token: ").contains("BERTH_TOKEN", "--token-file");
    assertThat(message).doesNotContain("s3cret");
  }

  @Test
  void resolve_brokerList_theClusterMembers() {
    assertThat(resolve(Map.of(), "--broker", "a:1,b:2,c:3").targets())
        .containsExactly("a:1", "b:2", "c:3");
    ConnectionOptions.Settings fromEnv = resolve(Map.of("BERTH_BROKER", "a:1, b:2"));
    assertThat(fromEnv.targets()).containsExactly("a:1", "b:2");
    assertThat(fromEnv.target()).isEqualTo("a:1,b:2");
  }

  @Test
  void parse_malformedBroker_namesTheOption() {
    assertThatThrownBy(() -> resolve(Map.of(), "--broker", "[::1:7433"))
        .isInstanceOfSatisfying(
            ParameterException.class,
            e -> assertThat(CommandLines.message(e)).startsWith("--broker: must be HOST:PORT"));
  }

  @Test
  void inFlagTerms_sdkSettingNames_becomeOptions() {
    assertThat(
            ConnectionOptions.inFlagTerms(
                "tls.clientKey: k.pem is not the private key of the first certificate in c.pem"))
        .startsWith("--tls-key: k.pem");
    assertThat(ConnectionOptions.inFlagTerms("does not chain to a CA in tls.trustedCertificates"))
        .endsWith("in --tls-ca");
  }

  @Test
  void settings_toString_hidesTheToken() {
    assertThat(resolve(Map.of("BERTH_TOKEN", "s3cret")).toString())
        .contains("token=(set)")
        .doesNotContain("s3cret");
  }
}
