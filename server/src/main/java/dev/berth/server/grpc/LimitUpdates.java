package dev.berth.server.grpc;

import dev.berth.proto.v1.HostRate;
import dev.berth.proto.v1.PoolLimit;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.settings.ConfigException;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns an {@code UpdateLimits} request into a new, fully validated {@link Policy}. Nothing is
 * applied unless the whole request is valid; an invalid value is INVALID_ARGUMENT naming the
 * configuration key it would have set.
 */
final class LimitUpdates {
  private LimitUpdates() {}

  static Policy apply(Policy current, UpdateLimitsRequest request) {
    try {
      Policy next = current;
      if (request.getPoolsCount() > 0) {
        BrokerConfig.Builder broker = current.broker().toBuilder();
        for (PoolLimit pool : request.getPoolsList()) {
          ResourceKind kind = Protos.kind(pool.getKind());
          if (kind == null) {
            throw BrokerException.invalid("pools.kind", "must be RENDER, PDF or WASM");
          }
          long limit = Integer.toUnsignedLong(pool.getLimit()); // uint32 on the wire
          if (limit > BrokerConfig.MAX_POOL_LIMIT) {
            throw BrokerException.invalid(
                BrokerConfig.Keys.limit(kind),
                "must be 0.." + BrokerConfig.MAX_POOL_LIMIT + ", got " + limit);
          }
          broker.limit(kind, (int) limit);
        }
        next = next.withBroker(broker.build());
      }
      if (request.getHostRatesCount() > 0) {
        RateLimitConfig.Builder rates = current.rateLimit().toBuilder();
        for (HostRate rate : request.getHostRatesList()) {
          String pattern = rate.getPattern();
          if (pattern.equals("*")) {
            rates.defaultRate(rate.getRatePerSecond());
            if (rate.getBurst() > 0) {
              rates.defaultBurst(rate.getBurst());
            }
          } else if (rate.getBurst() > 0) {
            rates.host(pattern, rate.getRatePerSecond(), rate.getBurst());
          } else {
            rates.host(pattern, rate.getRatePerSecond());
          }
        }
        next = next.withRateLimit(rates.build());
      }
      if (request.hasPressure()) {
        MemoryConfig memory =
            current.memory().toBuilder()
                .pressureOn(request.getPressure().getOn())
                .pressureOff(request.getPressure().getOff())
                .build();
        next = next.withMemory(memory);
      }
      return next;
    } catch (ConfigException e) {
      throw BrokerException.invalid(e.key(), e.rule());
    }
  }

  /** The change in words, for the event stream and the log. */
  static String describe(UpdateLimitsRequest request) {
    List<String> parts = new ArrayList<>();
    for (PoolLimit pool : request.getPoolsList()) {
      parts.add(Protos.kind(pool.getKind()) + " limit " + pool.getLimit());
    }
    for (HostRate rate : request.getHostRatesList()) {
      parts.add(
          "host "
              + rate.getPattern()
              + " "
              + rate.getRatePerSecond()
              + "/s"
              + (rate.getBurst() > 0 ? " burst " + rate.getBurst() : ""));
    }
    if (request.hasPressure()) {
      parts.add(
          "pressure on "
              + request.getPressure().getOn()
              + " off "
              + request.getPressure().getOff());
    }
    return parts.isEmpty() ? "no change" : String.join(", ", parts);
  }
}
