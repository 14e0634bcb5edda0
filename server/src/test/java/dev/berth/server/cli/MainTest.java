package dev.berth.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line up to the point where the daemon would start. */
class MainTest {
  @TempDir Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(Map<String, String> env, String... args) {
    return Main.run(
        List.of(args),
        () -> env,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void printConfig_showsEachValueWithItsSource() throws Exception {
    Path file = dir.resolve("berth.yaml");
    Files.writeString(file, "rate_limit:\n  default_rate: 5\n");

    int code =
        run(
            Map.of("BERTH_SESSION_TTL", "30s"),
            "serve",
            "--config",
            file.toString(),
            "--render-limit",
            "3",
            "--print-config");

    assertThat(code).isZero();
    assertThat(out())
        .contains("pools.render.limit: 3")
        .contains("# flag --render-limit")
        .contains("session.ttl: 30s")
        .contains("# env BERTH_SESSION_TTL")
        .contains("rate_limit.default_rate: 5.0")
        .contains("# file " + file);
  }

  @Test
  void theEndToEndTestsFlags_stillParse() {
    int code =
        run(
            Map.of(),
            "serve",
            "--session-ttl",
            "2s",
            "--heartbeat-interval",
            "500ms",
            "--sweep-interval",
            "100ms",
            "--render-limit",
            "3",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
            dir.toString(),
            "--print-config");

    assertThat(code).as(err()).isZero();
    assertThat(out()).contains("session.ttl: 2s").contains("pools.render.limit: 3");
  }

  @Test
  void badConfig_exitsTwoNamingKeyAndSource() {
    assertThat(run(Map.of(), "serve", "--render-limt", "3")).isEqualTo(2);
    assertThat(err())
        .startsWith("berth: --render-limt: unknown option (did you mean --render-limit?)");

    err.reset();
    assertThat(run(Map.of("BERTH_POOLS_PDF_LIMIT", "x"), "serve")).isEqualTo(2);
    assertThat(err())
        .isEqualTo(
            "berth: pools.pdf.limit: must be a whole number, got 'x' (from env"
                + " BERTH_POOLS_PDF_LIMIT)"
                + System.lineSeparator());

    err.reset();
    assertThat(run(Map.of(), "serve", "--config", dir.resolve("none.yaml").toString()))
        .isEqualTo(2);
    assertThat(err()).contains("config: no such file");
  }

  @Test
  void configFileWithNoKeys_exitsTwoNamingTheFileInOneLine() throws Exception {
    Path file = dir.resolve("berth.yaml");
    Files.writeString(file, "");

    // --print-config: without the check the daemon would start here rather than fail.
    assertThat(run(Map.of(), "serve", "--config", file.toString(), "--print-config")).isEqualTo(2);
    assertThat(err())
        .isEqualTo(
            "berth: config: "
                + file
                + " holds no keys (it is empty, or only comments); write at least one key in it,"
                + " or name no config file to run on the defaults"
                + System.lineSeparator());
  }

  /** A certificate and key that do not load, as {@code --tls.cert FILE --tls.key FILE}. */
  private List<String> unloadableTls() throws Exception {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "not a certificate\n");
    Path key = Files.writeString(dir.resolve("key.pem"), "not a key\n");
    return List.of("--tls.cert", cert.toString(), "--tls.key", key.toString());
  }

  private int run(List<String> first, List<String> then) {
    List<String> args = new java.util.ArrayList<>(first);
    args.addAll(then);
    return run(Map.of(), args.toArray(String[]::new));
  }

  @Test
  void tlsFilesThatDoNotLoad_exitTwoNamingTheKey() throws Exception {
    int code =
        run(
            List.of(
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--state-dir",
                dir.resolve("state").toString()),
            unloadableTls());

    assertThat(code).isEqualTo(2);
    assertThat(err()).startsWith("berth: tls.cert: cannot load " + dir.resolve("cert.pem"));
  }

  /**
   * The epoch file went back (here: removed) while the state file of a later run is there: the
   * start is refused before the epoch moves, naming both files, and nothing is changed. Without the
   * check the daemon started at epoch 1 and granted the very tokens the state file's leases hold.
   */
  @Test
  @org.junit.jupiter.api.Timeout(60)
  void serve_stateFileOfALaterEpochThanTheEpochFile_exitsOneAndChangesNothing() throws Exception {
    Path state = dir.resolve("state");
    Files.createDirectories(state);
    dev.berth.server.replication.FleetStateFile.write(
        state, 2, new dev.berth.server.broker.Fleet(List.of(), List.of(), List.of()), 1_000);
    byte[] written = Files.readAllBytes(state.resolve("fleet-state"));

    int code =
        run(
            Map.of(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
            "--state-dir",
            state.toString());

    assertThat(code).isEqualTo(1);
    assertThat(err())
        .startsWith(
            "berth: "
                + state.resolve("fleet-state")
                + " was written by the run of epoch 2, but "
                + state.resolve("epoch")
                + " is missing");
    assertThat(state.resolve("epoch")).doesNotExist();
    assertThat(Files.readAllBytes(state.resolve("fleet-state"))).isEqualTo(written);
  }

  @Test
  void checkConfig_loadsTheModulesAndSaysWhatWasFound_startingNothing() {
    Path module = dev.berth.server.wasm.TestModules.extractor();
    Path state = dir.resolve("state");

    int code =
        run(
            Map.of(),
            "serve",
            "--state-dir",
            state.toString(),
            "--wasm-module",
            "extractor=" + module + ":alloc,extract",
            "--check-config");

    assertThat(code).isZero();
    assertThat(out())
        .startsWith("berth: the configuration would start (from defaults, env and flags)")
        .contains("  WASM module extractor")
        .contains("  TLS: off (plaintext)")
        .contains("  auth: off (no auth.tokens)");
    assertThat(state).doesNotExist();
  }

  @Test
  void checkConfig_aModuleOrTlsFileThatDoesNotLoad_exitsTwoNamingIt() throws Exception {
    Path missing = dir.resolve("gone.wasm");

    int noModule =
        run(
            Map.of(),
            "serve",
            "--wasm-module",
            "m=" + missing,
            "--wasm-default-module",
            "m",
            "--check-config");
    String moduleError = err();
    err.reset();
    int badTls = run(List.of("serve", "--check-config"), unloadableTls());

    assertThat(noModule).isEqualTo(2);
    assertThat(moduleError).isEqualTo("berth: wasm.modules['m']: " + missing + ": no such file\n");
    assertThat(badTls).isEqualTo(2);
    assertThat(err()).startsWith("berth: tls.cert: cannot load " + dir.resolve("cert.pem"));
    assertThat(out()).isEmpty();
  }

  @Test
  void help_listsConfigAndShortFlags() {
    assertThat(run(Map.of(), "serve", "--help")).isZero();
    assertThat(out())
        .contains("--config FILE")
        .contains("--print-config")
        .contains("--render-limit");
  }

  @Test
  void causes_eachMessageOnceInOneLine() {
    RuntimeException e =
        new java.util.concurrent.CompletionException(
            new java.io.IOException(
                "raft-meta: bad term 'abc'",
                new NumberFormatException("For input string: \"abc\"")));

    assertThat(Main.causes(e))
        .isEqualTo("java.io.IOException: raft-meta: bad term 'abc': For input string: \"abc\"");
  }
}
