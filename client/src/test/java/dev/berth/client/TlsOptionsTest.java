package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.testkit.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS options fail fast when the client is built, naming the option and the file, before any
 * connection is made. The certificates are made by the test.
 */
class TlsOptionsTest {
  @TempDir Path dir;

  private Path ca;
  private Path cert;
  private Path key;

  @BeforeEach
  void certificates() {
    TestCertificates.Issued authority = TestCertificates.ca("test-ca");
    ca = dir.resolve("ca.pem");
    cert = dir.resolve("client.pem");
    key = dir.resolve("client.key");
    authority.writeCertificate(ca);
    TestCertificates.leaf(authority, "client").write(cert, key);
  }

  private static void build(TlsOptions tls) {
    BrokerClient.newBuilder().target("127.0.0.1:1").tls(tls).build().close();
  }

  @Test
  void build_validCaAndClientCertificate_buildsWithoutConnecting() {
    TlsOptions tls =
        TlsOptions.newBuilder()
            .trustedCertificates(ca)
            .clientCertificate(cert, key)
            .serverName("broker.internal")
            .build();

    build(tls);

    assertThat(tls.trustedCertificates()).contains(ca);
    assertThat(tls.clientCertificate()).contains(cert);
    assertThat(tls.clientKey()).contains(key);
    assertThat(tls.serverName()).contains("broker.internal");
  }

  @Test
  void systemTrust_hasNoFiles_builds() {
    TlsOptions tls = TlsOptions.systemTrust();

    build(tls);

    assertThat(tls.trustedCertificates()).isEmpty();
    assertThat(tls.clientCertificate()).isEmpty();
    assertThat(tls.serverName()).isEmpty();
  }

  @Test
  void build_missingCaFile_namesOptionAndFile() {
    Path missing = dir.resolve("nope.pem");
    TlsOptions tls = TlsOptions.newBuilder().trustedCertificates(missing).build();

    assertThatThrownBy(() -> build(tls))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tls.trustedCertificates: cannot read " + missing + ": no such file");
  }

  @Test
  void build_unreadableCaFile_namesOptionAndFile() throws Exception {
    Files.setPosixFilePermissions(ca, PosixFilePermissions.fromString("---------"));
    org.junit.jupiter.api.Assumptions.assumeFalse(Files.isReadable(ca), "running as root");
    TlsOptions tls = TlsOptions.newBuilder().trustedCertificates(ca).build();

    assertThatThrownBy(() -> build(tls))
        .hasMessage("tls.trustedCertificates: cannot read " + ca + ": permission denied");
  }

  @Test
  void build_caFileWithoutCertificate_namesOptionAndFile() throws Exception {
    Path text = dir.resolve("notes.pem");
    Files.writeString(text, "not a certificate\n", StandardCharsets.US_ASCII);
    TlsOptions tls = TlsOptions.newBuilder().trustedCertificates(text).build();

    assertThatThrownBy(() -> build(tls))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tls.trustedCertificates: " + text);
  }

  @Test
  void build_keyFileGivenAsCertificate_namesTheCertificateOption() {
    TlsOptions tls = TlsOptions.newBuilder().clientCertificate(key, key).build();

    assertThatThrownBy(() -> build(tls)).hasMessageStartingWith("tls.clientCertificate: " + key);
  }

  @Test
  void build_certificateGivenAsKey_namesTheKeyOption() {
    TlsOptions tls = TlsOptions.newBuilder().clientCertificate(cert, cert).build();

    assertThatThrownBy(() -> build(tls))
        .hasMessage(
            "tls.clientKey: " + cert + " holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
  }

  @Test
  void build_pkcs1Key_namesKeyAndSaysHowToConvert() throws Exception {
    Path rsa = dir.resolve("rsa.key");
    Files.writeString(
        rsa, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    TlsOptions tls = TlsOptions.newBuilder().clientCertificate(cert, rsa).build();

    assertThatThrownBy(() -> build(tls))
        .hasMessageStartingWith("tls.clientKey: " + rsa + " holds a 'RSA PRIVATE KEY'")
        .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
  }

  @Test
  void build_keyOfAnotherCertificate_namesBothFiles() {
    Path otherCert = dir.resolve("other.pem");
    Path otherKey = dir.resolve("other.key");
    TestCertificates.leaf(TestCertificates.ca("other-ca"), "other").write(otherCert, otherKey);
    TlsOptions tls = TlsOptions.newBuilder().clientCertificate(cert, otherKey).build();

    assertThatThrownBy(() -> build(tls))
        .hasMessage(
            "tls.clientKey: "
                + otherKey
                + " is not the private key of the first certificate in "
                + cert);
  }

  @Test
  void build_serverNameWithSpace_namesServerName() {
    assertThatThrownBy(() -> TlsOptions.newBuilder().serverName("bad name").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tls.serverName: must be a host name or IP address");
  }

  @Test
  void build_nulls_throwNamingTheSetting() {
    assertThatThrownBy(() -> TlsOptions.newBuilder().trustedCertificates(null))
        .hasMessage("trustedCertificates");
    assertThatThrownBy(() -> TlsOptions.newBuilder().clientCertificate(cert, null))
        .hasMessage("clientKey");
    assertThatThrownBy(() -> BrokerClient.newBuilder().tls(null)).hasMessage("tls");
  }
}
