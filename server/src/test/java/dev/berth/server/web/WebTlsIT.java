package dev.berth.server.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpHandler;
import dev.berth.server.grpc.ServerTls;
import dev.berth.server.http.HttpListener;
import dev.berth.server.security.TlsSettings;
import dev.berth.testkit.TestCertificates;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics and dashboard listener over HTTPS with the daemon's TLS files: served with its
 * certificate, the client certificate rule of mTLS, and a rotated certificate picked up without a
 * restart (real time: the files are re-read every 200 ms).
 */
@Timeout(60)
class WebTlsIT {
  private static final Duration REFRESH = Duration.ofMillis(200);
  private static final HttpHandler OK =
      exchange -> {
        byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
      };

  @TempDir Path dir;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private TestCertificates.Issued serverCa;
  private TestCertificates.Issued clientCa;
  private Path serverCert;
  private Path serverKey;
  private ServerTls tls;
  private HttpListener web;

  @BeforeEach
  void certificates() {
    serverCa = TestCertificates.ca("berth-web-ca");
    clientCa = TestCertificates.ca("berth-web-client-ca");
    serverCert = dir.resolve("server.pem");
    serverKey = dir.resolve("server.key");
    TestCertificates.leaf(serverCa, "berth-1").write(serverCert, serverKey);
  }

  @AfterEach
  void stop() {
    if (web != null) {
      web.close();
    }
    if (tls != null) {
      tls.close();
    }
    scheduler.shutdownNow();
  }

  private int start(boolean mtls) throws Exception {
    Path clientCaFile = null;
    if (mtls) {
      clientCaFile = dir.resolve("client-ca.pem");
      clientCa.writeCertificate(clientCaFile);
    }
    tls =
        ServerTls.load(
            new TlsSettings(serverCert, serverKey, clientCaFile, mtls, REFRESH), scheduler);
    web =
        HttpListener.start(
            "metrics.listen",
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            Optional.of(tls.https()),
            2,
            Map.of("/metrics", OK));
    return web.port();
  }

  /** A client trusting the server's CA, showing {@code clientCert} when given; a fresh one. */
  private HttpClient client(TestCertificates.Issued clientCert) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", serverCa.certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (clientCert != null) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry(
          "client",
          clientCert.keys().getPrivate(),
          new char[0],
          new Certificate[] {clientCert.certificate()});
      kmf = KeyManagerFactory.getInstance("PKIX");
      kmf.init(keys, new char[0]);
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return HttpClient.newBuilder()
        .sslContext(context)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  private static HttpResponse<String> get(HttpClient client, String url) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private String peerName(int port) throws Exception {
    HttpResponse<String> response = get(client(null), "https://127.0.0.1:" + port + "/metrics");
    return ((X509Certificate) response.sslSession().orElseThrow().getPeerCertificates()[0])
        .getSubjectX500Principal()
        .getName();
  }

  @Test
  void https_servesWithTheDaemonsCertificate_andRefusesPlainHttp() throws Exception {
    int port = start(false);

    HttpResponse<String> response = get(client(null), "https://127.0.0.1:" + port + "/metrics");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("ok");
    assertThat(peerName(port)).isEqualTo("CN=berth-1");
    assertThatThrownBy(
            () -> get(HttpClient.newHttpClient(), "http://127.0.0.1:" + port + "/metrics"))
        .isInstanceOf(IOException.class);
  }

  @Test
  void mtls_refusesAClientWithoutACertificate_servesOneWithIt() throws Exception {
    int port = start(true);
    String url = "https://127.0.0.1:" + port + "/metrics";

    // Under TLS 1.3 the client learns of the refusal when the server closes the connection.
    assertThatThrownBy(() -> get(client(null), url))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(java.net.http.HttpTimeoutException.class);
    assertThat(get(client(TestCertificates.leaf(clientCa, "ops")), url).statusCode())
        .isEqualTo(200);
  }

  @Test
  void rotation_newCertificateOnDisk_newConnectionsGetIt() throws Exception {
    int port = start(false);
    assertThat(peerName(port)).isEqualTo("CN=berth-1");

    TestCertificates.leaf(serverCa, "berth-2").write(serverCert, serverKey);

    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    String seen = peerName(port);
    while (!seen.equals("CN=berth-2") && System.nanoTime() < deadline) {
      Thread.sleep(REFRESH.toMillis());
      seen = peerName(port);
    }
    assertThat(seen).isEqualTo("CN=berth-2");
  }
}
