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
    net.jqwik.api.Assume.that(!Character.isDigit(host.charAt(host.lastIndexOf('.') + 1)));
    assertThat(HostName.of("https://" + host + "/p", "url"))
        .isEqualTo(host.toLowerCase(java.util.Locale.ROOT));
  }

  /**
   * An IPv4 address written as one to four numbers, each in decimal, octal or hex, is the address
   * in dotted decimal, as {@link java.net.InetAddress} writes it.
   */
  @Property(tries = 1000)
  void of_ipv4InAnyNumberForm_dottedDecimal(
      @ForAll int address,
      @ForAll @net.jqwik.api.constraints.IntRange(min = 1, max = 4) int parts,
      @ForAll("radixes") List<Integer> radixes,
      @ForAll boolean trailingDot)
      throws Exception {
    long value = address & 0xFFFF_FFFFL;
    StringBuilder host = new StringBuilder();
    for (int i = 0; i < parts; i++) {
      // Every part but the last is one byte; the last holds the remaining bytes.
      long part =
          i < parts - 1 ? (value >>> (8 * (3 - i))) & 0xFF : value & ((1L << (8 * (4 - i))) - 1);
      int radix = radixes.get(i % radixes.size());
      host.append(i > 0 ? "." : "")
          .append(radix == 16 ? "0x" : radix == 8 ? "0" : "")
          .append(Long.toString(part, radix));
    }
    String expected =
        java.net.InetAddress.getByAddress(
                new byte[] {
                  (byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value
                })
            .getHostAddress();

    assertThat(HostName.of("http://" + host + (trailingDot ? "." : "") + ":80/", "url"))
        .isEqualTo(expected);
  }

  @Provide
  Arbitrary<List<Integer>> radixes() {
    return Arbitraries.of(8, 10, 16).list().ofMinSize(1).ofMaxSize(4);
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
                "[::1]",
                "[2001:DB8::1]",
                "[0:0::1]",
                "[::1",
                "[1.2.3.4]",
                "127.0.0.1",
                "1572395042",
                "0x7f.1",
                "017.0.0.1",
                "a.1",
                ".",
                "..",
                "",
                "xn--bcher-kva"));
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
