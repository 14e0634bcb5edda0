package dev.berth.server.performance;

import dev.berth.server.lease.ResourceKind;

/**
 * An effective limit that {@link DegradationMonitor#adjust} moved.
 *
 * @param score the kind's degradation score that moved it
 * @param reason why, as {@link DegradationMonitor#reason} tells it
 */
public record LimitChange(ResourceKind kind, int from, int to, double score, String reason) {
  /** The change in words, the kind named {@code kindName}: "kind effective limit a -> b: why". */
  public String describe(String kindName) {
    return kindName + " effective limit " + from + " -> " + to + ": " + reason;
  }
}
