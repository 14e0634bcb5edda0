package dev.berth.server.admission;

import dev.berth.server.failure.BrokerException;
import java.net.IDN;
import java.util.Locale;

/**
 * Extracts the rate-limit key from a URL: its host, lower-cased, internationalised names in their
 * ASCII (punycode) form, without user info or port. Only {@code http} and {@code https} URLs are
 * accepted, since those are what workers render.
 */
public final class HostName {
  private HostName() {}

  /**
   * The normalised host of {@code url}.
   *
   * @param field the request field being validated, named in errors
   * @throws BrokerException INVALID_ARGUMENT naming {@code field} and the rule it broke
   */
  public static String of(String url, String field) {
    int schemeEnd = url.indexOf("://");
    if (schemeEnd <= 0) {
      throw BrokerException.invalid(
          field, "must be an absolute http(s) URL, got '" + clip(url) + "'");
    }
    String scheme = url.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
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
    String authority = url.substring(authorityStart, authorityEnd);
    int at = authority.lastIndexOf('@');
    String hostPort = at >= 0 ? authority.substring(at + 1) : authority;
    String host;
    if (hostPort.startsWith("[")) {
      int close = hostPort.indexOf(']');
      if (close < 0) {
        throw BrokerException.invalid(field, "unterminated IPv6 literal in '" + clip(url) + "'");
      }
      host = hostPort.substring(0, close + 1);
    } else {
      int colon = hostPort.indexOf(':');
      host = colon >= 0 ? hostPort.substring(0, colon) : hostPort;
    }
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    if (host.isEmpty()) {
      throw BrokerException.invalid(field, "URL has no host: '" + clip(url) + "'");
    }
    if (host.startsWith("[")) {
      return host.toLowerCase(Locale.ROOT);
    }
    String ascii;
    try {
      ascii = IDN.toASCII(host, IDN.ALLOW_UNASSIGNED);
    } catch (IllegalArgumentException e) {
      throw BrokerException.invalid(field, "host '" + clip(host) + "' is not a valid name");
    }
    ascii = ascii.toLowerCase(Locale.ROOT);
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

  private static String clip(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
