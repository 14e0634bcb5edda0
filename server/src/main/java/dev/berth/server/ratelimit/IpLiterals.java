package dev.berth.server.ratelimit;

import com.google.common.net.InetAddresses;
import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * IP addresses in a URL's host, brought to the one form the WHATWG URL standard serialises them in,
 * so that every spelling of an address shares its rate-limit key: {@code 1572395042}, {@code
 * 0x5d.0xb8.0xd8.0x22} and {@code 93.184.216.34} are one host, as are {@code
 * [2001:db8:0:0:0:0:0:1]} and {@code [2001:db8::1]}. Host patterns are checked against the same
 * form. No DNS: only the text is read. Stateless and thread-safe.
 */
public final class IpLiterals {
  private static final long MAX_IPV4 = 0xFFFF_FFFFL;

  private IpLiterals() {}

  /**
   * Whether {@code host} (lower-case ASCII, without a trailing dot) ends in a number, as the WHATWG
   * host parser decides it: its last label is all digits, or a hex ({@code 0x..}) or octal number.
   * Such a host is an IPv4 address or not a valid host at all. Looks only at the last label, and
   * for most names only at its first character.
   */
  public static boolean endsInNumber(String host) {
    int start = host.lastIndexOf('.') + 1;
    if (start == host.length()) {
      return false;
    }
    char first = host.charAt(start);
    if (first < '0' || first > '9') {
      return false;
    }
    return number(host, start, host.length()) >= 0 || allDigits(host, start, host.length());
  }

  /**
   * The dotted-decimal form of {@code host} read as the WHATWG URL standard reads an IPv4 address:
   * one to four dot-separated numbers, each decimal, hex ({@code 0x} prefix) or octal (a leading
   * {@code 0}), the last filling the bytes the others leave. Null when it is no such address.
   *
   * <p>Neither {@link InetAddresses} nor the JDK reads these forms (Guava takes only four decimal
   * parts, and {@link InetAddress#getByName} may ask DNS), so this small parser follows the
   * standard's steps; browsers read the forms this way, so a worker fetching the URL reaches this
   * address.
   *
   * @param host lower-case ASCII, without a trailing dot
   */
  public static String ipv4(String host) {
    long address = 0;
    int parts = 0;
    int start = 0;
    while (true) {
      int dot = host.indexOf('.', start);
      int end = dot < 0 ? host.length() : dot;
      long n = number(host, start, end);
      if (n < 0 || ++parts > 4) {
        return null;
      }
      if (dot < 0) {
        // The last number fills the bytes the earlier ones left: 5 - parts of them.
        if (n >= 1L << (8 * (5 - parts))) {
          return null;
        }
        address = (address << (8 * (5 - parts))) | n;
        break;
      }
      if (n > 255) {
        return null;
      }
      address = (address << 8) | n;
      start = dot + 1;
    }
    return (address >>> 24)
        + "."
        + ((address >>> 16) & 0xFF)
        + "."
        + ((address >>> 8) & 0xFF)
        + "."
        + (address & 0xFF);
  }

  /**
   * The canonical form of a bracketed IPv6 literal ({@code [2001:db8::1]}): lower-case hex pieces
   * without leading zeros, the first longest run of two or more zero pieces written {@code ::}, and
   * no dotted IPv4 tail, as the WHATWG URL standard serialises it. Null when the brackets hold no
   * IPv6 address (a zone such as {@code %eth0} included: URLs have none).
   */
  public static String ipv6(String bracketed) {
    if (bracketed.length() < 4
        || bracketed.charAt(0) != '['
        || bracketed.charAt(bracketed.length() - 1) != ']') {
      return null;
    }
    String text = bracketed.substring(1, bracketed.length() - 1);
    if (text.indexOf(':') < 0 || text.indexOf('%') >= 0 || !InetAddresses.isInetAddress(text)) {
      return null;
    }
    InetAddress address = InetAddresses.forString(text);
    byte[] bytes = new byte[16];
    if (address instanceof Inet4Address) {
      // ::ffff:a.b.c.d, which the JDK hands back as the IPv4 address it maps.
      bytes[10] = (byte) 0xFF;
      bytes[11] = (byte) 0xFF;
      System.arraycopy(address.getAddress(), 0, bytes, 12, 4);
    } else {
      bytes = address.getAddress();
    }
    return serialise(bytes);
  }

  private static String serialise(byte[] bytes) {
    int[] pieces = new int[8];
    for (int i = 0; i < 8; i++) {
      pieces[i] = ((bytes[2 * i] & 0xFF) << 8) | (bytes[2 * i + 1] & 0xFF);
    }
    int bestStart = -1;
    int bestLength = 1; // a single zero piece is not compressed
    for (int i = 0; i < 8; ) {
      if (pieces[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < 8 && pieces[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j;
    }
    StringBuilder s = new StringBuilder(41).append('[');
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        s.append(i == 0 ? "::" : ":");
        i += bestLength - 1;
        continue;
      }
      s.append(Integer.toHexString(pieces[i]));
      if (i < 7) {
        s.append(':');
      }
    }
    return s.append(']').toString();
  }

  /**
   * The WHATWG "IPv4 number" in {@code s} from {@code start} to {@code end}: hex after {@code 0x},
   * octal after a leading {@code 0}, else decimal; {@code 0x} alone is 0. -1 when empty, not such a
   * number, or above 2^32 - 1 (too large for any part of an address).
   */
  private static long number(String s, int start, int end) {
    if (start == end) {
      return -1;
    }
    int radix = 10;
    if (end - start >= 2 && s.charAt(start) == '0' && s.charAt(start + 1) == 'x') {
      radix = 16;
      start += 2;
    } else if (end - start >= 2 && s.charAt(start) == '0') {
      radix = 8;
      start += 1;
    }
    long n = 0;
    for (int i = start; i < end; i++) {
      int digit = Character.digit(s.charAt(i), radix);
      if (digit < 0 || s.charAt(i) > 'f') {
        return -1;
      }
      n = n * radix + digit;
      if (n > MAX_IPV4) {
        return -1;
      }
    }
    return n;
  }

  private static boolean allDigits(String s, int start, int end) {
    for (int i = start; i < end; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }
}
