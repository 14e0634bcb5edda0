package dev.berth.server.replication;

import dev.berth.server.broker.Fleet;
import dev.berth.server.cluster.ClusterStatus;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Whether this process serves the worker API now, who does when it does not, and the cluster facts
 * admin reads report. A lone broker ({@link #STANDALONE}) always serves; a cluster member serves
 * only while it is the ready leader. Implementations are thread-safe and cheap to ask on every
 * call.
 */
public interface ServingRole {

  /** A broker that is not part of a cluster: it always serves and has no cluster status. */
  ServingRole STANDALONE =
      new ServingRole() {
        @Override
        public boolean serving() {
          return true;
        }

        @Override
        public String leaderApi() {
          return "";
        }

        @Override
        public Optional<ClusterStatus> cluster() {
          return Optional.empty();
        }

        @Override
        public void onChange(Runnable listener) {}
      };

  /** Whether this node may serve LeaseBroker calls and admin changes now. */
  boolean serving();

  /** The API address ({@code HOST:PORT}) of the leader this node knows; empty when none. */
  String leaderApi();

  /** This node's view of its cluster; empty for a lone broker. */
  Optional<ClusterStatus> cluster();

  /**
   * Runs {@code listener} after every change of {@link #serving()} or of the leader, on the thread
   * that tells the role; it must not block.
   */
  void onChange(Runnable listener);

  /**
   * The replicated lease state this node lists sessions and leases from while it does not serve (a
   * follower's broker holds nothing); empty while it serves, and always for a lone broker, which
   * lists its own broker's.
   */
  default Optional<Fleet> replicaWhileNotServing() {
    return Optional.empty();
  }

  /**
   * A number that moves whenever the replica this node keeps has applied more of the cluster's log
   * (its last applied index); cheap to ask. 0 for a lone broker, which keeps none.
   */
  default long replicaVersion() {
    return 0;
  }

  /**
   * Hands the cluster's leadership to member {@code memberIdOrEmpty} (empty: the best successor);
   * completes with the id of the member that leads next. A lone broker fails with {@link
   * UnsupportedOperationException}: it is not a cluster.
   */
  default CompletableFuture<String> transferTo(String memberIdOrEmpty) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException("not a cluster"));
  }
}
