package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.sun.net.httpserver.HttpServer;
import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.BrokerException;
import dev.berth.client.Lease;
import dev.berth.client.ResourceKind;
import dev.berth.client.TlsOptions;
import dev.berth.client.WorkerSession;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.TestCertificates;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK and the {@code berth} CLI over TLS and mTLS against the real daemon process on loopback,
 * with certificates the test makes (Bouncy Castle): one daemon serving TLS, one requiring client
 * certificates signed by a client CA.
 */
@Timeout(120)
class TlsDaemonIT {
  private static final Duration DEADLINE = Duration.ofSeconds(5);

  @TempDir static Path dir;
  private static DaemonProcess tls;
  private static DaemonProcess mtls;
  private static Path ca;
  private static Path otherCa;
  private static Path clientCert;
  private static Path clientKey;
  private static Path rogueCert;
  private static Path rogueKey;

  /** What one CLI run printed, and its exit code. */
  record Run(int code, String out, String err) {}

  @BeforeAll
  static void startDaemons() throws Exception {
    TestCertificates.Issued serverCa = TestCertificates.ca("berth-test-ca");
    TestCertificates.Issued clientCa = TestCertificates.ca("berth-client-ca");
    ca = dir.resolve("ca.pem");
    otherCa = dir.resolve("other-ca.pem");
    Path clientCaFile = dir.resolve("client-ca.pem");
    Path serverCert = dir.resolve("server.pem");
    Path serverKey = dir.resolve("server.key");
    clientCert = dir.resolve("worker.pem");
    clientKey = dir.resolve("worker.key");
    rogueCert = dir.resolve("rogue.pem");
    rogueKey = dir.resolve("rogue.key");
    serverCa.writeCertificate(ca);
    clientCa.writeCertificate(clientCaFile);
    TestCertificates.ca("someone-else").writeCertificate(otherCa);
    TestCertificates.leaf(serverCa, "berth-1").write(serverCert, serverKey);
    TestCertificates.leaf(clientCa, "worker-1").write(clientCert, clientKey);
    TestCertificates.leaf(TestCertificates.ca("rogue-ca"), "rogue").write(rogueCert, rogueKey);

    tls =
        daemon(
            Files.createDirectories(dir.resolve("tls")),
            "--tls.cert",
            serverCert.toString(),
            "--tls.key",
            serverKey.toString());
    mtls =
        daemon(
            Files.createDirectories(dir.resolve("mtls")),
            "--tls.cert",
            serverCert.toString(),
            "--tls.key",
            serverKey.toString(),
            "--tls.client_ca",
            clientCaFile.toString(),
            "--tls.require_client_cert",
            "true",
            "--wasm-module",
            "extractor="
                + Path.of(System.getProperty("berth.extractor.wasm", "../src/wasm/extractor.wasm"))
                    .toAbsolutePath()
                + ":alloc,extract");
  }

  @AfterAll
  static void stopDaemons() {
    if (tls != null) {
      tls.close();
    }
    if (mtls != null) {
      mtls.close();
    }
  }

  /** A daemon serving TLS in {@code dir}: ready once it listens (its health is TLS too). */
  private static DaemonProcess daemon(Path dir, String... flags) throws Exception {
    return DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
        .flags(flags)
        .readyWhenListening()
        .start();
  }

  private static BrokerClient client(DaemonProcess daemon, TlsOptions options) {
    return BrokerClient.newBuilder()
        .target(daemon.target())
        .tls(options)
        .callDeadline(DEADLINE)
        .build();
  }

  /** Opens a session, acquires a PDF lease and releases it: the whole worker path. */
  private static void sessionAndAcquire(BrokerClient client) {
    try (WorkerSession session = client.openSession("tls-worker")) {
      AcquireResult result = session.acquire(AcquireOptions.newBuilder(ResourceKind.PDF).build());
      assertThat(result.isGranted()).as("PDF acquire over TLS: %s", result).isTrue();
      try (Lease lease = ((AcquireResult.Granted) result).lease()) {
        assertThat(lease.fencingToken()).isPositive();
      }
    }
  }

  private static BrokerException openSessionFailure(BrokerClient client) {
    return catchThrowableOfType(
        BrokerException.class, () -> client.openSession("refused-worker").close());
  }

