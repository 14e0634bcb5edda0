package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How a {@link BrokerClient} secures its connection with TLS: whom it trusts, the certificate it
 * shows when the broker asks for one (mTLS), and the name it expects on the broker's certificate.
 *
 * <pre>{@code
 * TlsOptions tls =
 *     TlsOptions.newBuilder()
 *         .trustedCertificates(Path.of("/etc/berth/tls/ca.pem"))
 *         .clientCertificate(Path.of("worker.pem"), Path.of("worker.key"))
 *         .build();
 * BrokerClient client = BrokerClient.newBuilder().target("broker:7433").tls(tls).build();
 * }</pre>
 *
 * <p>The files are read when the client is built ({@link BrokerClient.Builder#build()}), which
 * fails naming the option and the file when one is missing, unreadable or not PEM. Immutable and
 * thread-safe.
 */
public final class TlsOptions {
  private final Path trustedCertificates;
  private final Path clientCertificate;
  private final Path clientKey;
  private final String serverName;

  private TlsOptions(Builder b) {
    this.trustedCertificates = b.trustedCertificates;
    this.clientCertificate = b.clientCertificate;
    this.clientKey = b.clientKey;
    this.serverName = b.serverName;
  }

  /** TLS trusting the JVM's default trust store, no client certificate, the target's host name. */
  public static TlsOptions systemTrust() {
    return newBuilder().build();
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** The CA bundle (PEM) the broker's certificate must chain to; empty for the system trust. */
  public Optional<Path> trustedCertificates() {
    return Optional.ofNullable(trustedCertificates);
  }

  /** The client certificate chain (PEM) shown to the broker; empty for none. */
  public Optional<Path> clientCertificate() {
    return Optional.ofNullable(clientCertificate);
  }

  /** The private key (PKCS#8 PEM) of {@link #clientCertificate()}; empty for none. */
  public Optional<Path> clientKey() {
    return Optional.ofNullable(clientKey);
  }

  /**
   * The name the broker's certificate must carry, and the authority sent, instead of the target's
   * host; empty to use the target's host.
   */
  public Optional<String> serverName() {
    return Optional.ofNullable(serverName);
  }

  @Override
  public String toString() {
    return "TlsOptions{trust="
        + (trustedCertificates == null ? "system" : trustedCertificates)
        + (clientCertificate == null ? "" : ", cert=" + clientCertificate + ", key=" + clientKey)
        + (serverName == null ? "" : ", serverName=" + serverName)
        + "}";
  }

  /** Collects TLS settings; {@link #build()} checks them. Not thread-safe. */
  public static final class Builder {
    private Path trustedCertificates;
    private Path clientCertificate;
    private Path clientKey;
    private String serverName;

    private Builder() {}

    /**
     * Trust only the CA certificates in {@code caBundle} (one or more PEM certificates) instead of
     * the JVM's default trust store.
     */
    public Builder trustedCertificates(Path caBundle) {
      this.trustedCertificates = requireNonNull(caBundle, "trustedCertificates");
      return this;
    }

    /**
     * The certificate chain (PEM, leaf first) and its private key (PKCS#8 PEM, {@code BEGIN PRIVATE
     * KEY}) to show a broker that requires client certificates (mTLS).
     */
    public Builder clientCertificate(Path certificateChain, Path privateKey) {
      this.clientCertificate = requireNonNull(certificateChain, "clientCertificate");
      this.clientKey = requireNonNull(privateKey, "clientKey");
      return this;
    }

    /**
     * The name to verify the broker's certificate against (and to send as the authority), when it
     * differs from the target's host, e.g. when connecting by IP address to a broker whose
     * certificate names {@code broker.internal}.
     */
    public Builder serverName(String value) {
      this.serverName = requireNonNull(value, "serverName");
      return this;
    }

    /**
     * Checks the settings that need no file.
     *
     * @throws IllegalArgumentException naming the setting that breaks its rule
     */
    public TlsOptions build() {
      if (serverName != null && !validServerName(serverName)) {
        throw new IllegalArgumentException(
            "tls.serverName: must be a host name or IP address (letters, digits, '.', '-', ':'),"
                + " got '"
                + serverName
                + "'");
      }
      return new TlsOptions(this);
    }

    private static boolean validServerName(String name) {
      return !name.isEmpty()
          && name.length() <= 253
          && name.chars()
              .allMatch(c -> c < 128 && (Character.isLetterOrDigit(c) || ".-:_[]".indexOf(c) >= 0));
    }
  }
}
