package dev.berth.server.config;

/**
 * One {@code rate_limit.hosts} entry as configured; its fields may arrive one at a time ({@code
 * rate_limit.hosts.NAME.rate}), so the rate's presence is checked when the rate-limit part is
 * built.
 *
 * @param rate requests per second, or null when not given (an error once the part is built)
 * @param burst the bucket size, or null to inherit {@code rate_limit.default_burst}
 */
public record HostRate(Double rate, Integer burst) {}
