package dev.berth.server.ratelimit;

/**
 * The configured politeness for the hosts a pattern matches.
 *
 * @param pattern {@code example.com} (that host only), {@code *.example.com} (that host and every
 *     subdomain), or {@link #DEFAULT_PATTERN} for hosts no pattern matches
 * @param rate requests per second the bucket refills at
 * @param burst the most tokens the bucket holds (requests that may go at once after a quiet spell)
 */
public record HostRule(String pattern, double rate, int burst) {

  /** The pattern of the rule for hosts that no configured pattern matches. */
  public static final String DEFAULT_PATTERN = "*";

  /** Whether this is the default rule rather than a host override. */
  public boolean isDefault() {
    return DEFAULT_PATTERN.equals(pattern);
  }
}
