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

/** The command-line TLS flags, loopback detection and the words for TLS failures. */
class ChannelSecurityTest {

  @Test
  void fromFlags_none_plaintext() {
    assertThat(ChannelSecurity.fromFlags(false, null, "", null, null)).isNull();
  }

  @Test
  void fromFlags_tlsAlone_systemTrust() {
    TlsOptions tls = ChannelSecurity.fromFlags(true, null, null, null, null);

    assertThat(tls).isNotNull();
    assertThat(tls.trustedCertificates()).isEmpty();
  }

  @Test
  void fromFlags_anyTlsFlag_impliesTls() {
    TlsOptions tls = ChannelSecurity.fromFlags(false, null, null, null, "broker.internal");

    assertThat(tls.serverName()).contains("broker.internal");
    assertThat(ChannelSecurity.fromFlags(false, "ca.pem", null, null, null).trustedCertificates())
        .contains(Path.of("ca.pem"));
  }

  @Test
  void fromFlags_certWithoutKey_namesBothFlags() {
    assertThatThrownBy(() -> ChannelSecurity.fromFlags(false, null, "c.pem", null, null))
        .hasMessage("--tls-cert needs --tls-key (the certificate's private key)");
    assertThatThrownBy(() -> ChannelSecurity.fromFlags(false, null, null, "k.pem", null))
        .hasMessage("--tls-key needs --tls-cert (the certificate of the key)");
  }

  @Test
  void fromFlags_badServerName_namesTheFlag() {
    assertThatThrownBy(() -> ChannelSecurity.fromFlags(false, null, null, null, "a b"))
        .hasMessageStartingWith("--tls-server-name: must be a host name or IP address");
  }

  @Test
  void check_missingFile_namesTheFlag() {
    TlsOptions tls = TlsOptions.newBuilder().trustedCertificates(Path.of("/nonexistent")).build();

    assertThatThrownBy(() -> ChannelSecurity.check(tls, ChannelSecurity.OptionNames.FLAGS))
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
