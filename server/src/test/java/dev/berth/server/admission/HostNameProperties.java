package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.failure.BrokerException;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The ASCII fast path of {@link HostName#of(String, String)} changes no answer: for URLs built from
 * the pieces that matter (schemes in any case, user info, ports, IPv6 literals, plain and
 * internationalised names, empty and 63/64-character labels, trailing and ideographic dots,
 * characters a host may not hold), it returns the same host as the path that sends every host
 * through {@link java.net.IDN}, or fails with the same message.
 */
class HostNameProperties {

  @Property(tries = 3000)
  void of_anyUrl_sameAnswerWithAndWithoutAsciiFastPath(@ForAll("urls") String url) {
    assertThat(answer(url, true)).isEqualTo(answer(url, false));
  }

  @Property(tries = 500)
  void of_plainAsciiHost_lowerCasedHostItself(@ForAll("plainHosts") String host) {
    assertThat(HostName.of("https://" + host + "/p", "url"))
        .isEqualTo(host.toLowerCase(java.util.Locale.ROOT));
  }

  /** The host, or the error's message: both paths must agree on either. */
  private static String answer(String url, boolean fastPath) {
    try {
      return "host " + HostName.of(url, "url", fastPath);
    } catch (BrokerException e) {
      return "error " + e.code() + " " + e.getMessage();
    }
  }

  @Provide
  Arbitrary<String> urls() {
    Arbitrary<String> scheme =
        Arbitraries.of("http", "https", "HTTP", "HtTpS", "ftp", "", "h\u017Ftt", "http\u017F");
    Arbitrary<String> separator = Arbitraries.of("://", "://", "://", ":/", "//");
    Arbitrary<String> userInfo = Arbitraries.of("", "", "user@", "u:p@", "a@b@", "@");
    Arbitrary<String> host =
        Arbitraries.oneOf(
            plainHosts(),
            hosts(),
            Arbitraries.of(
                "[::1]", "[2001:DB8::1]", "[::1", "127.0.0.1", ".", "..", "", "xn--bcher-kva"));
    Arbitrary<String> port = Arbitraries.of("", "", ":8080", ":", ":x");
    Arbitrary<String> rest = Arbitraries.of("", "/", "/path?q=1", "?q", "#f", "\\@good.com/");
    return Combinators.combine(List.of(scheme, separator, userInfo, host, port, rest))
        .as(parts -> String.join("", parts));
  }

  /** Names of labels of the characters a host is made of, and a few it may not hold. */
  private static Arbitrary<String> hosts() {
    Arbitrary<String> label =
        Arbitraries.oneOf(
            Arbitraries.strings()
                .withChars("aZ09-_.\u00fc\u00dc \u3002\uff0e%:")
                .ofMinLength(0)
                .ofMaxLength(8),
            Arbitraries.strings().withChars("ab").ofLength(63),
            Arbitraries.strings().withChars("ab").ofLength(64));
    return label.list().ofMinSize(1).ofMaxSize(4).map(labels -> String.join(".", labels));
  }

  @Provide
  Arbitrary<String> plainHosts() {
    Arbitrary<String> label =
        Arbitraries.strings()
            .withCharRange('a', 'z')
            .withChars("AZ09-_")
            .ofMinLength(1)
            .ofMaxLength(63);
    return label.list().ofMinSize(1).ofMaxSize(5).map(labels -> String.join(".", labels));
  }
}
