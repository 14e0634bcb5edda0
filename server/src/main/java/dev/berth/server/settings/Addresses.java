package dev.berth.server.settings;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import com.google.common.net.InternetDomainName;
import java.net.InetSocketAddress;

/**
 * Parses and formats {@code HOST:PORT} listen addresses with Guava's {@link HostAndPort}: a host
 * name or IPv4 address ({@code 127.0.0.1:7433}, {@code localhost:7433}), or an IPv6 address in
 * brackets ({@code [::1]:7433}). Stateless and thread-safe.
 */
public final class Addresses {
  private static final String FORM = "HOST:PORT (IPv6 in brackets: [::1]:7433)";

  private Addresses() {}

  /**
   * Parses {@code HOST:PORT}. Port 0 picks a free port. The address is left unresolved.
   *
   * @throws ConfigException naming {@code key}, the rule and the value when the text is not an
   *     address
   */
  public static InetSocketAddress parse(String key, String value) {
    String v = value.trim();
    HostAndPort address;
    try {
      address = HostAndPort.fromString(v);
    } catch (IllegalArgumentException e) {
      // An unclosed bracket, a port out of range or not a number, text after the bracket.
      throw new ConfigException(key, "must be " + FORM + ", got '" + value + "'" + why(v));
    }
    if (!address.hasPort()) {
      String hint =
          v.endsWith(":")
              ? " (the port must be a number)"
              : v.indexOf(':') != v.lastIndexOf(':') ? " (an IPv6 host needs brackets)" : "";
      throw new ConfigException(key, "must be " + FORM + ", got '" + value + "'" + hint);
    }
    String host = address.getHost();
    boolean bracketed = v.startsWith("[");
    boolean ip = InetAddresses.isInetAddress(host);
    if (host.isEmpty()
        || (bracketed && !(ip && host.indexOf(':') >= 0))
        || (!ip && !InternetDomainName.isValid(host))) {
      throw new ConfigException(
          key, "must be " + FORM + ", got '" + value + "' (no valid host before the port)");
    }
    return InetSocketAddress.createUnresolved(host, address.getPort());
  }

  /** What is wrong with text {@link HostAndPort} refused, in words; empty when unclear. */
  private static String why(String v) {
    int close = v.indexOf(']');
    if (v.startsWith("[") && close < 0) {
      return " (no closing ']')";
    }
    if (v.startsWith("[") && v.substring(1, close).indexOf(':') < 0) {
      return " (brackets hold an IPv6 address)";
    }
    int colon = v.lastIndexOf(':');
    if (colon < 0 || colon < close || (close >= 0 && colon != close + 1)) {
      return "";
    }
    String port = v.substring(colon + 1);
    return port.chars().allMatch(Character::isDigit)
        ? " (the port must be 0..65535)"
        : " (the port must be a number)";
  }

  /** {@code host:port}, with IPv6 hosts in brackets. */
  public static String format(InetSocketAddress address) {
    return HostAndPort.fromParts(address.getHostString(), address.getPort()).toString();
  }
}
