package dev.berth.server.config;

/**
 * One {@code rate_limit.hosts} entry as configured.
 *
 * @param rate requests per second
 * @param burst the bucket size, or null to inherit {@code rate_limit.default_burst}
 */
public record HostRate(double rate, Integer burst) {}
