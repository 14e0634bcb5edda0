package dev.berth.server.security;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;

/**
 * TLS on the listener.
 *
 * @param certChain the server's certificate chain, PEM
 * @param privateKey its private key, PEM (PKCS#8)
 * @param clientCa CA certificates that client certificates must chain to, PEM; null for no mTLS
 * @param requireClientCert refuse clients without a certificate (mTLS); needs {@code clientCa}
 * @param refresh how often the files are re-read, so rotated certificates apply without restart
 */
public record TlsSettings(
    Path certChain, Path privateKey, Path clientCa, boolean requireClientCert, Duration refresh) {

  public TlsSettings {
    requireNonNull(certChain, "certChain");
    requireNonNull(privateKey, "privateKey");
    requireNonNull(refresh, "refresh");
    if (requireClientCert && clientCa == null) {
      throw new IllegalArgumentException("tls.require_client_cert needs tls.client_ca");
    }
    if (refresh.isNegative() || refresh.isZero()) {
      throw new IllegalArgumentException("tls.refresh: must be a positive duration");
    }
  }
}
