package dev.berth.client.internal;

import java.util.Locale;

/** What a gRPC target string says about where it points, without resolving any name. */
public final class Targets {
  private Targets() {}

  /**
   * Whether {@code target} names this machine by a loopback address or {@code localhost}: {@code
   * 127.0.0.1:7433}, {@code localhost:7433}, {@code [::1]:7433}, {@code dns:///localhost:7433} or a
   * {@code unix:} socket. A name that might resolve to loopback is not loopback here.
   */
  public static boolean isLoopback(String target) {
    String t = target.trim().toLowerCase(Locale.ROOT);
    if (t.startsWith("unix:")) {
      return true;
    }
    int scheme = t.indexOf(":///");
    if (scheme >= 0) {
      t = t.substring(scheme + 4);
    } else if (t.startsWith("dns:")) {
      t = t.substring(4);
    }
    String host;
    if (t.startsWith("[")) {
      int end = t.indexOf(']');
      host = end < 0 ? t : t.substring(1, end);
    } else {
      int colon = t.lastIndexOf(':');
      host = colon < 0 ? t : t.substring(0, colon);
    }
    return host.equals("localhost")
        || host.equals("::1")
        || host.equals("0:0:0:0:0:0:0:1")
        || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
  }
}
