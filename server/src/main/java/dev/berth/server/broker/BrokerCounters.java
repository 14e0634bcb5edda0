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

  /**
   * One cell per reason, made up front: counting a refusal boxes nothing (a flood refuses often).
   */
  private final Map<RefusalReason, long[]> refusals = new EnumMap<>(RefusalReason.class);

  BrokerCounters() {
    for (RefusalReason reason : RefusalReason.values()) {
      refusals.put(reason, new long[1]);
    }
  }

  void granted() {
    grants++;
  }

  void refused(RefusalReason reason) {
    refusals.get(reason)[0]++;
  }

  Snapshot snapshot() {
    Map<RefusalReason, Long> byReason = new EnumMap<>(RefusalReason.class);
    refusals.forEach(
        (reason, n) -> {
          if (n[0] > 0) {
            byReason.put(reason, n[0]);
          }
        });
    return new Snapshot(grants, byReason);
  }
}
