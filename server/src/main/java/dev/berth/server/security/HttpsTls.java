package dev.berth.server.security;

import java.security.GeneralSecurityException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The daemon's TLS credentials for the HTTPS listener (the metrics and dashboard port): an {@link
 * SSLContext} over the very key and trust managers the gRPC listener uses. Those managers are
 * updated in place when {@link TlsFiles} re-reads rotated files, so new HTTPS connections get the
 * new certificate too, without a restart.
 *
 * <p>Immutable and thread-safe (the managers it holds are).
 *
 * @param context the context to create server engines from
 * @param requireClientCert refuse clients without a certificate from the client CA (mTLS)
 * @param wantClientCert ask clients for a certificate and check it when given
 */
public record HttpsTls(SSLContext context, boolean requireClientCert, boolean wantClientCert) {

  /**
   * A context over {@code keys} and, for mTLS, {@code clientTrust} (null: no client certificates).
   * The managers may be updated in place later; new connections see the update.
   */
  public static HttpsTls of(
      X509ExtendedKeyManager keys, X509ExtendedTrustManager clientTrust, boolean require) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(
          new KeyManager[] {keys},
          clientTrust == null ? null : new TrustManager[] {clientTrust},
          null);
      return new HttpsTls(context, clientTrust != null && require, clientTrust != null);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM offers no TLS context", e);
    }
  }

  /** Applies the client-certificate policy to one connection's parameters. */
  public SSLParameters parameters(SSLParameters defaults) {
    if (requireClientCert) {
      defaults.setNeedClientAuth(true);
    } else if (wantClientCert) {
      defaults.setWantClientAuth(true);
    }
    return defaults;
  }
}
