package dev.berth.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.testkit.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PemTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"RSA", "EC", "Ed25519"})
  void privateKey_pkcs8OfEachAlgorithm_isRead(String algorithm) throws Exception {
    PrivateKey key = KeyPairGenerator.getInstance(algorithm).generateKeyPair().getPrivate();
    Path file = dir.resolve("key.pem");
    Files.writeString(
        file,
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(key.getEncoded())
            + "\n-----END PRIVATE KEY-----\n");

    assertThat(Pem.privateKey(file)).isEqualTo(key);
  }

  @Test
  void certificates_aChainInOneFile_inOrder() throws Exception {
    TestCertificates.Issued ca = TestCertificates.ca("pem-test-ca");
    Path cert = dir.resolve("leaf.pem");
    Path key = dir.resolve("leaf.key");
    TestCertificates.leaf(ca, "leaf").write(cert, key);
    Path caFile = dir.resolve("ca.pem");
    ca.writeCertificate(caFile);
    Files.writeString(cert, Files.readString(cert) + Files.readString(caFile));

    X509Certificate[] chain = Pem.certificates(cert);

    assertThat(chain).hasSize(2);
    assertThat(chain[0].getSubjectX500Principal().getName()).contains("leaf");
    assertThat(chain[1].getSubjectX500Principal().getName()).contains("pem-test-ca");
    assertThat(Pem.privateKey(key)).isNotNull();
  }

  @Test
  void malformedFiles_nameTheFileAndTheProblem() throws Exception {
    Path rsaPkcs1 = dir.resolve("pkcs1.key");
    Files.writeString(
        rsaPkcs1, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    Path empty = dir.resolve("empty.pem");
    Files.writeString(empty, "");

    assertThatThrownBy(() -> Pem.privateKey(rsaPkcs1))
        .isInstanceOf(GeneralSecurityException.class)
        .hasMessageContaining(rsaPkcs1.toString())
        .hasMessageContaining("PKCS#8 is required");
    assertThatThrownBy(() -> Pem.certificates(empty))
        .isInstanceOf(GeneralSecurityException.class)
        .hasMessageContaining(empty.toString());
  }
}
