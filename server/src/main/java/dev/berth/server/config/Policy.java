package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;

/**
 * Everything that decides admission, each part validated on its own: sessions, pools and leases
 * ({@link BrokerConfig}), per-host rates ({@link RateLimitConfig}), memory pressure ({@link
 * MemoryConfig}), degradation ({@link PerformanceConfig}), what one principal may hold ({@link
 * PrincipalCaps}) and the crawl jobs sharing the pools ({@link JobsConfig}). The parts are also
 * checked against each other: the jobs' {@code min} of a kind may not sum above its pool's limit
 * (the constructor throws a {@link dev.berth.server.settings.ConfigException} naming the key when
 * they do not fit). Immutable; a live update replaces the whole policy at once.
 */
public record Policy(
    BrokerConfig broker,
    RateLimitConfig rateLimit,
    MemoryConfig memory,
    PerformanceConfig performance,
    PrincipalCaps caps,
    JobsConfig jobs) {

  public Policy {
    requireNonNull(broker, "broker");
    requireNonNull(rateLimit, "rateLimit");
    requireNonNull(memory, "memory");
    requireNonNull(performance, "performance");
    requireNonNull(caps, "caps");
    requireNonNull(jobs, "jobs");
    jobs.checkAgainst(broker::limit, BrokerConfig.Keys::limit);
  }

  /** A policy with the default jobs (one, {@code default}). */
  public Policy(
      BrokerConfig broker,
      RateLimitConfig rateLimit,
      MemoryConfig memory,
      PerformanceConfig performance,
      PrincipalCaps caps) {
    this(broker, rateLimit, memory, performance, caps, JobsConfig.defaults());
  }

  /** A policy with the default per-principal caps. */
  public Policy(
      BrokerConfig broker,
      RateLimitConfig rateLimit,
      MemoryConfig memory,
      PerformanceConfig performance) {
    this(broker, rateLimit, memory, performance, PrincipalCaps.DEFAULTS);
  }

  /** The defaults of every part but the broker's. */
  public static Policy of(BrokerConfig broker) {
    return new Policy(
        broker, RateLimitConfig.defaults(), MemoryConfig.defaults(), PerformanceConfig.defaults());
  }

  public Policy withBroker(BrokerConfig value) {
    return new Policy(value, rateLimit, memory, performance, caps, jobs);
  }

  public Policy withRateLimit(RateLimitConfig value) {
    return new Policy(broker, value, memory, performance, caps, jobs);
  }

  public Policy withMemory(MemoryConfig value) {
    return new Policy(broker, rateLimit, value, performance, caps, jobs);
  }

  public Policy withPerformance(PerformanceConfig value) {
    return new Policy(broker, rateLimit, memory, value, caps, jobs);
  }

  public Policy withCaps(PrincipalCaps value) {
    return new Policy(broker, rateLimit, memory, performance, value, jobs);
  }

  public Policy withJobs(JobsConfig value) {
    return new Policy(broker, rateLimit, memory, performance, caps, value);
  }
}
