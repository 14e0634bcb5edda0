package dev.berth.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.TlsOptions;
import java.nio.file.Path;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** TLS files named by their option, loopback detection and the words for TLS failures. */
class ChannelSecurityTest {

  @Test
  void channelBuilder_missingFile_namesTheOptionAsGiven() {
    TlsOptions tls = TlsOptions.newBuilder().trustedCertificates(Path.of("/nonexistent")).build();

    assertThatThrownBy(
            () ->
                ChannelSecurity.channelBuilder(
                    "127.0.0.1:1", tls, ChannelSecurity.OptionNames.FLAGS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--tls-ca: cannot read /nonexistent: no such file");
  }

  @Test
  void isLoopback_loopbackForms_true() {
    assertThat(Targets.isLoopback("127.0.0.1:7433")).isTrue();
    assertThat(Targets.isLoopback("127.1.2.3:7433")).isTrue();
    assertThat(Targets.isLoopback("localhost:7433")).isTrue();
    assertThat(Targets.isLoopback("[::1]:7433")).isTrue();
    assertThat(Targets.isLoopback("dns:///localhost:7433")).isTrue();
    assertThat(Targets.isLoopback("unix:///run/berth.sock")).isTrue();
  }

  @Test
  void isLoopback_otherHosts_false() {
    assertThat(Targets.isLoopback("10.0.0.5:7433")).isFalse();
    assertThat(Targets.isLoopback("broker.internal:7433")).isFalse();
    assertThat(Targets.isLoopback("dns:///broker.internal:7433")).isFalse();
    assertThat(Targets.isLoopback("[2001:db8::1]:7433")).isFalse();
    assertThat(Targets.isLoopback("127.0.0.1.example.com:7433")).isFalse();
  }

  @Test
  void explain_untrustedCertificate_namesTheCaOption() {
    Throwable e =
        new SSLHandshakeException("PKIX path building failed")
            .initCause(new CertPathBuilderException("unable to find valid certification path"));

    assertThat(TlsFailures.explain(e, ChannelSecurity.OptionNames.FLAGS))
        .contains(
            "TLS handshake with the broker failed: the broker's certificate is not trusted: it"
                + " does not chain to a CA in --tls-ca (or, without it, the system trust store)");
  }

  @Test
  void explain_nameMismatch_namesTheServerNameOption() {
    Throwable e =
        new SSLHandshakeException("No subject alternative DNS name matching x found.")
            .initCause(
                new CertificateException("No subject alternative DNS name matching x found."));

    assertThat(TlsFailures.explain(e, ChannelSecurity.OptionNames.SDK).orElseThrow())
        .contains("does not carry the name")
        .contains("tls.serverName");
  }

  @Test
  void explain_clientCertificateRequired_namesTheCertificateOptions() {
    Throwable e = new SSLException("Received fatal alert: certificate_required");

    assertThat(TlsFailures.explain(e, ChannelSecurity.OptionNames.FLAGS).orElseThrow())
        .contains("refused this client's certificate")
        .contains("--tls-cert and --tls-key");
  }

  @Test
  void explain_notTls_empty() {
    assertThat(TlsFailures.explain(new java.net.ConnectException("refused"), null)).isEmpty();
    assertThat(TlsFailures.explain(null, null)).isEmpty();
  }
}
