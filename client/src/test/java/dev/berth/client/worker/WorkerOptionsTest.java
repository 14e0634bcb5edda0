package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code berth worker}'s options, read as the program reads them, and its usage errors. */
class WorkerOptionsTest {
  @TempDir Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private Path urls(String text) throws IOException {
    return Files.writeString(dir.resolve("urls.txt"), text);
  }

  private static WorkerOptions parse(Map<String, String> env, List<String> args) {
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    CommandLine line = WorkerCommand.commandLine(sink, sink, env, false);
    line.parseArgs(args.toArray(String[]::new));
    return ((WorkerCommand) line.getCommand()).options();
  }

  private int run(Map<String, String> env, List<String> args) {
    return WorkerMain.run(
        args,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8),
        env);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private List<String> base() throws IOException {
    return List.of("--urls", urls("https://a.test/\n").toString(), "--out", "o");
  }

  private static List<String> concat(List<String> base, String... more) {
    List<String> all = new ArrayList<>(base);
    all.addAll(List.of(more));
    return all;
  }

  @Test
  void parse_requiredAndOptional_areRead() throws Exception {
    Path urls = urls("# pages\nhttps://a.test/x\n\n  http://b.test:8080/y  # second\n");

    WorkerOptions o =
        parse(
            Map.of(),
            List.of(
                "--broker",
                "127.0.0.1:7433",
                "--urls",
                urls.toString(),
                "--out=" + dir.resolve("out"),
                "--pdf",
                "--concurrency",
                "2",
                "--chromium-arg",
                "--host-resolver-rules=MAP *.test 127.0.0.1",
                "--navigation-timeout",
                "1s500ms",
                "--worker-id",
                "w-1"));

    assertThat(o.urls()).containsExactly("https://a.test/x", "http://b.test:8080/y");
    assertThat(o.pdf()).isTrue();
    assertThat(o.concurrency()).isEqualTo(2);
    assertThat(o.chromiumArgs()).containsExactly("--host-resolver-rules=MAP *.test 127.0.0.1");
    assertThat(o.navigationTimeout()).isEqualTo(Duration.ofMillis(1500));
    assertThat(o.acquireTimeout()).isEqualTo(Duration.ofMinutes(5));
    assertThat(o.workerId()).isEqualTo("w-1");
    assertThat(o.chromium()).isEqualTo(WorkerCommand.DEFAULT_CHROMIUM);
    assertThat(o.attempts()).isEqualTo(3);
    assertThat(o.brokers()).containsExactly("127.0.0.1:7433");
    assertThat(o.job()).isEmpty();
    assertThat(parse(Map.of(), concat(base(), "--job", "recrawl")).job()).isEqualTo("recrawl");
  }

  @Test
  void parse_connectionFromTheEnvironment_likeEveryBerthCommand() throws Exception {
    Path token = Files.writeString(dir.resolve("token"), "w0rker\n");

    WorkerOptions o =
        parse(
            Map.of(
                "BERTH_BROKER", "broker.internal:7433",
                "BERTH_TOKEN_FILE", token.toString(),
                "BERTH_TLS_SERVER_NAME", "berth-1"),
            base());

    assertThat(o.brokers()).containsExactly("broker.internal:7433");
    assertThat(o.connection().token()).isEqualTo("w0rker");
    assertThat(o.connection().tls().serverName()).contains("berth-1");
    assertThat(parse(Map.of(), base()).connection().tls()).as("plaintext by default").isNull();
  }

  @Test
  void run_missingRequired_namesIt() throws Exception {
    assertThat(run(Map.of(), List.of("--out", "o"))).isEqualTo(2);

    assertThat(err()).startsWith("berth worker: --urls is required");
  }

  @Test
  void run_badUrlLine_namesFileAndLine() throws Exception {
    Path urls = urls("https://a.test/\nftp://b.test/\n");

    assertThat(run(Map.of(), List.of("--urls", urls.toString(), "--out", "o"))).isEqualTo(2);

    assertThat(err()).contains("--urls: " + urls + " line 2");
  }

