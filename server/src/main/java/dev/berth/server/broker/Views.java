package dev.berth.server.broker;

import dev.berth.server.admission.Admission;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.ratelimit.HostStatus;
import java.util.List;
import java.util.Map;

/** Read-only copies of broker state for operators; taken under the lock, used outside it. */
public final class Views {
  private Views() {}

  /** One pool: its configured and effective limits and its use. */
  public record Pool(
      ResourceKind kind, int limit, int effectiveLimit, int inUse, int queued, String reason) {}

  /** The broker as a whole. */
  public record Status(
      long epoch,
      long startedAtNanos,
      long nowNanos,
      List<Pool> pools,
      int connectedSessions,
      int disconnectedSessions,
      boolean draining,
      BrokerCounters.Snapshot counters,
      Pressure pressure,
      double degradationScore,
      List<HostStatus> hotHosts) {}

  /** Fleet memory pressure and the rule that set it. */
  public record Pressure(
      PressureLevel level, long fleetUsedMb, long fleetLimitMb, String trigger) {}

  /** One session. */
  public record Session(
      String id,
      String workerId,
      Map<String, String> labels,
      boolean connected,
      boolean draining,
      long openedAtNanos,
      long lastSeenNanos,
      long memoryUsedMb,
      long memoryLimitMb,
      int leases) {}

  /** One live lease and the worker holding it. */
  public record LeaseInfo(Lease lease, String workerId) {}

  /** What an acquire would be answered now, with every check. */
  public record Explained(Admission.Verdict verdict, List<Admission.Step> steps) {}
}
