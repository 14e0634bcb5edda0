package dev.berth.server.settings;

import java.net.InetSocketAddress;

/** Parses and formats {@code HOST:PORT} listen addresses. */
public final class Addresses {
  private Addresses() {}

  /**
   * Parses {@code HOST:PORT}; IPv6 hosts in brackets ({@code [::1]:7433}). Port 0 picks a free
   * port.
   *
   * @throws ConfigException naming {@code key} when the text is not an address
   */
  public static InetSocketAddress parse(String key, String value) {
    String v = value.trim();
    int colon = v.lastIndexOf(':');
    if (colon <= 0 || colon == v.length() - 1) {
      throw new ConfigException(key, "must be HOST:PORT, got '" + value + "'");
    }
    String host = v.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(v.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException(key, "must be HOST:PORT with a numeric port, got '" + value + "'");
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException(key, "port must be 0..65535, got " + port);
    }
    return InetSocketAddress.createUnresolved(host, port);
  }

  /** {@code host:port}, with IPv6 hosts in brackets. */
  public static String format(InetSocketAddress address) {
    String host = address.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
  }
}
