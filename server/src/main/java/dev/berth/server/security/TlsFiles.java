package dev.berth.server.security;

import java.io.IOException;
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
 * The TLS files of the listener ({@link TlsSettings}): the certificate chain and its key, and the
 * client CAs for mTLS, loaded, checked, and re-read when they change (every {@link
 * TlsSettings#refresh()}), so a rotated certificate takes effect for new connections without a
 * restart. Each load is handed to a {@link Sink} as plain JDK types; the transport's credentials
 * are the sink's business. Loading fails at once, naming the problem, when the files are unreadable
 * or invalid; a later bad file is logged and the sink keeps the previous material.
 *
 * <p>The files are polled rather than watched with grpc-util's scheduled reload, which silently
 * raises any period under one minute to one minute.
 *
 * <p>Thread-safe; close it to stop the refresh.
 */
public final class TlsFiles implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TlsFiles.class);

  /** What the loaded material is put into: the listener's key and trust managers. */
  public interface Sink {
    /** From now on, new connections are served {@code chain}, signed with {@code key}. */
    void identity(X509Certificate[] chain, PrivateKey key)
        throws IOException, GeneralSecurityException;

    /** From now on, client certificates must chain to one of {@code cas}. */
    void clientCas(X509Certificate[] cas) throws IOException, GeneralSecurityException;
  }

  private final ScheduledFuture<?> refresh;

  private TlsFiles(ScheduledFuture<?> refresh) {
    this.refresh = refresh;
  }

  /**
   * Loads the files into {@code sink} now and schedules their refresh on {@code scheduler}.
   *
   * @throws IOException when a file cannot be read
   * @throws GeneralSecurityException when a file holds no valid certificate or key, or the key is
   *     not the first certificate's
   */
  public static TlsFiles watch(TlsSettings settings, Sink sink, ScheduledExecutorService scheduler)
      throws IOException, GeneralSecurityException {
    List<Watched> watched = new ArrayList<>();
    Watched identity =
        new Watched(
            List.of(settings.certChain(), settings.privateKey()),
            () -> loadIdentity(sink, settings.certChain(), settings.privateKey()));
    identity.reload();
    watched.add(identity);
    if (settings.clientCa() != null) {
      Watched ca =
          new Watched(
              List.of(settings.clientCa()),
              () -> sink.clientCas(Pem.certificates(settings.clientCa())));
      ca.reload();
      watched.add(ca);
    }
    long period = settings.refresh().toNanos();
    return new TlsFiles(
        scheduler.scheduleWithFixedDelay(
            () -> watched.forEach(Watched::reloadIfChanged), period, period, TimeUnit.NANOSECONDS));
  }

  /**
   * Loads a certificate chain and its key into {@code sink}, only when the key belongs to the first
   * certificate: during a rotation the two files are replaced one after the other, and a check that
   * falls between them must keep the previous pair rather than serve a mismatched one (every
   * handshake would fail).
   */
  private static void loadIdentity(Sink sink, Path certFile, Path keyFile)
      throws IOException, GeneralSecurityException {
    X509Certificate[] chain = Pem.certificates(certFile);
    PrivateKey key = Pem.privateKey(keyFile);
    if (!signsFor(key, chain[0].getPublicKey())) {
      throw new GeneralSecurityException(
          keyFile + " is not the private key of the first certificate in " + certFile);
    }
    sink.identity(chain, key);
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
        // Keep serving with the previous material; a half-written pair is retried next time.
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
