package dev.berth.server.replication;

import dev.berth.server.cluster.AppliedRecord;
import dev.berth.server.cluster.ReplicaSink;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The replica of a member whose broker state is not replicated yet: the leader journals nothing, so
 * the log holds only the cluster's own records (epochs and floors, which the Raft node applies
 * itself) and there is no broker state to mirror or to snapshot. A new leader recovers as a
 * restarted lone broker does (workers re-declare their leases; see {@code Broker#takeOver}).
 *
 * <p>Stateless and thread-safe.
 */
final class UnreplicatedState implements ReplicaSink {
  @Override
  public void apply(AppliedRecord record) {
    // Nothing to mirror: no journal, policy or handoff record is written yet.
  }

  @Override
  public void writeSnapshot(OutputStream out) {
    // The snapshot header the node writes is the whole state.
  }

  @Override
  public void loadSnapshot(InputStream in) {
    // Nothing was written beyond the header.
  }
}
