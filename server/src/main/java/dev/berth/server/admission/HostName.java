package dev.berth.server.admission;

import dev.berth.server.failure.BrokerException;
import dev.berth.server.ratelimit.IpLiterals;
import java.net.IDN;
import java.util.Locale;

/**
 * Extracts the rate-limit key from a URL: its host, lower-cased, internationalised names in their
 * ASCII (punycode) form, without user info, port or trailing dot; IP addresses in the one form the
 * WHATWG URL standard gives them ({@link IpLiterals}), so every spelling of a host shares its
 * bucket. Only {@code http} and {@code https} URLs are accepted, since those are what workers
 * render. Stateless and thread-safe.
 */
public final class HostName {
  /** The longest label of a DNS name, as {@link IDN#toASCII} enforces it. */
  private static final int MAX_LABEL = 63;

  /** The longest DNS name, in its ASCII form and without the trailing dot. */
  public static final int MAX_NAME = 253;

  private HostName() {}

  /**
   * The normalised host of {@code url}.
   *
   * <p>A plain ASCII host ({@code www.example.com}: letters, digits, '-', '_', non-empty labels of
   * at most 63 characters) is only lower-cased: {@link IDN#toASCII} returns such a name unchanged,
   * so the fast path gives the same host without its cost, which was a fifth of the broker's own
   * lease cycle (docs/benchmarks.md). Every other host takes the full IDN path. Either way, a host
   * whose last label is a number is an IPv4 address in one of the forms browsers read ({@code
   * 1572395042}, {@code 0x5d.0xb8.0xd8.0x22}), given in dotted decimal, or refused; checking costs
   * one look at the last label's first character. IPv6 literals are validated and given in their
   * canonical form.
   *
   * @param field the request field being validated, named in errors
   * @throws BrokerException INVALID_ARGUMENT naming {@code field} and the rule it broke
   */
  public static String of(String url, String field) {
    return of(url, field, true);
  }

  /**
   * {@link #of(String, String)}, with the ASCII fast path or without it (every host through {@link
   * IDN}); tests check that both give the same answers.
   */
  static String of(String url, String field, boolean asciiFastPath) {
    int schemeEnd = url.indexOf("://");
    if (schemeEnd <= 0) {
      throw BrokerException.invalid(
          field, "must be an absolute http(s) URL, got '" + clip(url) + "'");
    }
    if (!isHttpScheme(url, schemeEnd)) {
      String scheme = url.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
      throw BrokerException.invalid(
          field, "scheme must be http or https, got '" + clip(scheme) + "'");
    }
    int authorityStart = schemeEnd + 3;
    int authorityEnd = url.length();
    for (int i = authorityStart; i < url.length(); i++) {
      char c = url.charAt(i);
      // A backslash ends the authority too, as browsers read http(s) URLs; otherwise
      // "http://evil.com\\@good.com/" would be charged to good.com's rate while evil.com is
      // fetched.
      if (c == '/' || c == '?' || c == '#' || c == '\\') {
        authorityEnd = i;
        break;
      }
    }
    int hostStart = authorityStart;
    for (int i = authorityEnd - 1; i >= authorityStart; i--) {
      if (url.charAt(i) == '@') {
        hostStart = i + 1;
        break;
      }
    }
    int hostEnd;
    if (hostStart < authorityEnd && url.charAt(hostStart) == '[') {
      int close = url.indexOf(']', hostStart);
      if (close < 0 || close >= authorityEnd) {
        throw BrokerException.invalid(field, "unterminated IPv6 literal in '" + clip(url) + "'");
      }
      if (close + 1 < authorityEnd && url.charAt(close + 1) != ':') {
        throw BrokerException.invalid(
            field, "only a ':port' may follow an IPv6 literal, in '" + clip(url) + "'");
      }
      requirePort(url, close + 1, authorityEnd, field);
      String literal = url.substring(hostStart, close + 1);
      String canonical = IpLiterals.ipv6(literal);
      if (canonical == null) {
        throw BrokerException.invalid(
            field, "host '" + clip(literal) + "' is not a valid IPv6 address");
      }
      return canonical;
    } else {
      hostEnd = authorityEnd;
      for (int i = hostStart; i < authorityEnd; i++) {
        if (url.charAt(i) == ':') {
          hostEnd = i;
          requirePort(url, i, authorityEnd, field);
          break;
        }
      }
    }
    if (hostEnd > hostStart && url.charAt(hostEnd - 1) == '.') {
      hostEnd--;
    }
    if (hostEnd == hostStart) {
      throw BrokerException.invalid(field, "URL has no host: '" + clip(url) + "'");
    }
    String host = url.substring(hostStart, hostEnd);
    String ascii =
        asciiFastPath && isPlainAscii(host) ? host.toLowerCase(Locale.ROOT) : idn(host, field);
    if (ascii.length() > MAX_NAME) {
      // A lease's host is declared back on every resume, where a longer one is refused: refused
      // here, it never becomes a lease its worker cannot declare.
      throw BrokerException.invalid(
          field,
          "host '"
              + clip(host)
              + "' is "
              + ascii.length()
              + " characters long; a DNS name has at most "
              + MAX_NAME);
    }
    if (IpLiterals.endsInNumber(ascii)) {
      String address = IpLiterals.ipv4(ascii);
      if (address == null) {
        throw BrokerException.invalid(
            field,
            "host '"
                + clip(host)
                + "' ends in a number but is not an IPv4 address (such a host must be one)");
      }
      return address;
    }
    return ascii;
  }

