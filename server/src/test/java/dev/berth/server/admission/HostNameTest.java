package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.failure.BrokerException;
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
}
