package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerOptionsTest {
  @TempDir Path dir;

  private Path urls(String text) throws IOException {
    return Files.writeString(dir.resolve("urls.txt"), text);
  }

  @Test
  void parse_requiredAndOptional_areRead() throws Exception {
    Path urls = urls("# pages\nhttps://a.test/x\n\n  http://b.test:8080/y  # second\n");

    WorkerOptions o =
        WorkerOptions.parse(
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
                "500ms",
                "--worker-id",
                "w-1"));

    assertThat(o.urls()).containsExactly("https://a.test/x", "http://b.test:8080/y");
    assertThat(o.pdf()).isTrue();
    assertThat(o.concurrency()).isEqualTo(2);
    assertThat(o.chromiumArgs()).containsExactly("--host-resolver-rules=MAP *.test 127.0.0.1");
    assertThat(o.navigationTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(o.workerId()).isEqualTo("w-1");
    assertThat(o.chromium()).isEqualTo(WorkerOptions.DEFAULT_CHROMIUM);
    assertThat(o.attempts()).isEqualTo(3);
  }

  @Test
  void parse_missingRequired_namesIt() throws Exception {
    Path urls = urls("https://a.test/\n");

    assertThatThrownBy(() -> WorkerOptions.parse(List.of("--urls", urls.toString())))
        .hasMessageStartingWith("--broker: required");
    assertThatThrownBy(() -> WorkerOptions.parse(List.of("--broker", "x:1", "--out", "o")))
        .hasMessageStartingWith("--urls: required");
  }

  @Test
  void parse_badUrlLine_namesFileAndLine() throws Exception {
    Path urls = urls("https://a.test/\nftp://b.test/\n");

    assertThatThrownBy(
            () ->
                WorkerOptions.parse(
                    List.of("--broker", "x:1", "--urls", urls.toString(), "--out", "o")))
        .isInstanceOf(WorkerOptions.UsageException.class)
        .hasMessageContaining("line 2");
  }

  @Test
  void parse_badValues_nameTheOption() throws Exception {
    Path urls = urls("https://a.test/\n");
    List<String> base = List.of("--broker", "x:1", "--urls", urls.toString(), "--out", "o");

    assertThatThrownBy(() -> WorkerOptions.parse(concat(base, "--concurrency", "0")))
        .hasMessageStartingWith("--concurrency: must be 1..64");
    assertThatThrownBy(() -> WorkerOptions.parse(concat(base, "--acquire-timeout", "soon")))
        .hasMessageStartingWith("--acquire-timeout: must be a duration");
    assertThatThrownBy(() -> WorkerOptions.parse(concat(base, "--frobnicate", "1")))
        .hasMessageStartingWith("--frobnicate: unknown option");
  }

  @Test
  void parse_tlsFlags_readIntoTlsOptions() throws Exception {
    Path urls = urls("https://a.test/\n");
    List<String> base = List.of("--broker", "x:1", "--urls", urls.toString(), "--out", "o");

    assertThat(WorkerOptions.parse(base).tls()).as("plaintext by default").isNull();
    WorkerOptions tls = WorkerOptions.parse(concat(base, "--tls-server-name", "b.internal"));
    assertThat(tls.tls()).isNotNull();
    assertThat(tls.tls().serverName()).contains("b.internal");
    assertThat(WorkerOptions.parse(concat(base, "--tls")).tls().trustedCertificates()).isEmpty();
  }

  @Test
  void parse_badTlsFlags_nameTheFlag() throws Exception {
    Path urls = urls("https://a.test/\n");
    List<String> base = List.of("--broker", "x:1", "--urls", urls.toString(), "--out", "o");

    assertThatThrownBy(() -> WorkerOptions.parse(concat(base, "--tls-cert", "c.pem")))
        .hasMessage("--tls-cert needs --tls-key (the certificate's private key)");
    assertThatThrownBy(() -> WorkerOptions.parse(concat(base, "--tls-ca", "/nonexistent.pem")))
        .hasMessage("--tls-ca: cannot read /nonexistent.pem: no such file");
  }

  @Test
  void run_usageError_exits2_help_exits0() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);

    assertThat(WorkerMain.run(List.of("--broker"), o, e)).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--broker: needs a value");
    assertThat(WorkerMain.run(List.of("--help"), o, e)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("usage: berth worker");
  }

  @Test
  void run_noChromium_exits1WithAdvice() throws Exception {
    Path urls = urls("https://a.test/\n");
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int code =
        WorkerMain.run(
            List.of(
                "--broker", "127.0.0.1:1",
                "--urls", urls.toString(),
                "--out", dir.resolve("out").toString(),
                "--chromium", dir.resolve("no-chromium").toString()),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(code).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("apt-get install chromium");
  }

  private static List<String> concat(List<String> base, String... more) {
    List<String> all = new java.util.ArrayList<>(base);
    all.addAll(List.of(more));
    return all;
  }
}