  /**
   * Checks the port of an authority, {@code url[colon, end)} (from its ':', or empty): digits, at
   * most 65535, as browsers read it; an empty port is the scheme's. A URL no browser would open,
   * such as {@code https://example.com:abc/}, is refused rather than charged to a host.
   */
  private static void requirePort(String url, int colon, int end, String field) {
    int value = 0;
    for (int i = colon + 1; i < end; i++) {
      char c = url.charAt(i);
      value = c >= '0' && c <= '9' ? Math.min(value * 10 + (c - '0'), 65536) : -1;
      if (value < 0 || value > 65535) {
        throw BrokerException.invalid(
            field,
            "port must be a number 0..65535, got '" + clip(url.substring(colon + 1, end)) + "'");
      }
    }
  }

  /**
   * {@code host} through {@link IDN#toASCII}, lower-cased, without the trailing dot a Unicode full
   * stop ({@code 。}, {@code ．}) becomes.
   */
  private static String idn(String host, String field) {
    String ascii;
    try {
      ascii = IDN.toASCII(host, IDN.ALLOW_UNASSIGNED);
    } catch (IllegalArgumentException e) {
      throw BrokerException.invalid(field, "host '" + clip(host) + "' is not a valid name");
    }
    ascii = ascii.toLowerCase(Locale.ROOT);
    if (ascii.endsWith(".")) {
      ascii = ascii.substring(0, ascii.length() - 1);
      if (ascii.isEmpty()) {
        throw BrokerException.invalid(field, "host '" + clip(host) + "' is not a valid name");
      }
    }
    for (int i = 0; i < ascii.length(); i++) {
      char c = ascii.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
      if (!ok) {
        throw BrokerException.invalid(field, "host '" + clip(host) + "' contains '" + c + "'");
      }
    }
    return ascii;
  }

  /**
   * A host as a lease names it (what {@link #of} gives for its URL), normalised the same way, so
   * that a host a worker declares on a resume is charged to the same bucket as one it acquired for:
   * a name, an IPv4 address or a bracketed IPv6 address, with no port, path or user. Empty stays
   * empty (a lease with no URL).
   *
   * @throws BrokerException INVALID_ARGUMENT naming {@code field} and the rule it broke
   */
  public static String ofHost(String host, String field) {
    if (host.isEmpty()) {
      return host;
    }
    boolean bracketed = host.charAt(0) == '[';
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c == '/'
          || c == '?'
          || c == '#'
          || c == '\\'
          || c == '@'
          || c <= ' '
          || (c == ':' && !bracketed)) {
        throw BrokerException.invalid(
            field,
            "must be a host name or address alone (no scheme, port, path or user), got '"
                + clip(host)
                + "'");
      }
    }
    if (bracketed && host.charAt(host.length() - 1) != ']') {
      throw BrokerException.invalid(
          field, "must be a bracketed IPv6 address alone, got '" + clip(host) + "'");
    }
    return of("http://" + host + "/", field);
  }

  /**
   * Whether {@code url} up to {@code schemeEnd} is "http" or "https" in any ASCII case. Not {@link
   * String#regionMatches(boolean, int, String, int, int)}: it would take the long s (U+017F) for an
   * 's'.
   */
  private static boolean isHttpScheme(String url, int schemeEnd) {
    if (schemeEnd != 4 && schemeEnd != 5) {
      return false;
    }
    // c | 0x20 is the lower case of an ASCII letter, and equals a lower-case letter for no other
    // character.
    return (url.charAt(0) | 0x20) == 'h'
        && (url.charAt(1) | 0x20) == 't'
        && (url.charAt(2) | 0x20) == 't'
        && (url.charAt(3) | 0x20) == 'p'
        && (schemeEnd == 4 || (url.charAt(4) | 0x20) == 's');
  }

  /**
   * Whether {@code host} is a name {@link IDN#toASCII} returns unchanged: ASCII letters, digits,
   * '-' and '_' in dot-separated labels of 1 to 63 characters. Anything else (an empty label, a
   * long one, any other character) takes the IDN path and its errors.
   */
  private static boolean isPlainAscii(String host) {
    int label = 0;
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c == '.') {
        if (label == 0) {
          return false;
        }
        label = 0;
      } else if ((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_') {
        if (++label > MAX_LABEL) {
          return false;
        }
      } else {
        return false;
      }
    }
    return label > 0;
  }

  private static String clip(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
