package dev.berth.server.broker;

import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.time.TimeSource;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin lists and status of a cluster follower, read from its replica of the leader's lease
 * state (a {@link Fleet}) instead of its own broker, which serves nothing and so holds nothing.
 * Same filters, order and paging as {@link Broker#sessions} and {@link Broker#leases}. What only
 * the leader knows is left out: a replica session reads as not connected and not draining, with no
 * heartbeat ({@link Views.Session#UNKNOWN}) and no memory in use. A replica session carries the job
 * it asked for (its hello's, else its principal); each view shows and filters by the job it runs
 * as, resolved by {@link #runsAs} against the jobs in force on this node (the replicated policy's)
 * as the leader resolved it. Wall-clock times of the replica become monotonic instants of {@code
 * time}, as a broker loading the fleet does.
 *
 * <p>Stateless and thread-safe.
 */
public final class ReplicaViews {
  private ReplicaViews() {}

  /**
   * {@code own}, this node's broker status, with what the replica knows in place of that broker's
   * empty state: each pool's leases in use (none queued: waits are the leader's), the replica's
   * sessions, counted as not connected as in {@link #sessions}, and what each job holds of each
   * kind and its share of the pool's leases in use, a lease counting for the job its session runs
   * as ({@link #runsAs}). A job's weight, min and max stay this node's, the policy in force; what
   * only the leader knows reads 0: its waiting requests and refusals, and per kind its waiting
   * requests, its fair share (which counts the jobs waiting) and its grants. The min that applies
   * now, which the leader's degradation and held-back slots scale, is not known either and reads as
   * the configured min, so that a client that does not know the figures are a replica's shows no
   * scaled min. Limits, pressure, counters and hosts stay this node's.
   *
   * @param jobs the jobs in force on this node, as for {@link #runsAs}; {@code own}'s jobs are
   *     theirs
   */
  public static Views.Status status(Fleet fleet, JobsConfig jobs, Views.Status own) {
    Map<ResourceKind, Integer> inUse = new EnumMap<>(ResourceKind.class);
    fleet.leases().forEach(l -> inUse.merge(l.kind(), 1, Integer::sum));
    List<Views.Pool> pools =
        own.pools().stream()
            .map(
                p ->
                    new Views.Pool(
                        p.kind(),
                        p.limit(),
                        p.effectiveLimit(),
                        inUse.getOrDefault(p.kind(), 0),
                        0,
                        p.reason()))
            .toList();
    Map<String, String> runsAs = runsAs(fleet, jobs);
    Map<String, int[]> held = new HashMap<>();
    for (Fleet.LeaseEntry l : fleet.leases()) {
      String job = runsAs.get(l.sessionId());
      if (job != null) {
        held.computeIfAbsent(job, j -> new int[ResourceKind.COUNT])[l.kind().index()]++;
      }
    }
    List<Views.Job> replicaJobs =
        own.jobs().stream()
            .map(j -> job(j, held.getOrDefault(j.name(), new int[ResourceKind.COUNT]), inUse))
            .toList();
    return new Views.Status(
        own.epoch(),
        own.startedAtNanos(),
        own.nowNanos(),
        pools,
        0,
        fleet.sessions().size(),
        own.draining(),
        own.counters(),
        own.pressure(),
        own.degradationScore(),
        own.hotHosts(),
        replicaJobs);
  }

  /**
   * Job {@code own} of this node's broker as the replica knows it: the leases it holds of each kind
   * ({@code held}, by {@link ResourceKind#index}) and its share of {@code inUse}; its settings as
   * {@code own}'s; what only the leader knows 0, but for the min that applies now: the min.
   */
  private static Views.Job job(Views.Job own, int[] held, Map<ResourceKind, Integer> inUse) {
    List<Views.JobKind> kinds =
        own.kinds().stream()
            .map(
                k -> {
                  int h = held[k.kind().index()];
                  return new Views.JobKind(
                      k.kind(),
                      h,
                      0,
                      k.min(),
                      k.min(),
                      k.max(),
                      Views.JobKind.share(h, inUse.getOrDefault(k.kind(), 0)),
                      0,
                      0);
                })
            .toList();
    return new Views.Job(own.name(), own.weight(), 0, 0, kinds);
  }

  /**
   * The replica's sessions, as {@link Broker#sessions}, each with the job it runs as.
   *
   * @param jobs the jobs in force on this node, as for {@link #runsAs}
   */
  public static List<Views.Session> sessions(
      Fleet fleet, JobsConfig jobs, String workerId, String afterId, int limit, TimeSource time) {
    Map<String, Integer> leases = new HashMap<>();
    fleet.leases().forEach(l -> leases.merge(l.sessionId(), 1, Integer::sum));
    Clock clock = new Clock(time);
    return Views.sessionPage(
            fleet.sessions().stream(),
            Fleet.SessionEntry::id,
            Fleet.SessionEntry::workerId,
            workerId,
            afterId,
            limit)
        .map(
            s ->
                new Views.Session(
                    s.id(),
                    s.workerId(),
                    s.labels(),
                    false,
                    false,
                    clock.nanos(s.openedAtUnixMs()),
                    Views.Session.UNKNOWN,
                    0,
                    s.memoryLimitMb(),
                    leases.getOrDefault(s.id(), 0),
                    runsAs(jobs, s)))
        .toList();
  }

  /**
   * The replica's leases, as {@link Broker#leases}.
   *
   * @param jobs the jobs in force on this node, as for {@link #runsAs}
   * @param job only leases of sessions that run as this job; empty for every job
   */
  public static List<Views.LeaseInfo> leases(
      Fleet fleet,
      JobsConfig jobs,
      String workerId,
      ResourceKind kind,
      String host,
      String sessionId,
      String job,
      LeaseCursor after,
      int limit,
      TimeSource time) {
    Map<String, String> workers = new HashMap<>();
    fleet.sessions().forEach(s -> workers.put(s.id(), s.workerId()));
    Map<String, String> runsAs = runsAs(fleet, jobs);
    Clock clock = new Clock(time);
    return fleet.leases().stream()
        .filter(l -> kind == null || l.kind() == kind)
        .filter(l -> host.isEmpty() || l.host().equals(host))
        .filter(l -> sessionId.isEmpty() || l.sessionId().equals(sessionId))
        .filter(l -> after.precedes(l.fencingToken(), l.id()))
        .filter(l -> workerId.isEmpty() || workerId.equals(workers.get(l.sessionId())))
        .filter(l -> job.isEmpty() || job.equals(runsAs.get(l.sessionId())))
        .sorted(LeaseCursor.order(Fleet.LeaseEntry::fencingToken, Fleet.LeaseEntry::id))
        .limit(limit)
        .map(
            l -> {
              long granted = clock.nanos(l.grantedAtUnixMs());
              Lease lease =
                  new Lease(
                      l.id(),
                      l.kind(),
                      l.fencingToken(),
                      l.sessionId(),
                      l.host(),
                      l.module(),
                      l.moduleDigest(),
                      l.memoryMb(),
                      granted,
                      granted + l.maxHoldMs() * 1_000_000);
              return new Views.LeaseInfo(lease, workers.getOrDefault(l.sessionId(), ""));
            })
        .toList();
  }

  /**
   * The job a replica session runs as: the one it asked for when {@code jobs} configures it, else
   * {@value JobsConfig#DEFAULT_JOB}, as the leader resolved it when the session opened and again at
   * every change of its jobs.
   *
   * @param jobs the jobs in force on this node (the replicated policy's)
   */
  static String runsAs(JobsConfig jobs, Fleet.SessionEntry session) {
    return jobs.resolve(session.job()).name();
  }

  /** The job each replica session runs as ({@link #runsAs}), by session id. */
  private static Map<String, String> runsAs(Fleet fleet, JobsConfig jobs) {
    Map<String, String> runsAs = new HashMap<>();
    fleet.sessions().forEach(s -> runsAs.put(s.id(), runsAs(jobs, s)));
    return runsAs;
  }

  /** Wall-clock milliseconds to monotonic instants, against one reading of both clocks. */
  private static final class Clock {
    private final long nowNanos;
    private final long wallNowMs;

    Clock(TimeSource time) {
      this.nowNanos = time.nanoTime();
      this.wallNowMs = time.wallTime().toEpochMilli();
    }

    long nanos(long unixMs) {
      return nowNanos - (wallNowMs - unixMs) * 1_000_000;
    }
  }
}
