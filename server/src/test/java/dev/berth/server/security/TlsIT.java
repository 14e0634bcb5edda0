package dev.berth.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.grpc.BrokerServer;
import dev.berth.server.grpc.ServerTls;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.testkit.TestCertificates;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS and mTLS on a real Netty listener on 127.0.0.1, with certificates made by the test, and
 * certificate rotation without a restart (real time: the files are re-read every 200 ms).
 */
@Timeout(60)
class TlsIT {
  private static final Duration REFRESH = Duration.ofMillis(200);

  @TempDir Path dir;

  private final FakeTimeSource time = new FakeTimeSource();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private TestCertificates.Issued serverCa;
  private TestCertificates.Issued clientCa;
  private Path serverCert;
  private Path serverKey;
  private Path serverCaFile;
  private Path clientCaFile;
  private Broker broker;
  private ServerTls tls;
  private BrokerServer server;
  private ManagedChannel channel;

  @BeforeEach
  void certificates() {
    serverCa = TestCertificates.ca("berth-test-ca");
    clientCa = TestCertificates.ca("berth-client-ca");
    serverCert = dir.resolve("server.pem");
    serverKey = dir.resolve("server.key");
    serverCaFile = dir.resolve("ca.pem");
    clientCaFile = dir.resolve("client-ca.pem");
    TestCertificates.leaf(serverCa, "berth-1").write(serverCert, serverKey);
    serverCa.writeCertificate(serverCaFile);
    clientCa.writeCertificate(clientCaFile);
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdown(Duration.ZERO);
    }
    if (tls != null) {
      tls.close();
    }
    if (broker != null) {
      broker.close();
    }
    scheduler.shutdownNow();
  }

  private int start(Path clientCaPath, boolean requireClientCert) throws Exception {
    tls =
        ServerTls.load(
            new TlsSettings(serverCert, serverKey, clientCaPath, requireClientCert, REFRESH),
            scheduler);
    broker =
        new Broker(
            Policy.of(BrokerConfig.newBuilder().build()),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(1),
            HeapProbe.NONE);
    server =
        BrokerServer.netty(
                broker,
                time,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                BrokerServer.Options.DEFAULT.withTls(tls))
            .start();
    return server.port();
  }

  private ServingStatus check(int port, ChannelCredentials credentials) {
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port, credentials).build();
    return HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance())
        .getStatus();
  }

  private ChannelCredentials trustingCa() throws IOException {
    return TlsChannelCredentials.newBuilder().trustManager(serverCaFile.toFile()).build();
  }

  @Test
  void tls_clientTrustingTheCa_served() throws Exception {
    int port = start(null, false);

    assertThat(check(port, trustingCa())).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void tls_plaintextClient_fails() throws Exception {
    int port = start(null, false);

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> check(port, InsecureChannelCredentials.create()));

    assertThat(e).as("plaintext call on a TLS listener").isNotNull();
  }

  @Test
  void tls_clientNotTrustingTheCa_fails() throws Exception {
    int port = start(null, false);
    Path otherCa = dir.resolve("other-ca.pem");
    TestCertificates.ca("someone-else").writeCertificate(otherCa);

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () ->
                check(
                    port,
                    TlsChannelCredentials.newBuilder().trustManager(otherCa.toFile()).build()));

    assertThat(e).isNotNull();
  }

  @Test
  void mtls_clientWithoutCertificate_refused() throws Exception {
    int port = start(clientCaFile, true);

    StatusRuntimeException e =
        catchThrowableOfType(StatusRuntimeException.class, () -> check(port, trustingCa()));

    assertThat(e).as("call without a client certificate").isNotNull();
  }

  @Test
  void mtls_clientCertificateFromTheClientCa_served() throws Exception {
    int port = start(clientCaFile, true);
    Path cert = dir.resolve("worker.pem");
    Path key = dir.resolve("worker.key");
    TestCertificates.leaf(clientCa, "worker-1").write(cert, key);

    ServingStatus status =
        check(
            port,
            TlsChannelCredentials.newBuilder()
                .trustManager(serverCaFile.toFile())
                .keyManager(cert.toFile(), key.toFile())
                .build());

    assertThat(status).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void mtls_clientCertificateFromAnotherCa_refused() throws Exception {
    int port = start(clientCaFile, true);
    Path cert = dir.resolve("rogue.pem");
    Path key = dir.resolve("rogue.key");
    TestCertificates.leaf(TestCertificates.ca("rogue-ca"), "rogue").write(cert, key);

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () ->
                check(
                    port,
                    TlsChannelCredentials.newBuilder()
                        .trustManager(serverCaFile.toFile())
                        .keyManager(cert.toFile(), key.toFile())
                        .build()));

    assertThat(e).isNotNull();
  }

  @Test
  void rotation_newCertificateOnDisk_newConnectionsGetIt() throws Exception {
    int port = start(null, false);
    assertThat(peerName(port)).isEqualTo("CN=berth-1");

    TestCertificates.leaf(serverCa, "berth-2").write(serverCert, serverKey);

    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    String seen = peerName(port);
    while (!seen.equals("CN=berth-2") && System.nanoTime() < deadline) {
      Thread.sleep(REFRESH.toMillis());
      seen = peerName(port);
    }
    assertThat(seen).isEqualTo("CN=berth-2");
    assertThat(check(port, trustingCa())).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void rotation_newKeyBeforeItsCertificate_previousPairKeepsServing() throws Exception {
    int port = start(null, false);

    // A rotation caught half-way: the new key is in place, its certificate not yet.
    TestCertificates.leaf(serverCa, "berth-2").write(dir.resolve("not-yet.pem"), serverKey);
    Thread.sleep(REFRESH.toMillis() * 4); // several checks of the real refresh thread

    assertThat(peerName(port)).isEqualTo("CN=berth-1");
    assertThat(check(port, trustingCa())).isEqualTo(ServingStatus.SERVING);
  }

  /** The subject of the certificate a new TLS connection to {@code port} is shown. */
  private String peerName(int port) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(serverCaFile)) {
      trust.setCertificateEntry(
          "ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(5000);
      var parameters = socket.getSSLParameters();
      parameters.setApplicationProtocols(new String[] {"h2"});
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      X509Certificate peer = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      return peer.getSubjectX500Principal().getName();
    }
  }
}
