package dev.berth.server.broker;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.Decision;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.ratelimit.HostStatus;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Function;
import java.util.stream.Stream;

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
   * @param guaranteedMin the min that applies now ({@link
   *     dev.berth.server.admission.Job#guaranteedMin}): {@code min} scaled to the pool's usable
   *     part while that is below the configured limit
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
      int guaranteedMin,
      int max,
      double share,
      double fairShare,
      long grants) {
    /** The {@code share} of a job holding {@code held} of a pool's {@code inUse} leases. */
    static double share(int held, int inUse) {
      return inUse == 0 ? 0 : (double) held / inUse;
    }
  }

  /** Fleet memory pressure and the rule that set it. */
  public record Pressure(
      PressureLevel level, long fleetUsedMb, long fleetLimitMb, String trigger) {}

  /**
   * One session.
   *
   * @param lastSeenNanos its last heartbeat or call; {@link #UNKNOWN} where only the leader knows
   *     it (a follower's list, {@link ReplicaViews})
   */
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
      String job) {
    /** A {@code lastSeenNanos} this node does not know. */
    public static final long UNKNOWN = Long.MIN_VALUE;
  }

  /**
   * One page of sessions, for {@link Broker#sessions} and {@link ReplicaViews#sessions}: those of
   * {@code workerId} (empty: every worker) with an id after {@code afterId} (empty: from the
   * first), in id order, at most {@code limit}.
   */
  static <T> Stream<T> sessionPage(
      Stream<T> all,
      Function<T, String> id,
      Function<T, String> worker,
      String workerId,
      String afterId,
      int limit) {
    return smallest(
        all.filter(s -> workerId.isEmpty() || worker.apply(s).equals(workerId))
            .filter(s -> afterId.isEmpty() || id.apply(s).compareTo(afterId) > 0),
        Comparator.comparing(id),
        limit)
        .stream();
  }

  /**
   * The {@code limit} smallest of {@code all} by {@code order}, in that order. One pass with a heap
   * of at most {@code limit}: a page of 100 sessions out of 10,000 costs about one comparison per
   * session, where sorting them all (which callers under the broker's lock did) costs a dozen each.
   */
  static <T> List<T> smallest(Stream<T> all, Comparator<T> order, int limit) {
    if (limit <= 0) {
      return List.of();
    }
    Comparator<T> largestFirst = order.reversed();
    PriorityQueue<T> kept = new PriorityQueue<>(Math.min(limit, 1024), largestFirst);
    all.forEach(
        t -> {
          if (kept.size() < limit) {
            kept.add(t);
          } else if (order.compare(t, kept.peek()) < 0) {
            kept.poll();
            kept.add(t);
          }
        });
    List<T> sorted = new ArrayList<>(kept);
    sorted.sort(order);
    return sorted;
  }

  /** One live lease and the worker holding it. */
  public record LeaseInfo(Lease lease, String workerId) {}

  /**
   * One acquire or bundle waiting, and what holds it back.
   *
   * @param items what each item asks for (one for an acquire)
   * @param heldBy what it would be answered if its wait ended now; null when it is about to be
   *     granted
   * @param heldItem the item {@code heldBy} is about
   */
  public record Waiting(
      String sessionId,
      String workerId,
      String job,
      String requestId,
      int priority,
      List<AcquireSpec> items,
      long waitedNanos,
      long leftNanos,
      Decision.Refused heldBy,
      int heldItem) {}

  /** Waiting requests, the oldest first, at most the limit asked for, and how many matched. */
  public record WaitingList(List<Waiting> waiting, int total) {}

  /** What an acquire would be answered now, with every check. */
  public record Explained(Admission.Verdict verdict, List<Admission.Step> steps) {}
}
