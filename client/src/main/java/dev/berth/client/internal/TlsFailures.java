package dev.berth.client.internal;

import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Explains a failed TLS handshake in words an operator can act on. gRPC reports every one as {@code
 * UNAVAILABLE: io exception} or {@code ssl exception}; the reason is in the cause chain.
 */
public final class TlsFailures {
  private TlsFailures() {}

  /**
   * What went wrong, when {@code error} (or a cause of it) is a TLS failure: {@code TLS handshake
   * with the broker failed: ...}, naming the option to change; empty for any other failure.
   */
  public static Optional<String> explain(Throwable error, ChannelSecurity.OptionNames names) {
    SSLException ssl = null;
    boolean untrusted = false;
    CertificateException certificate = null;
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLException e && ssl == null) {
        ssl = e;
      }
      if (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException) {
        untrusted = true;
      }
      if (t instanceof CertificateException e && certificate == null) {
        certificate = e;
      }
    }
    if (ssl == null) {
      return Optional.empty();
    }
    String message = String.valueOf(ssl.getMessage());
    String lower = message.toLowerCase(Locale.ROOT);
    String why;
    if (untrusted || lower.contains("pkix path")) {
      why =
          "the broker's certificate is not trusted: it does not chain to a CA in "
              + names.ca()
              + " (or, without it, the system trust store)";
    } else if (certificate != null
        && String.valueOf(certificate.getMessage()).toLowerCase(Locale.ROOT).contains("name")) {
      why =
          "the broker's certificate does not carry the name connected to ("
              + certificate.getMessage()
              + "); set "
              + names.serverName()
              + " to a name it carries";
    } else if (lower.contains("certificate_required")
        || lower.contains("bad_certificate")
        || lower.contains("unknown_ca")
        || lower.contains("certificate_unknown")) {
      why =
          "the broker refused this client's certificate ("
              + message
              + "); it requires one signed by its client CA: set "
              + names.cert()
              + " and "
              + names.key();
    } else {
      why = message;
    }
    return Optional.of("TLS handshake with the broker failed: " + why);
  }
}
