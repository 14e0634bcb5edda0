package dev.berth.server.memory;

/**
 * One session's memory as the broker knows it: the last reported usage plus estimates of leases
 * granted since that report, the limit it reported, and its own pressure level.
 *
 * <p>Not thread-safe: owned by {@link FleetMemory}, under the broker's lock.
 */
final class WorkerMemory {
  final String sessionId;
  String workerId;
  long reportedMb;
  long limitMb;
  long chargedMb;

  /** What this worker adds to the fleet's usage (see {@code FleetMemory#counted}). */
  long countedMb;

  long reportedAtNanos;
  final Hysteresis pressure;
  String trigger = "";
  boolean cleanupSent;
  long lastCleanupNanos;

  WorkerMemory(String sessionId, String workerId, Hysteresis.Thresholds thresholds) {
    this.sessionId = sessionId;
    this.workerId = workerId;
    this.pressure = new Hysteresis(thresholds);
  }

  long usedMb() {
    return reportedMb + chargedMb;
  }

  PressureLevel level() {
    return pressure.level();
  }
}
