package dev.berth.server.replication;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.LeaseCursor;
import dev.berth.server.broker.ReplicaViews;
import dev.berth.server.broker.Views;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.time.TimeSource;
import java.util.List;

/**
 * What an admin read (status, sessions, leases) lists on this node at one moment: its own broker's
 * state while it serves (a lone broker always does), and its replica of the leader's lease state
 * ({@link ServingRole#replicaWhileNotServing()}, read through {@link ReplicaViews}) while it does
 * not, since a follower's own broker holds nothing. The gRPC admin service and the dashboard both
 * read through it, so they show the same thing.
 *
 * <p>Taken once per answer ({@link #now}), so one answer's status and lists all come from the same
 * source even if the role changes meanwhile. Immutable and thread-safe.
 */
public final class AdminReads {
  private final Broker broker;
  private final TimeSource time;

  /** The replica read; null when the broker is. */
  private final Fleet replica;

  private AdminReads(Broker broker, TimeSource time, Fleet replica) {
    this.broker = broker;
    this.time = time;
    this.replica = replica;
  }

  /**
   * The source of this node's admin reads now: its replica while it does not serve, else broker.
   */
  public static AdminReads now(Broker broker, ServingRole role, TimeSource time) {
    return new AdminReads(broker, time, role.replicaWhileNotServing().orElse(null));
  }

  /** Whether the answers come from a replica of the leader's state rather than this broker. */
  public boolean fromReplica() {
    return replica != null;
  }

  /**
   * As {@link Broker#status()}; from a replica, as {@link ReplicaViews#status}, each lease counted
   * for the job its session runs as, resolved against this node's jobs as the leader resolves it.
   */
  public Views.Status status() {
    Views.Status own = broker.status();
    return replica == null ? own : ReplicaViews.status(replica, broker.policy().jobs(), own);
  }

  /**
   * As {@link Broker#sessions}; from a replica, each session's job resolved against this node's
   * jobs as the leader resolves it ({@link ReplicaViews#sessions}).
   */
  public List<Views.Session> sessions(String workerId, String afterId, int limit) {
    return replica == null
        ? broker.sessions(workerId, afterId, limit)
        : ReplicaViews.sessions(replica, broker.policy().jobs(), workerId, afterId, limit, time);
  }

  /** As {@link Broker#leases}. */
  public List<Views.LeaseInfo> leases(
      String workerId,
      ResourceKind kind,
      String host,
      String sessionId,
      String job,
      LeaseCursor after,
      int limit) {
    return replica == null
        ? broker.leases(workerId, kind, host, sessionId, job, after, limit)
        : ReplicaViews.leases(
            replica,
            broker.policy().jobs(),
            workerId,
            kind,
            host,
            sessionId,
            job,
            after,
            limit,
            time);
  }
}
