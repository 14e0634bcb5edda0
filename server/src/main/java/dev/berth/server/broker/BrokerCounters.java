package dev.berth.server.broker;

import dev.berth.server.admission.RefusalReason;
import java.util.EnumMap;
import java.util.Map;

/** Grants and refusals since start. Not thread-safe: the broker guards it with its lock. */
public final class BrokerCounters {

  /** A consistent copy of the counters. */
  public record Snapshot(long grants, Map<RefusalReason, Long> refusals) {
    public Snapshot {
      refusals = Map.copyOf(refusals);
    }

    public long refusals(RefusalReason reason) {
      return refusals.getOrDefault(reason, 0L);
    }
  }

  private long grants;
  private final EnumMap<RefusalReason, Long> refusals = new EnumMap<>(RefusalReason.class);

  void granted() {
    grants++;
  }

  void refused(RefusalReason reason) {
    refusals.merge(reason, 1L, Long::sum);
  }

  Snapshot snapshot() {
    return new Snapshot(grants, refusals);
  }
}
