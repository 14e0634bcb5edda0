package dev.berth.server.ratelimit;

/**
 * Checks host patterns against the form {@code HostName} gives hosts, so a pattern that could never
 * match (upper case, a Unicode name, a stray {@code *}) is a start-up error instead of a silent
 * no-op.
 */
final class HostPatterns {
  private static final int MAX_NAME = 253;

  private HostPatterns() {}

  /** What is wrong with {@code pattern}, or null when it is valid. */
  static String problem(String pattern) {
    if (pattern == null || pattern.isEmpty()) {
      return "a host pattern must not be empty";
    }
    if (pattern.startsWith("[")) {
      return ipv6Problem(pattern);
    }
    String name = pattern.startsWith("*.") ? pattern.substring(2) : pattern;
    if (name.isEmpty()) {
      return "a wildcard needs a domain after '*.', e.g. '*.example.com'";
    }
    if (name.length() > MAX_NAME) {
      return "a host name is at most " + MAX_NAME + " characters";
    }
    int labelStart = 0;
    for (int i = 0; i <= name.length(); i++) {
      char c = i < name.length() ? name.charAt(i) : '.';
      if (c == '.') {
        if (i == labelStart) {
          return "empty label in '" + pattern + "' (leading, trailing or doubled '.')";
        }
        labelStart = i + 1;
      } else if (c == '*') {
        return "'*' is allowed only as a leading '*.', e.g. '*.example.com'";
      } else if (c >= 'A' && c <= 'Z') {
        return "must be lower-case, as hosts are compared lower-cased";
      } else if (c > 0x7f) {
        return "must be ASCII; write an internationalised name in punycode (xn--...)";
      } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        return "contains '" + c + "'; host names use a-z, 0-9, '-', '_' and '.'";
      }
    }
    return null;
  }

  private static String ipv6Problem(String pattern) {
    if (pattern.length() < 3 || !pattern.endsWith("]")) {
      return "an IPv6 literal is written in brackets, e.g. '[2001:db8::1]'";
    }
    for (int i = 1; i < pattern.length() - 1; i++) {
      char c = pattern.charAt(i);
      boolean ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
      if (!ok) {
        return "an IPv6 literal uses lower-case hex digits, ':' and '.', got '" + c + "'";
      }
    }
    return null;
  }
}