  @Test
  void run_badValues_nameTheOption() throws Exception {
    assertThat(run(Map.of(), concat(base(), "--concurrency", "0"))).isEqualTo(2);
    assertThat(run(Map.of(), concat(base(), "--acquire-timeout", "soon"))).isEqualTo(2);
    assertThat(run(Map.of(), concat(base(), "--navigation-timeout", "0s"))).isEqualTo(2);
    assertThat(run(Map.of(), concat(base(), "--frobnicate", "1"))).isEqualTo(2);
    assertThat(run(Map.of(), concat(base(), "--worker-id", "a b"))).isEqualTo(2);
    assertThat(run(Map.of(), concat(base(), "--worker-id", "w".repeat(129)))).isEqualTo(2);
    assertThat(run(Map.of(), concat(base(), "--job", "Recrawl"))).isEqualTo(2);

    assertThat(err())
        .contains("berth worker: --job: must be 1..64 lower-case letters")
        .contains("berth worker: --worker-id: must be printable ASCII without spaces, got 'a b'")
        .contains("berth worker: --worker-id: must be 1..128 characters")
        .contains("berth worker: --concurrency: must be 1..64, got 0")
        .contains("berth worker: --acquire-timeout: must be a duration like 500ms")
        .contains("berth worker: --navigation-timeout: must be more than zero")
        .contains("berth worker: unknown option --frobnicate");
  }

  @Test
  void run_tokenOnTheCommandLine_refused() throws Exception {
    assertThat(run(Map.of(), concat(base(), "--token", "s3cret"))).isEqualTo(2);

    assertThat(err()).contains("--token:").contains("--token-file").doesNotContain("s3cret");
  }

  @Test
  void run_badTlsOptions_nameTheOption() throws Exception {
    assertThat(run(Map.of(), concat(base(), "--tls-cert", "c.pem"))).isEqualTo(2);
    assertThat(run(Map.of(), concat(base(), "--tls-ca", "/nonexistent.pem"))).isEqualTo(2);

    assertThat(err())
        .contains("berth worker: --tls-cert needs --tls-key (the certificate's private key)")
        .contains("berth worker: --tls-ca: cannot read /nonexistent.pem: no such file");
  }

  @Test
  void run_usageError_exits2_help_exits0() {
    assertThat(run(Map.of(), List.of("--broker"))).isEqualTo(2);
    assertThat(err()).contains("--broker needs a value");

    assertThat(run(Map.of(), List.of("--help"))).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .startsWith("usage: berth worker [OPTIONS]")
        .contains("--token-file=FILE")
        .contains("$BERTH_BROKER");
  }

  @Test
  void run_urlsFileMissing_saysWhy() {
    assertThat(run(Map.of(), List.of("--urls", "/nonexistent/urls.txt", "--out", "o")))
        .isEqualTo(2);

    assertThat(err())
        .startsWith("berth worker: --urls: cannot read /nonexistent/urls.txt: no such file\n");
  }

  @Test
  void run_brokerUnreachable_exits3SayingSoAsEveryCommandDoes() throws Exception {
    Path chromium = Files.createFile(dir.resolve("chromium"));
    Files.setPosixFilePermissions(
        chromium, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort(); // closed again below: nothing listens there
    }
    int code =
        run(
            Map.of(),
            List.of(
                "--urls",
                urls("https://a.test/\n").toString(),
                "--out",
                dir.resolve("out").toString(),
                "--broker",
                "127.0.0.1:" + port,
                "--timeout",
                "2s",
                "--chromium",
                chromium.toString()));

    assertThat(err())
        .isEqualTo(
            "berth worker: cannot reach the broker at 127.0.0.1:"
                + port
                + " (connection refused); is it running? start it with bin/berth serve\n");
    assertThat(code).isEqualTo(3);
  }

  @Test
  void run_noChromium_exits1WithAdvice() throws Exception {
    int code =
        run(
            Map.of(),
            concat(
                base(),
                "--broker",
                "127.0.0.1:1",
                "--chromium",
                dir.resolve("no-chromium").toString()));

    assertThat(code).isEqualTo(1);
    assertThat(err()).contains("apt-get install chromium");
  }
}
