package dev.berth.server.cluster;

import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.proto.cluster.v1.MemberAddresses;
import dev.berth.proto.cluster.v1.SnapshotHeader;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.AtomicFileOutputStream;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;

/**
 * The Raft state machine of a node: it applies committed {@link LogRecord}s in log order, keeps the
 * replicated epoch, floor and handoff marker itself, hands every record to the {@link ReplicaSink},
 * and writes and loads snapshots (a {@link SnapshotHeader} followed by the sink's own state) in
 * Ratis's snapshot directory.
 *
 * <p>Ratis calls apply, snapshot and reload methods from its single state-machine thread; the
 * replicated fields are only touched there, and published through volatile fields for status.
 * Notifications about leadership arrive on other Ratis threads and go straight to the {@link
 * Events} of the owning node.
 */
final class ClusterStateMachine extends BaseStateMachine {

  /** What the owning node hears from the state machine. */
  interface Events {
    /** Ratis knows a leader ({@code leader}, possibly this node). Called on a Ratis thread. */
    void leaderChanged(RaftPeerId leader);

    /** This node leads and has applied the entry that starts its term. */
    void leaderReady();

    /** This node stopped leading. */
    void notLeader();

    /**
     * An epoch record was applied; {@code afterHandoff}: the record before it was a handoff, or a
     * handoff followed only by records that {@linkplain AppliedRecord#keepsAHandoffLast keep it
     * last}.
     */
    void epochApplied(
        long term,
        String proposer,
        List<MemberAddresses> proposerPeers,
        long epoch,
        boolean afterHandoff);

    /** A Raft configuration entry was applied (Ratis's current configuration may have changed). */
    void configurationChanged();

    /** A floor record was applied; {@code floor} is the largest so far. */
    void floorApplied(long floor, long epoch);

    /** Ratis stopped this node's server (or its log failed) without being asked. */
    void stopped(String reason, Throwable cause);
  }

  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final ReplicaSink sink;
  private final Events events;

  // The replicated fields: written only on the state-machine thread.
  private volatile long epoch;
  private long floor;
  private boolean afterHandoff;

  ClusterStateMachine(ReplicaSink sink, Events events) {
    this.sink = sink;
    this.events = events;
  }

  /** The fencing epoch in force in this replica. */
  long epoch() {
    return epoch;
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    getLifeCycle()
        .startAndTransition(
            () -> {
              super.initialize(server, groupId, raftStorage);
              storage.init(raftStorage);
              load(storage.getLatestSnapshot());
            },
            IOException.class);
  }

