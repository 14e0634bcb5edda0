package dev.berth.server.grpc;

import dev.berth.server.security.HttpsTls;
import dev.berth.server.security.TlsFiles;
import dev.berth.server.security.TlsSettings;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The listener's TLS credentials, following the files on disk: {@link TlsFiles} loads, checks and
 * re-reads them, and puts each load into grpc-util's reloading key and trust managers here, so a
 * rotated certificate applies to new connections without a restart.
 *
 * <p>Thread-safe; close it to stop the refresh.
 */
public final class ServerTls implements AutoCloseable {
  private final ServerCredentials credentials;
  private final HttpsTls https;
  private final TlsFiles files;

  private ServerTls(ServerCredentials credentials, HttpsTls https, TlsFiles files) {
    this.credentials = credentials;
    this.https = https;
    this.files = files;
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
    AdvancedTlsX509TrustManager trust =
        AdvancedTlsX509TrustManager.newBuilder()
            .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
            .build();
    TlsFiles files =
        TlsFiles.watch(
            settings,
            new TlsFiles.Sink() {
              @Override
              public void identity(X509Certificate[] chain, PrivateKey key) {
                keys.updateIdentityCredentials(chain, key);
              }

              @Override
              public void clientCas(X509Certificate[] cas)
                  throws IOException, GeneralSecurityException {
                trust.updateTrustCredentials(cas);
              }
            },
            scheduler);
    TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder().keyManager(keys);
    if (settings.clientCa() != null) {
      builder
          .trustManager(trust)
          .clientAuth(
              settings.requireClientCert()
                  ? TlsServerCredentials.ClientAuth.REQUIRE
                  : TlsServerCredentials.ClientAuth.OPTIONAL);
    }
    HttpsTls https =
        HttpsTls.of(keys, settings.clientCa() != null ? trust : null, settings.requireClientCert());
    return new ServerTls(builder.build(), https, files);
  }

  /** The credentials for a Netty listener; see {@link BrokerServer.Options#withTls}. */
  public ServerCredentials credentials() {
    return credentials;
  }

  /**
   * The same certificate, key and client CAs for the daemon's HTTPS listener (metrics and the
   * dashboard): its context shares this listener's key and trust managers, so a rotation applies to
   * both.
   */
  public HttpsTls https() {
    return https;
  }

  @Override
  public void close() {
    files.close();
  }
}
