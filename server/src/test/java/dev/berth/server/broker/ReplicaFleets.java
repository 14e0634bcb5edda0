package dev.berth.server.broker;

import java.util.List;
import java.util.Map;

/** Replicas of a leader's lease state for the tests of a follower's admin views. */
public final class ReplicaFleets {
  private ReplicaFleets() {}

  /**
   * Three sessions, no leases, each carrying the job it asked for: s-1 of worker w1 asked for
   * {@code nightly}; s-2 of w2 for {@code adhoc} (with the label {@code job=nightly}); s-3 of w3
   * named none, so asked for its principal's name, {@code p}. With only {@code nightly} configured,
   * they run as {@code nightly}, {@code default} and {@code default}.
   *
   * @param openedAtUnixMs when they opened, in wall-clock milliseconds
   */
  public static Fleet askingForJobs(long openedAtUnixMs) {
    return new Fleet(
        List.of(
            new Fleet.SessionEntry("s-1", "w1", "p", Map.of(), 0, "nightly", openedAtUnixMs),
            new Fleet.SessionEntry(
                "s-2", "w2", "p", Map.of("job", "nightly"), 0, "adhoc", openedAtUnixMs),
            new Fleet.SessionEntry("s-3", "w3", "p", Map.of(), 0, "p", openedAtUnixMs)),
        List.of(),
        List.of());
  }
}
