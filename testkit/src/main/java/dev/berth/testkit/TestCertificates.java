package dev.berth.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made on the fly for TLS tests (Bouncy Castle), so none is ever committed: a CA, and
 * leaf certificates it signs for {@code localhost} / {@code 127.0.0.1}, written as PEM files.
 *
 * <p>Shared by the server's and the client's tests: the server module packages this package ({@code
 * dev.berth.testkit}) as its test-jar, which the client's tests depend on. It needs only the JDK
 * and Bouncy Castle, so it can move as it is into a test-support module.
 */
public final class TestCertificates {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

  /** A certificate with its key. */
  public record Issued(X509Certificate certificate, KeyPair keys) {
    /** Writes the certificate and the PKCS#8 key as PEM, replacing each file atomically. */
    public void write(Path certFile, Path keyFile) {
      writeAtomically(keyFile, pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
      writeAtomically(certFile, pem("CERTIFICATE", encoded(certificate)));
    }

    public void writeCertificate(Path certFile) {
      writeAtomically(certFile, pem("CERTIFICATE", encoded(certificate)));
    }
  }

  private TestCertificates() {}

  /** A self-signed CA named {@code cn}. */
  public static Issued ca(String cn) {
    KeyPair keys = keyPair();
    return new Issued(sign(cn, keys, cn, keys, null), keys);
  }

  /** A leaf named {@code cn} for localhost and 127.0.0.1, signed by {@code ca}. */
  public static Issued leaf(Issued ca, String cn) {
    return leaf(
        ca,
        cn,
        new GeneralNames(
            new GeneralName[] {
              new GeneralName(GeneralName.dNSName, "localhost"),
              new GeneralName(GeneralName.iPAddress, "127.0.0.1")
            }));
  }

  /** A leaf named {@code cn} for the DNS name {@code host} only, signed by {@code ca}. */
  public static Issued leafFor(Issued ca, String cn, String host) {
    return leaf(ca, cn, new GeneralNames(new GeneralName(GeneralName.dNSName, host)));
  }

  private static Issued leaf(Issued ca, String cn, GeneralNames names) {
    KeyPair keys = keyPair();
    return new Issued(sign(cn, keys, name(ca.certificate()), ca.keys(), names), keys);
  }

  private static String name(X509Certificate c) {
    return c.getSubjectX500Principal().getName().replaceFirst("^CN=", "");
  }

  private static X509Certificate sign(
      String cn, KeyPair subject, String issuerCn, KeyPair issuer, GeneralNames leafNames) {
    boolean isCa = leafNames == null;
    Instant now = Instant.now();
    try {
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              new X500Name("CN=" + issuerCn),
              BigInteger.valueOf(SERIAL.incrementAndGet()),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(Duration.ofDays(1))),
              new X500Name("CN=" + cn),
              subject.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
      if (isCa) {
        builder.addExtension(
            Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        builder.addExtension(Extension.subjectAlternativeName, false, leafNames);
      }
      return new JcaX509CertificateConverter()
          .getCertificate(
              builder.build(
                  new JcaContentSignerBuilder("SHA256withECDSA").build(issuer.getPrivate())));
    } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] encoded(X509Certificate c) {
    try {
      return c.getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private static void writeAtomically(Path file, String text) {
    try {
      Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".pem", ".tmp");
      Files.writeString(tmp, text, StandardCharsets.US_ASCII);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
