package dev.berth.server.replication;

import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.Journal;
import dev.berth.server.cluster.AppliedRecord;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Journal} whose entries reach a {@link ReplicatedFleet} the way the cluster's log carries
 * them: built by {@link FleetCodec} as {@link ClusterJournal} builds them, buffered, and applied in
 * {@link JournalBatch}es whenever {@link #flush} is called, in order, with rising log indexes.
 */
final class ReplicaFeed implements Journal {
  final ReplicatedFleet replica;
  private final List<JournalEntry> buffer = new ArrayList<>();
  private long index;

  ReplicaFeed(ReplicatedFleet replica) {
    this.replica = replica;
  }

  @Override
  public String holdsBack(ResourceKind kind, int alsoGranting, long tokensLeft, long nowNanos) {
    return null;
  }

  @Override
  public void sessionOpened(Fleet.SessionEntry session) {
    buffer.add(FleetCodec.opened(session));
  }

  @Override
  public void sessionEnded(String sessionId, String why) {
    buffer.add(FleetCodec.sessionEnded(sessionId, why));
  }

  @Override
  public void leaseGranted(Fleet.LeaseEntry lease) {
    buffer.add(FleetCodec.granted(lease));
  }

  @Override
  public void leaseEnded(String leaseId, LeaseEnd how, RevokeReason revokeReason) {
    buffer.add(FleetCodec.leaseEnded(leaseId, how, revokeReason));
  }

  @Override
  public void hostPenalty(Fleet.HostPenalty penalty) {
    buffer.add(FleetCodec.penalized(penalty));
  }

  @Override
  public void holdingBack(Fleet.HoldBack holdBack) {
    buffer.add(FleetCodec.holdingBack(holdBack));
  }

  /** Applies what is buffered as one batch. */
  void flush() {
    if (buffer.isEmpty()) {
      return;
    }
    apply(
        LogRecord.newBuilder().setJournal(JournalBatch.newBuilder().addAllEntries(buffer)).build());
    buffer.clear();
  }

  /** Applies one record at the next index. */
  void apply(LogRecord record) {
    replica.apply(new AppliedRecord(++index, 1, 1, record));
  }
}
