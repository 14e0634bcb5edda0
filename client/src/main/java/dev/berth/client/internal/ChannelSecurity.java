package dev.berth.client.internal;

import dev.berth.client.TlsOptions;
import dev.berth.common.FileProblems;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns {@link TlsOptions} (or none, for plaintext) into a channel builder, for the SDK, the CLI
 * and the worker alike. The PEM files are read and checked here, once, so a missing, unreadable or
 * malformed file is an {@link IllegalArgumentException} naming the option and the file, instead of
 * a handshake failure later; gRPC is then given exactly the bytes that were checked.
 */
public final class ChannelSecurity {

  /**
   * How the options are called where they were given, for error messages.
   *
   * @param ca the CA bundle option
   * @param cert the client certificate option
   * @param key the client key option
   * @param serverName the server name option
   */
  public record OptionNames(String ca, String cert, String key, String serverName) {
    /** The names of {@link TlsOptions}, for the SDK. */
    public static final OptionNames SDK =
        new OptionNames(
            "tls.trustedCertificates", "tls.clientCertificate", "tls.clientKey", "tls.serverName");

    /** The names of the command-line flags of {@code berth} and {@code berth worker}. */
    public static final OptionNames FLAGS =
        new OptionNames("--tls-ca", "--tls-cert", "--tls-key", "--tls-server-name");
  }

  private static final Pattern PEM_KEY =
      Pattern.compile(
          "-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----([A-Za-z0-9+/=\\s]*)-----END \\1PRIVATE KEY-----");

  private static final List<String> KEY_ALGORITHMS = List.of("EC", "RSA", "Ed25519", "Ed448");

  private ChannelSecurity() {}

  /**
   * A channel builder for {@code target}: plaintext when {@code tls} is null, otherwise TLS with
   * the trust, client certificate and server name it gives.
   *
   * @throws IllegalArgumentException naming the option and file that cannot be used
   */
  public static ManagedChannelBuilder<?> channelBuilder(
      String target, TlsOptions tls, OptionNames names) {
    if (tls == null) {
      return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create());
    }
    ChannelCredentials credentials = credentials(tls, names);
    ManagedChannelBuilder<?> builder;
    try {
      builder = Grpc.newChannelBuilder(target, credentials);
    } catch (IllegalArgumentException e) {
      // gRPC could not make a TLS context of what was checked above, e.g. an unsupported key type.
      throw new IllegalArgumentException(
          "cannot set up TLS with " + tls + ": " + e.getMessage(), e);
    }
    tls.serverName().ifPresent(builder::overrideAuthority);
    return builder;
  }

  /**
   * The TLS credentials of {@code tls}, its files read and checked now.
   *
   * @throws IllegalArgumentException naming the option and file that cannot be used
   */
  static ChannelCredentials credentials(TlsOptions tls, OptionNames names) {
    TlsChannelCredentials.Builder builder = TlsChannelCredentials.newBuilder();
    if (tls.trustedCertificates().isPresent()) {
      Path file = tls.trustedCertificates().get();
      byte[] pem = read(names.ca(), file);
      certificates(names.ca(), file, pem);
      try {
        builder.trustManager(new ByteArrayInputStream(pem));
      } catch (IOException e) {
        throw new IllegalArgumentException(names.ca() + ": " + file + ": " + e, e);
      }
    }
    if (tls.clientCertificate().isPresent()) {
      Path certFile = tls.clientCertificate().get();
      Path keyFile = tls.clientKey().orElseThrow();
      byte[] certPem = read(names.cert(), certFile);
      byte[] keyPem = read(names.key(), keyFile);
      Certificate leaf = certificates(names.cert(), certFile, certPem).iterator().next();
      PrivateKey key = privateKey(names.key(), keyFile, keyPem);
      if (!matches(key, leaf.getPublicKey())) {
        throw new IllegalArgumentException(
            names.key()
                + ": "
                + keyFile
                + " is not the private key of the first certificate in "
                + certFile);
      }
      try {
        builder.keyManager(new ByteArrayInputStream(certPem), new ByteArrayInputStream(keyPem));
      } catch (IOException e) {
        throw new IllegalArgumentException(names.cert() + ": " + certFile + ": " + e, e);
      }
    }
    return builder.build();
  }

  private static byte[] read(String option, Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          option + ": cannot read " + file + ": " + FileProblems.why(e), e);
    }
  }

  /** The certificates of a PEM file, at least one. */
  private static Collection<? extends Certificate> certificates(
      String option, Path file, byte[] pem) {
    Collection<? extends Certificate> certificates;
    try {
      certificates =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem));
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          option + ": " + file + " is not a PEM certificate file: " + e.getMessage(), e);
    }
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(
          option + ": " + file + " holds no certificate (-----BEGIN CERTIFICATE-----)");
    }
    return certificates;
  }

  /** The private key of a PKCS#8 PEM file. */
  private static PrivateKey privateKey(String option, Path file, byte[] pem) {
    Matcher m = PEM_KEY.matcher(new String(pem, StandardCharsets.US_ASCII));
    if (!m.find()) {
      throw new IllegalArgumentException(
          option + ": " + file + " holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
    }
    String kind = m.group(1).trim();
    if (!kind.isEmpty()) {
      throw new IllegalArgumentException(
          option
              + ": "
              + file
              + " holds a '"
              + kind
              + " PRIVATE KEY'; only unencrypted PKCS#8 ('PRIVATE KEY') is supported, convert it"
              + " with: openssl pkcs8 -topk8 -nocrypt -in "
              + file);
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(2));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          option + ": " + file + " holds a private key that is not valid base64", e);
    }
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException wrongAlgorithm) {
        // try the next one
      }
    }
    throw new IllegalArgumentException(
        option + ": " + file + " holds no readable EC, RSA or EdDSA PKCS#8 private key");
  }

  /** Whether {@code key} signs what {@code publicKey} verifies. */
  private static boolean matches(PrivateKey key, PublicKey publicKey) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> key.getAlgorithm(); // Ed25519, Ed448
        };
    byte[] probe = "berth".getBytes(StandardCharsets.US_ASCII);
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // e.g. an EC key against an RSA certificate
    }
  }
}
