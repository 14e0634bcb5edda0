package dev.berth.server.config;

import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;

/** The builders one load fills, one per part, each starting from its defaults. */
final class Builders {
  final BrokerConfig.Builder broker = BrokerConfig.newBuilder();
  final RateLimitConfig.Builder rateLimit = RateLimitConfig.newBuilder();
  final MemoryConfig.Builder memory = MemoryConfig.newBuilder();
  final PerformanceConfig.Builder performance = PerformanceConfig.newBuilder();
  final DaemonSettings.Builder daemon = DaemonSettings.newBuilder();
}
