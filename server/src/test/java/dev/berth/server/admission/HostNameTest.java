package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.failure.BrokerException;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostNameTest {

  @Test
  void of_upperCaseHost_lowerCases() {
    assertThat(HostName.of("HTTPS://WWW.Example.COM/Path", "url")).isEqualTo("www.example.com");
  }

  @Test
  void of_internationalisedHost_convertsToPunycode() {
    assertThat(HostName.of("https://BÜCHER.example/x", "url")).isEqualTo("xn--bcher-kva.example");
    assertThat(HostName.of("https://bücher.example", "url")).isEqualTo("xn--bcher-kva.example");
  }

  @Test
  void of_portAndUserInfo_stripsBoth() {
    assertThat(HostName.of("http://user:secret@Example.com:8080/p", "url"))
        .isEqualTo("example.com");
    assertThat(HostName.of("http://a@b@example.com/", "url")).isEqualTo("example.com");
  }

  @Test
  void of_queryOrFragmentRightAfterHost_endsHost() {
    assertThat(HostName.of("https://example.com?q=1", "url")).isEqualTo("example.com");
    assertThat(HostName.of("https://example.com#top", "url")).isEqualTo("example.com");
  }

  @Test
  void of_trailingDot_isDropped() {
    assertThat(HostName.of("https://example.com./", "url")).isEqualTo("example.com");
  }

  @Test
  void of_trailingIdeographicOrFullwidthFullStop_isDroppedToo() {
    assertThat(HostName.of("http://example.com\u3002/", "url")).isEqualTo("example.com");
    assertThat(HostName.of("http://www.example.com\uff0e/", "url")).isEqualTo("www.example.com");
    assertThat(HostName.of("http://b\u00fccher.example\u3002/", "url"))
        .isEqualTo("xn--bcher-kva.example");
  }

  @Test
  void of_ipv4InTheFormsBrowsersRead_isOneDottedDecimalHost() {
    for (String url :
        List.of(
            "http://93.184.216.34/",
            "http://1572395042/",
            "http://0x5d.0xb8.0xd8.0x22/",
            "http://0X5D.0XB8.0XD8.0X22/",
            "http://0135.0270.0330.042/",
            "http://93.12113954/",
            "http://93.184.55330/",
            "http://0x5db8d822/",
            "http://93.184.216.34./",
            "http://\uff19\uff13.184.216.34/")) {
      assertThat(HostName.of(url, "url")).as(url).isEqualTo("93.184.216.34");
    }
    assertThat(HostName.of("http://0x/", "url")).isEqualTo("0.0.0.0");
  }

  @Test
  void of_hostEndingInANumberThatIsNoIpv4Address_refusedNamingField() {
    assertRefused(
        "is not an IPv4 address",
        "http://example.0/",
        "http://1.2.3.4.5/",
        "http://256.0.0.1/",
        "http://1.2.3.0x100/",
        "http://1.2.65536/",
        "http://4294967296/",
        "http://08.1.1.1/",
        "http://0x1g.0x1/");
    // A last label that starts with a digit but is no number is a name.
    assertThat(HostName.of("http://example.1a/", "url")).isEqualTo("example.1a");
  }

  @Test
  void of_ipv6InAnySpelling_isItsCanonicalForm() {
    assertThat(HostName.of("http://[2001:db8:0:0:0:0:0:1]/", "url")).isEqualTo("[2001:db8::1]");
    assertThat(HostName.of("http://[2001:0DB8::0001]:80/", "url")).isEqualTo("[2001:db8::1]");
    assertThat(HostName.of("http://[0:0:0:0:0:0:0:0]/", "url")).isEqualTo("[::]");
    assertThat(HostName.of("http://[1:0:0:2:0:0:0:3]/", "url")).isEqualTo("[1:0:0:2::3]");
    assertThat(HostName.of("http://[::ffff:93.184.216.34]/", "url"))
        .isEqualTo("[::ffff:5db8:d822]");
    assertThat(HostName.of("http://[::ffff:5db8:d822]/", "url")).isEqualTo("[::ffff:5db8:d822]");
  }

  @Test
  void of_bracketsWithoutAnIpv6Address_refusedNamingField() {
    assertRefused(
        "IPv6",
        "http://[example.com]/",
        "http://[1.2.3.4]/",
        "http://[::1%25eth0]/",
        "http://[::1%eth0]/",
        "http://[1::2::3]/",
        "http://[12345::1]/",
        "http://[]/",
        "http://[::1]evil.com/");
  }

  /** A port no browser reads was ignored, and the URL charged to its host. */
  @Test
  void of_portThatIsNoNumberOrAbove65535_refusedNamingField() {
    assertRefused(
        "port must be a number 0..65535",
        "https://example.com:abc/",
        "https://example.com:-1/",
        "https://example.com:65536/",
        "https://example.com:99999999999999999999/",
        "http://[::1]:x/");
    assertThat(HostName.of("https://example.com:65535/", "url")).isEqualTo("example.com");
    assertThat(HostName.of("https://example.com:/", "url")).isEqualTo("example.com");
    assertThat(HostName.of("http://[::1]:/", "url")).isEqualTo("[::1]");
  }

  private static void assertRefused(String inMessage, String... urls) {
    for (String url : urls) {
      assertThatThrownBy(() -> HostName.of(url, "items[2].url"))
          .as(url)
          .isInstanceOfSatisfying(
              BrokerException.class,
              e -> assertThat(e.code()).isEqualTo(BrokerException.Code.INVALID_ARGUMENT))
          .hasMessageStartingWith("items[2].url: ")
          .hasMessageContaining(inMessage);
    }
  }

  @Test
  void of_ipv6Literal_keepsBracketsAndDropsPort() {
    assertThat(HostName.of("http://[2001:DB8::1]:8080/x", "url")).isEqualTo("[2001:db8::1]");
    assertThat(HostName.of("https://[::1]/", "url")).isEqualTo("[::1]");
  }

  @Test
  void of_ipv4Literal_isKept() {
    assertThat(HostName.of("http://127.0.0.1:9000/", "url")).isEqualTo("127.0.0.1");
  }

  @Test
  void of_unterminatedIpv6Literal_namesField() {
    assertThatThrownBy(() -> HostName.of("http://[::1/x", "pdf_url"))
        .isInstanceOfSatisfying(
            BrokerException.class,
            e -> assertThat(e.code()).isEqualTo(BrokerException.Code.INVALID_ARGUMENT))
        .hasMessageStartingWith("pdf_url: ");
  }

  @Test
  void of_hostWithForbiddenCharacter_namesField() {
    assertThatThrownBy(() -> HostName.of("http://exa mple.com/", "url"))
        .isInstanceOf(BrokerException.class)
        .hasMessageStartingWith("url: ");
  }

  @Test
  void of_otherScheme_namesFieldAndScheme() {
    assertThatThrownBy(() -> HostName.of("file://etc/passwd", "url"))
        .isInstanceOf(BrokerException.class)
        .hasMessageStartingWith("url: ")
        .hasMessageContaining("'file'");
  }

  @Test
  void of_veryLongUrl_clipsItInTheMessage() {
    String url = "gopher://" + "x".repeat(500);

    assertThatThrownBy(() -> HostName.of(url, "url"))
        .isInstanceOf(BrokerException.class)
        .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200));
  }

  @Test
  void of_backslashBeforeUserInfo_hostIsWhatBrowsersFetch() {
    assertThat(HostName.of("http://evil.com\\@good.com/", "url")).isEqualTo("evil.com");
  }

  @Test
  void of_hostLongerThanADnsName_isRefused() {
    String label = "a".repeat(60);
    String host = String.join(".", label, label, label, label, label) + ".com"; // 308 characters

    assertThatThrownBy(() -> HostName.of("https://" + host + "/", "url"))
        .isInstanceOf(BrokerException.class)
        .hasMessageContaining("url")
        .hasMessageContaining("308 characters long; a DNS name has at most 253");
  }

  @Test
  void of_hostOf253Characters_isAccepted() {
    String host =
        "a".repeat(61) + "." + "b".repeat(63) + "." + "c".repeat(63) + "." + "d".repeat(63);

    assertThat(HostName.of("https://" + host + "/", "url")).hasSize(253);
  }

  @Test
  void ofHost_normalisesAsAnAcquiresUrlIs() {
    assertThat(HostName.ofHost("PAUSE-ME.Example", "h")).isEqualTo("pause-me.example");
    assertThat(HostName.ofHost("BÜCHER.example", "h")).isEqualTo("xn--bcher-kva.example");
    assertThat(HostName.ofHost("0x7f.1", "h")).isEqualTo("127.0.0.1");
    assertThat(HostName.ofHost("[0:0::1]", "h")).isEqualTo("[::1]");
    assertThat(HostName.ofHost("example.com.", "h")).isEqualTo("example.com");
    assertThat(HostName.ofHost("", "h")).isEmpty();
  }

  @Test
  void ofHost_somethingOtherThanAHostAlone_namesTheField() {
    for (String bad :
        List.of(
            "NOT A HOST!!", "example.com:80", "a/b", "u@example.com", "[::1]:80", "x?y", "..")) {
      assertThatThrownBy(() -> HostName.ofHost(bad, "hello.held_leases.host"))
          .as(bad)
          .isInstanceOf(BrokerException.class)
          .hasMessageContaining("hello.held_leases.host");
    }
  }
}
