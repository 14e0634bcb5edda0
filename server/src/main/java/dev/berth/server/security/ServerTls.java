package dev.berth.server.security;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Server TLS credentials whose certificate, key and client CA are re-read from disk every {@link
 * TlsSettings#refresh()}, so a rotated certificate takes effect for new connections without a
 * restart. Loading fails at once, naming the problem, when the files are unreadable or invalid.
 *
 * <p>Thread-safe; close it to stop the refresh.
 */
public final class ServerTls implements AutoCloseable {
  private final ServerCredentials credentials;
  private final List<AutoCloseable> refreshers;

  private ServerTls(ServerCredentials credentials, List<AutoCloseable> refreshers) {
    this.credentials = credentials;
    this.refreshers = refreshers;
  }

  /**
   * Loads the files now and schedules their refresh on {@code scheduler}.
   *
   * @throws IOException when a file cannot be read
   * @throws GeneralSecurityException when a file holds no valid certificate or key
   */
  public static ServerTls load(TlsSettings settings, ScheduledExecutorService scheduler)
      throws IOException, GeneralSecurityException {
    long period = settings.refresh().toNanos();
    List<AutoCloseable> refreshers = new ArrayList<>();
    AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
    refreshers.add(
        keys.updateIdentityCredentials(
                settings.certChain().toFile(),
                settings.privateKey().toFile(),
                period,
                TimeUnit.NANOSECONDS,
                scheduler)
            ::close);
    TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder().keyManager(keys);
    if (settings.clientCa() != null) {
      AdvancedTlsX509TrustManager trust =
          AdvancedTlsX509TrustManager.newBuilder()
              .setVerification(
                  AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
              .build();
      refreshers.add(
          trust.updateTrustCredentials(
                  settings.clientCa().toFile(), period, TimeUnit.NANOSECONDS, scheduler)
              ::close);
      builder
          .trustManager(trust)
          .clientAuth(
              settings.requireClientCert()
                  ? TlsServerCredentials.ClientAuth.REQUIRE
                  : TlsServerCredentials.ClientAuth.OPTIONAL);
    }
    return new ServerTls(builder.build(), refreshers);
  }

  public ServerCredentials credentials() {
    return credentials;
  }

  @Override
  public void close() {
    for (AutoCloseable refresher : refreshers) {
      try {
        refresher.close();
      } catch (Exception e) {
        // Closing a refresh task only cancels a scheduled future; nothing to recover.
      }
    }
  }
}
