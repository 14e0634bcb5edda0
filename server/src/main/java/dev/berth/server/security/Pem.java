package dev.berth.server.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM files with the JDK alone: X.509 certificates, and private keys in PKCS#8 ({@code BEGIN
 * PRIVATE KEY}, what {@code openssl genpkey} writes) of the RSA, EC, Ed25519 or Ed448 algorithms.
 * Stateless and thread-safe.
 */
public final class Pem {
  private static final Pattern PRIVATE_KEY =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  private static final List<String> KEY_ALGORITHMS = List.of("RSA", "EC", "Ed25519", "Ed448");

  private Pem() {}

  /**
   * The certificates in {@code file}, in order.
   *
   * @throws GeneralSecurityException when it holds none, or one that does not parse
   */
  public static X509Certificate[] certificates(Path file)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(file)) {
      X509Certificate[] certificates =
          CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
              .map(X509Certificate.class::cast)
              .toArray(X509Certificate[]::new);
      if (certificates.length == 0) {
        throw new GeneralSecurityException(file + " holds no certificate");
      }
      return certificates;
    }
  }

  /**
   * The PKCS#8 private key in {@code file}.
   *
   * @throws GeneralSecurityException when it holds no PKCS#8 key of a known algorithm
   */
  public static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
    Matcher pem = PRIVATE_KEY.matcher(Files.readString(file, StandardCharsets.US_ASCII));
    if (!pem.find()) {
      throw new GeneralSecurityException(
          file + " holds no PEM 'BEGIN PRIVATE KEY' block (PKCS#8 is required)");
    }
    PKCS8EncodedKeySpec spec =
        new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(pem.group(1)));
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (InvalidKeySpecException e) {
        // not this algorithm; try the next
      }
    }
    throw new GeneralSecurityException(
        file + " holds a private key of none of the algorithms " + KEY_ALGORITHMS);
  }
}
