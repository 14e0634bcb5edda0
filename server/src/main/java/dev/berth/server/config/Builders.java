package dev.berth.server.config;

import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.settings.ConfigException;

/** The builders one load fills, one per part, each starting from its defaults. */
final class Builders {
  final BrokerConfig.Builder broker = BrokerConfig.newBuilder();
  final RateLimitConfig.Builder rateLimit = RateLimitConfig.newBuilder();
  final MemoryConfig.Builder memory = MemoryConfig.newBuilder();
  final PerformanceConfig.Builder performance = PerformanceConfig.newBuilder();
  final DaemonSettings.Builder daemon = DaemonSettings.newBuilder();
  JobsConfig.Builder jobs = JobsConfig.newBuilder();
  int capSessions = PrincipalCaps.DEFAULTS.sessions();
  int capLeases = PrincipalCaps.DEFAULTS.leases();
  int capQueued = PrincipalCaps.DEFAULTS.queued();
  int capCallRate = PrincipalCaps.DEFAULTS.callsPerSecond();

  /**
   * The per-principal caps set.
   *
   * @throws ConfigException naming the first negative cap
   */
  PrincipalCaps caps() {
    nonNegative(PrincipalCaps.Keys.SESSIONS, capSessions);
    nonNegative(PrincipalCaps.Keys.LEASES, capLeases);
    nonNegative(PrincipalCaps.Keys.QUEUED, capQueued);
    nonNegative(PrincipalCaps.Keys.CALLS_PER_SECOND, capCallRate);
    return new PrincipalCaps(capSessions, capLeases, capQueued, capCallRate);
  }

  private static void nonNegative(String key, int value) {
    if (value < 0) {
      throw new ConfigException(key, "must be 0 (no cap) or more, got " + value);
    }
  }
}
