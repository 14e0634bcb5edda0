package dev.berth.server.security;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server TLS credentials whose certificate, key and client CA are re-read from disk when they
 * change, checked every {@link TlsSettings#refresh()}, so a rotated certificate takes effect for
 * new connections without a restart. Loading fails at once, naming the problem, when the files are
 * unreadable or invalid; a later bad file is logged and the previous credentials stay.
 *
 * <p>Berth polls the files itself rather than using grpc-util's scheduled reload, which silently
 * raises any period under one minute to one minute.
 *
 * <p>Thread-safe; close it to stop the refresh.
 */
public final class ServerTls implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

  private final ServerCredentials credentials;
  private final HttpsTls https;
  private final ScheduledFuture<?> refresh;

  private ServerTls(ServerCredentials credentials, HttpsTls https, ScheduledFuture<?> refresh) {
    this.credentials = credentials;
    this.https = https;
    this.refresh = refresh;
  }

  /**
   * Loads the files now and schedules their refresh on {@code scheduler}.
   *
   * @throws IOException when a file cannot be read
   * @throws GeneralSecurityException when a file holds no valid certificate or key
   */
  public static ServerTls load(TlsSettings settings, ScheduledExecutorService scheduler)
      throws IOException, GeneralSecurityException {
    AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
    List<Watched> watched = new ArrayList<>();
    Watched identity =
        new Watched(
            List.of(settings.certChain(), settings.privateKey()),
            () -> loadIdentity(keys, settings.certChain(), settings.privateKey()));
    identity.reload();
    watched.add(identity);
    TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder().keyManager(keys);
    AdvancedTlsX509TrustManager clientTrust = null;
    if (settings.clientCa() != null) {
      AdvancedTlsX509TrustManager trust =
          AdvancedTlsX509TrustManager.newBuilder()
              .setVerification(
                  AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
              .build();
      Watched ca =
          new Watched(
              List.of(settings.clientCa()),
              () -> trust.updateTrustCredentials(settings.clientCa().toFile()));
      ca.reload();
      watched.add(ca);
      clientTrust = trust;
      builder
          .trustManager(trust)
          .clientAuth(
              settings.requireClientCert()
                  ? TlsServerCredentials.ClientAuth.REQUIRE
                  : TlsServerCredentials.ClientAuth.OPTIONAL);
    }
    long period = settings.refresh().toNanos();
    ScheduledFuture<?> refresh =
        scheduler.scheduleWithFixedDelay(
            () -> watched.forEach(Watched::reloadIfChanged), period, period, TimeUnit.NANOSECONDS);
    return new ServerTls(
        builder.build(), HttpsTls.of(keys, clientTrust, settings.requireClientCert()), refresh);
  }

  /**
   * Loads a certificate chain and its key into {@code keys}, only when the key belongs to the first
   * certificate: during a rotation the two files are replaced one after the other, and a check that
   * falls between them must keep the previous pair rather than serve a mismatched one (every
   * handshake would fail).
   */
  private static void loadIdentity(AdvancedTlsX509KeyManager keys, Path certFile, Path keyFile)
      throws IOException, GeneralSecurityException {
    X509Certificate[] chain;
    try (InputStream in = Files.newInputStream(certFile)) {
      chain = CertificateUtils.getX509Certificates(in);
    }
    PrivateKey key;
    try (InputStream in = Files.newInputStream(keyFile)) {
      key = CertificateUtils.getPrivateKey(in);
    }
    if (chain.length == 0) {
      throw new GeneralSecurityException(certFile + " holds no certificate");
    }
    if (!signsFor(key, chain[0].getPublicKey())) {
      throw new GeneralSecurityException(
          keyFile + " is not the private key of the first certificate in " + certFile);
    }
    keys.updateIdentityCredentials(chain, key);
  }

  /** Whether what {@code key} signs, {@code publicKey} verifies. */
  private static boolean signsFor(PrivateKey key, PublicKey publicKey) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> key.getAlgorithm(); // Ed25519, Ed448
        };
    byte[] probe = {'b', 'e', 'r', 't', 'h'};
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signer.sign());
    } catch (GeneralSecurityException e) {
      return false; // e.g. an EC key against an RSA certificate
    }
  }

  public ServerCredentials credentials() {
    return credentials;
  }

  /** The same certificate, key and client CA for the daemon's HTTPS listener; rotated alike. */
  public HttpsTls https() {
    return https;
  }

  @Override
  public void close() {
    refresh.cancel(false);
  }

  private interface Loader {
    void load() throws IOException, GeneralSecurityException;
  }

  /** Files loaded together, reloaded when any of them changes (modification time or size). */
  private static final class Watched {
    private final List<Path> files;
    private final Loader loader;
    private List<String> stamps = List.of();

    Watched(List<Path> files, Loader loader) {
      this.files = files;
      this.loader = loader;
    }

    void reload() throws IOException, GeneralSecurityException {
      List<String> now = stamps();
      loader.load();
      stamps = now;
    }

    void reloadIfChanged() {
      try {
        if (stamps().equals(stamps)) {
          return;
        }
        reload();
        log.info("TLS files reloaded: {}", files);
      } catch (IOException | GeneralSecurityException | RuntimeException e) {
        // Keep serving with the previous credentials; a half-written pair is retried next time.
        log.warn("TLS files {} not reloaded, keeping the previous ones: {}", files, e.toString());
      }
    }

    private List<String> stamps() throws IOException {
      List<String> out = new ArrayList<>();
      for (Path f : files) {
        out.add(Files.getLastModifiedTime(f).toMillis() + "/" + Files.size(f) + "/" + f);
      }
      return out;
    }
  }
}
