package dev.berth.server.ratelimit;

/**
 * One host's rate-limit state, for status and metrics.
 *
 * @param host the normalised host
 * @param pattern the rule that governs it ({@link HostRule#DEFAULT_PATTERN} for the default)
 * @param ratePerSecond the current rate, lower than {@code configuredRate} after a 429/503
 * @param configuredRate the rule's rate
 * @param tokens tokens available now (fractional; negative only after a consume without a token)
 * @param refusals RATE_LIMITED refusals counted since the host was last forgotten
 * @param reason why the rate differs from the configured one or the host is paused; empty when it
 *     does not
 */
public record HostStatus(
    String host,
    String pattern,
    double ratePerSecond,
    double configuredRate,
    double tokens,
    long refusals,
    String reason) {}
