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
      List<HostStatus> hotHosts,
      List<Job> jobs) {}

  /**
   * One job: its weight, how many requests it has waiting (a bundle once), how many were refused,
   * and per kind what it holds and waits for.
   */
  public record Job(String name, int weight, int waiting, long refusals, List<JobKind> kinds) {}

  /**
   * One job's standing in one pool.
   *
   * @param held leases it holds
   * @param waiting requests it has waiting for the kind
   * @param min its configured {@code min}, 0 for none
   * @param max its configured {@code max}, 0 for none
   * @param share its part of the pool's leases in use (0..1)
   * @param fairShare its weight over the weights of the jobs holding or waiting for the kind (0..1;
   *     0 when it does neither): what fair queuing gives it while the pool is contended
   * @param grants leases of the kind it was granted since start
   */
  public record JobKind(
      ResourceKind kind,
      int held,
      int waiting,
      int min,
      int max,
      double share,
      double fairShare,
      long grants) {}

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
      int leases,
      String job) {}

  /** One live lease and the worker holding it. */
  public record LeaseInfo(Lease lease, String workerId) {}

  /** What an acquire would be answered now, with every check. */
  public record Explained(Admission.Verdict verdict, List<Admission.Step> steps) {}
}