  /** Ratis is about to install a snapshot from the leader; it reloads us when it is in place. */
  @Override
  public void pause() {
    if (getLifeCycle().getCurrentState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  /** Ratis installed a snapshot from the leader: the replica starts over from it. */
  @Override
  public void reinitialize() throws IOException {
    load(storage.loadLatestSnapshot());
    if (getLifeCycle().getCurrentState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  @Override
  public SimpleStateMachineStorage getStateMachineStorage() {
    return storage;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    LogRecord record = recordOf(entry);
    long term = entry.getTerm();
    long index = entry.getIndex();
    boolean epochStarted = false;
    boolean wasAfterHandoff = afterHandoff;
    switch (record.getRecordCase()) {
      case EPOCH -> {
        epoch = Math.max(Math.max(epoch, floor), record.getEpoch().getProposerFloor()) + 1;
        afterHandoff = false;
        epochStarted = true;
      }
      case FLOOR -> floor = Math.max(floor, record.getFloor().getFloor());
      case HANDOFF -> afterHandoff = true;
      case JOURNAL -> afterHandoff = afterHandoff && AppliedRecord.keepsAHandoffLast(record);
      case POLICY -> afterHandoff = false;
      case RECORD_NOT_SET -> throw new IllegalStateException("unreachable: recordOf refuses it");
    }
    sink.apply(new AppliedRecord(index, term, epoch, record));
    updateLastAppliedTermIndex(term, index);
    if (epochStarted) {
      events.epochApplied(
          term,
          record.getEpoch().getLeader(),
          record.getEpoch().getPeersList(),
          epoch,
          wasAfterHandoff);
    } else if (record.hasFloor()) {
      events.floorApplied(floor, epoch);
    }
    byte[] reply = ByteBuffer.allocate(Long.BYTES).putLong(epoch).array();
    return CompletableFuture.completedFuture(
        Message.valueOf(UnsafeByteOperations.unsafeWrap(reply)));
  }

  /**
   * The record a committed entry carries, refused when this version cannot apply all of it: bytes
   * that are no Berth record, a record of a kind it does not know, or a journal entry of a change
   * it does not know (both written by a later version). Skipping such a record would leave this
   * replica without what the others applied, and, should it lead, it would grant from that; so the
   * node stops instead (the daemon exits 70 naming the entry) until it runs a version that knows
   * it.
   *
   * @throws IllegalStateException naming the entry's index and what is unknown
   */
  static LogRecord recordOf(LogEntryProto entry) {
    LogRecord record;
    try {
      record = LogRecord.parseFrom(entry.getStateMachineLogEntry().getLogData().newInput());
    } catch (IOException e) {
      throw new IllegalStateException(
          "log entry " + entry.getIndex() + " is not a Berth record: " + e.getMessage(), e);
    }
    String unknown = null;
    if (record.getRecordCase() == LogRecord.RecordCase.RECORD_NOT_SET) {
      unknown = "a record of a kind";
    } else if (record.hasJournal()) {
      for (var e : record.getJournal().getEntriesList()) {
        if (e.getChangeCase()
            == dev.berth.proto.cluster.v1.JournalEntry.ChangeCase.CHANGE_NOT_SET) {
          unknown = "a journal entry of a change";
          break;
        }
      }
    }
    if (unknown != null) {
      throw new IllegalStateException(
          "log entry "
              + entry.getIndex()
              + " holds "
              + unknown
              + " this version of Berth does not know (fields "
              + unknownFields(record)
              + "): a member of a later version wrote it. Applying around it would make this"
              + " replica differ from the others, so this member stops; start it with the version"
              + " the other members run");
    }
    return record;
  }

  /** The field numbers this version could not read, anywhere in {@code record}'s journal. */
  private static java.util.Set<Integer> unknownFields(LogRecord record) {
    java.util.Set<Integer> fields =
        new java.util.TreeSet<>(record.getUnknownFields().asMap().keySet());
    if (record.hasJournal()) {
      for (var e : record.getJournal().getEntriesList()) {
        fields.addAll(e.getUnknownFields().asMap().keySet());
      }
    }
    return fields;
  }

  /**
   * Writes a snapshot of everything applied so far: to a temporary file that is forced to disk and
   * then renamed, so a crash leaves either the whole snapshot or none, then its MD5 beside it.
   */
  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || last.getIndex() <= 0) {
      return -1;
    }
    File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    AtomicFileOutputStream atomic = new AtomicFileOutputStream(file);
    try (OutputStream out = new BufferedOutputStream(atomic, 64 << 10)) {
      SnapshotHeader.newBuilder()
          .setEpoch(epoch)
          .setFloor(floor)
          .setAfterHandoff(afterHandoff)
          .build()
          .writeDelimitedTo(out);
      sink.writeSnapshot(out);
    } catch (IOException | RuntimeException e) {
      atomic.abort();
      throw new IOException("cannot write snapshot " + file + ": " + e.getMessage(), e);
    }
    MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
    storage.updateLatestSnapshot(
        new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
    LOG.info("{}: snapshot at {} written to {}", getId(), last, file);
    return last.getIndex();
  }

  private void load(SingleFileSnapshotInfo snapshot) throws IOException {
    if (snapshot == null) {
      return;
    }
    File file = snapshot.getFile().getPath().toFile();
    if (!file.exists()) {
      throw new IOException("snapshot " + file + " is listed but missing");
    }
    MD5Hash md5 = snapshot.getFile().getFileDigest();
    if (md5 == null) {
      throw new IOException("snapshot " + file + " has no MD5 file; it may be incomplete");
    }
    MD5FileUtil.verifySavedMD5(file, md5);
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file.toPath()), 64 << 10)) {
      SnapshotHeader header = SnapshotHeader.parseDelimitedFrom(in);
      if (header == null) {
        throw new IOException("snapshot " + file + " is empty");
      }
      sink.loadSnapshot(in);
      epoch = header.getEpoch();
      floor = header.getFloor();
      afterHandoff = header.getAfterHandoff();
    }
    setLastAppliedTermIndex(snapshot.getTermIndex());
    LOG.info("{}: loaded snapshot {} (epoch {})", getId(), snapshot.getTermIndex(), epoch);
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId leader) {
    events.leaderChanged(leader);
  }

  @Override
  public void notifyConfigurationChanged(
      long term, long index, RaftProtos.RaftConfigurationProto newRaftConfiguration) {
    events.configurationChanged();
  }

  @Override
  public void notifyLeaderReady() {
    events.leaderReady();
  }

  @Override
  public void notifyNotLeader(Collection<TransactionContext> pending) {
    events.notLeader();
  }

  @Override
  public void notifyLogFailed(Throwable cause, LogEntryProto failed) {
    events.stopped(
        "the Raft log failed" + (failed == null ? "" : " at " + failed.getIndex()), cause);
  }

  @Override
  public void notifyServerShutdown(RoleInfoProto roleInfo, boolean allServer) {
    events.stopped("Raft shut the server down", null);
  }

  @Override
  public void close() throws IOException {
    events.stopped("Raft closed the server", null);
    super.close();
  }
}