  /** {@code error} and every cause under it, outermost first. */
  private static List<Throwable> chain(Throwable error) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable t = error; t != null && !chain.contains(t); t = t.getCause()) {
      chain.add(t);
    }
    return chain;
  }

  /**
   * Asserts that {@code e} failed as a refused TLS handshake does: the SDK's UNAVAILABLE, over
   * gRPC's UNAVAILABLE, caused by an exception of {@code cause} whose message has {@code words}.
   */
  /**
   * The TLS alert a JDK sends when a server that requires a client certificate gets none: TLS 1.3's
   * {@code certificate_required} on recent JDK 17 updates, {@code bad_certificate} on earlier ones
   * (17.0.15, Debian 12's). Either must be reported as the broker refusing the client's
   * certificate.
   */
  private static final String[] NO_CLIENT_CERTIFICATE = {"certificate_required", "bad_certificate"};

  private static void assertRefusedBy(
      BrokerException e, Class<? extends Throwable> cause, String... anyOfWords) {
    assertThat(e).as("the failure").isNotNull();
    assertThat(e.condition()).isEqualTo(BrokerException.Condition.UNAVAILABLE);
    assertThat(Status.fromThrowable(e.getCause()).getCode())
        .as("gRPC status of %s", e.getCause())
        .isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(chain(e))
        .as("causes of %s", e)
        .anySatisfy(
            t -> {
              assertThat(t).isInstanceOf(cause);
              assertThat(t.getMessage()).containsAnyOf(anyOfWords);
            });
  }

  @Test
  void sdk_tlsTrustingTheCa_sessionAndAcquireGranted() {
    try (BrokerClient client =
        client(tls, TlsOptions.newBuilder().trustedCertificates(ca).build())) {
      sessionAndAcquire(client);
    }
  }

  @Test
  void sdk_tlsTrustingAnotherCa_refusedSayingTheCertificateIsNotTrusted() {
    try (BrokerClient client =
        client(tls, TlsOptions.newBuilder().trustedCertificates(otherCa).build())) {
      BrokerException e = openSessionFailure(client);

      assertRefusedBy(e, SSLHandshakeException.class, "PKIX path");
      assertThat(chain(e)).anyMatch(CertPathBuilderException.class::isInstance);
      assertThat(e.getMessage())
          .contains("TLS handshake with the broker failed")
          .contains("not trusted");
    }
  }

  @Test
  void sdk_tlsServerNameNotOnTheCertificate_refused() {
    try (BrokerClient client =
        client(
            tls,
            TlsOptions.newBuilder().trustedCertificates(ca).serverName("other.example").build())) {
      BrokerException e = openSessionFailure(client);

      assertRefusedBy(e, CertificateException.class, "other.example");
      assertThat(e.getMessage())
          .contains("TLS handshake with the broker failed")
          .contains("does not carry the name");
    }
  }

  @Test
  void sdk_mtlsWithAClientCertificate_sessionAndAcquireGranted() {
    try (BrokerClient client =
        client(
            mtls,
            TlsOptions.newBuilder()
                .trustedCertificates(ca)
                .clientCertificate(clientCert, clientKey)
                .build())) {
      sessionAndAcquire(client);
    }
  }

  @Test
  void sdk_mtlsWithoutAClientCertificate_refused() {
    try (BrokerClient client =
        client(mtls, TlsOptions.newBuilder().trustedCertificates(ca).build())) {
      BrokerException e = openSessionFailure(client);

      assertRefusedBy(e, SSLException.class, NO_CLIENT_CERTIFICATE);
      assertThat(e.getMessage()).contains("refused this client's certificate");
    }
  }

  @Test
  void sdk_mtlsWithACertificateFromAnotherCa_refused() {
    try (BrokerClient client =
        client(
            mtls,
            TlsOptions.newBuilder()
                .trustedCertificates(ca)
                .clientCertificate(rogueCert, rogueKey)
                .build())) {
      BrokerException e = openSessionFailure(client);

      // The JDK offers only a certificate issued by a CA the broker's request names, so it
      // offers none at all, and the broker asks for one.
      assertRefusedBy(e, SSLException.class, NO_CLIENT_CERTIFICATE);
      assertThat(e.getMessage()).contains("refused this client's certificate");
    }
  }

  @Test
  void cli_tlsCa_statusAnswered() {
    Run run = berth(Map.of(), "--broker", tls.target(), "--tls-ca", ca.toString(), "status");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("broker       " + tls.target());
  }

  @Test
  void cli_tlsFromEnvironment_statusAnswered() {
    Run run =
        berth(
            Map.of("BERTH_BROKER", mtls.target(), "BERTH_TLS_CA", ca.toString()),
            "--tls-cert",
            clientCert.toString(),
            "--tls-key",
            clientKey.toString(),
            "status",
            "--json");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("\"brokerEpoch\"");
  }

  @Test
  void cli_mtlsWithoutCertificate_unreachableSayingTls() {
    Run run = berth(Map.of(), "--broker", mtls.target(), "--tls-ca", ca.toString(), "status");

    assertThat(run.code()).isEqualTo(ExitCode.UNREACHABLE);
    assertThat(run.err())
        .startsWith("berth: the broker at " + mtls.target() + " is unavailable: ")
        .contains("TLS handshake with the broker failed: the broker refused this client's")
        .containsAnyOf(NO_CLIENT_CERTIFICATE)
        .contains("set --tls-cert and --tls-key");
  }

  @Test
  void cli_wrongCa_unreachableSayingNotTrusted() {
    Run run = berth(Map.of(), "--broker", tls.target(), "--tls-ca", otherCa.toString(), "status");

    assertThat(run.code()).isEqualTo(ExitCode.UNREACHABLE);
    assertThat(run.err())
        .startsWith("berth: the broker at " + tls.target() + " is unavailable: ")
        .contains("TLS handshake with the broker failed: the broker's certificate is not trusted")
        .contains("--tls-ca");
  }

  @Test
  void cli_plaintextAgainstTls_unreachable() {
    Run run = berth(Map.of(), "--broker", tls.target(), "--timeout", "3s", "status");

    assertThat(run.code()).isEqualTo(ExitCode.UNREACHABLE);
    assertThat(run.err()).startsWith("berth: ").contains(tls.target());
  }

  @Test
  void worker_mtls_rendersAPageUnderLeases() throws Exception {
    Path chromium = Path.of("/usr/bin/chromium");
    Assumptions.assumeTrue(Files.isExecutable(chromium), "no Chromium at " + chromium);
    HttpServer site =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    byte[] page =
        "<html><head><title>over mTLS</title></head><body><a href=/a>a</a></body></html>"
            .getBytes(StandardCharsets.UTF_8);
    site.createContext(
        "/",
        exchange -> {
          exchange.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
          exchange.sendResponseHeaders(200, page.length);
          try (var body = exchange.getResponseBody()) {
            body.write(page);
          }
        });
    site.start();
    try {
      Path work = Files.createDirectories(dir.resolve("worker"));
      Path urls =
          Files.writeString(
              work.resolve("urls.txt"),
              "http://127.0.0.1:" + site.getAddress().getPort() + "/page\n");
      Path out = work.resolve("out");
      List<String> common =
          List.of(
              "worker",
              "--broker",
              mtls.target(),
              "--urls",
              urls.toString(),
              "--out",
              out.toString(),
              "--chromium",
              chromium.toString(),
              "--navigation-timeout",
              "30s",
              "--acquire-timeout",
              "30s",
              "--tls-ca",
              ca.toString());

      Run refused = berth(Map.of(), common.toArray(String[]::new));
      // As every berth command says it (cli_mtlsWithoutCertificate_unreachableSayingTls).
      assertThat(refused.code()).as("without a client certificate").isEqualTo(ExitCode.UNREACHABLE);
      assertThat(refused.err())
          .startsWith("berth worker: the broker at " + mtls.target() + " is unavailable: ")
          .contains("TLS handshake with the broker failed")
          .contains("set --tls-cert and --tls-key")
          .doesNotContain("tls.clientCertificate");

      List<String> withCert = new ArrayList<>(common);
      withCert.addAll(
          List.of("--tls-cert", clientCert.toString(), "--tls-key", clientKey.toString()));
      Run run = berth(Map.of(), withCert.toArray(String[]::new));

      assertThat(run.code()).as("worker over mTLS:\n%s\n%s", run.out(), run.err()).isZero();
      try (var files = Files.list(out)) {
        String result =
            Files.readString(
                files.filter(f -> f.toString().endsWith(".json")).findFirst().orElseThrow());
        assertThat(result).contains("\"ok\": true").contains("over mTLS");
      }
    } finally {
      site.stop(0);
    }
  }

  private static Run berth(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> argv = new ArrayList<>(List.of(args));
    int code =
        Main.run(
            argv,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            env,
            java.time.Clock.systemUTC());
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
