package dev.berth.server.broker;

import dev.berth.server.lease.ResourceKind;
import java.util.List;

/** Broker statuses for the tests of the views that show them. */
public final class Statuses {
  private Statuses() {}

  /**
   * {@code own} with one job, {@code urgent} (weight 4): its RENDER min of 4 scaled to 2 now (as
   * while the pool is degraded), 1 held; no PDF min.
   */
  public static Views.Status withAScaledMin(Views.Status own) {
    return new Views.Status(
        own.epoch(),
        own.startedAtNanos(),
        own.nowNanos(),
        own.pools(),
        own.connectedSessions(),
        own.disconnectedSessions(),
        own.draining(),
        own.counters(),
        own.pressure(),
        own.degradationScore(),
        own.hotHosts(),
        List.of(
            new Views.Job(
                "urgent",
                4,
                0,
                0,
                List.of(
                    new Views.JobKind(ResourceKind.RENDER, 1, 0, 4, 2, 0, 1, 1, 1),
                    new Views.JobKind(ResourceKind.PDF, 0, 0, 0, 0, 0, 0, 0, 0)))));
  }
}
