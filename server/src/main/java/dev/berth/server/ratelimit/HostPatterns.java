package dev.berth.server.ratelimit;

/**
 * Checks host patterns against the form {@code HostName} gives hosts, so a pattern that could never
 * match (upper case, a Unicode name, a stray {@code *}, an IP address not in its canonical form) is
 * a start-up error instead of a silent no-op.
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
    if (IpLiterals.endsInNumber(name)) {
      if (name.length() != pattern.length()) {
        return "a wildcard takes a domain name, not an IPv4 address";
      }
      return addressProblem(
          pattern,
          IpLiterals.ipv4(name),
          "IPv4",
          "ends in a number but is not an IPv4 address, so no URL's host can match it");
    }
    return null;
  }

  private static String ipv6Problem(String pattern) {
    if (pattern.length() < 3 || !pattern.endsWith("]")) {
      return "an IPv6 literal is written in brackets, e.g. '[2001:db8::1]'";
    }
    return addressProblem(
        pattern,
        IpLiterals.ipv6(pattern),
        "IPv6",
        "not a valid IPv6 address, e.g. '[2001:db8::1]'");
  }

  /**
   * What is wrong with an address pattern whose canonical form is {@code canonical} (null when it
   * is no address: {@code invalid} says so), or null when it is written in that form.
   */
  private static String addressProblem(
      String pattern, String canonical, String family, String invalid) {
    if (canonical == null) {
      return invalid;
    }
    if (!canonical.equals(pattern)) {
      return "write this "
          + family
          + " address as '"
          + canonical
          + "', the form hosts are compared in";
    }
    return null;
  }
}
