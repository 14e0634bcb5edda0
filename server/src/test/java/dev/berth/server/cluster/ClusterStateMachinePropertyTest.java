package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.cluster.v1.EpochRecord;
import dev.berth.proto.cluster.v1.FloorRecord;
import dev.berth.proto.cluster.v1.HandoffRecord;
import dev.berth.proto.cluster.v1.HostPenalty;
import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LeaseEnded;
import dev.berth.proto.cluster.v1.LeaseGranted;
import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.proto.cluster.v1.SessionEnded;
import dev.berth.proto.cluster.v1.SessionOpened;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.server.replication.ReplicatedFleet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.statemachine.TransactionContext;

/**
 * The leader applies the records it wrote from the decoded form it kept ({@link WrittenRecord}), a
 * follower parses them from the log: for any sequence of records, both leave the same replica (its
 * sessions, leases, host penalties and snapshot bytes), the same epoch, and hand the sink equal
 * records — and the leader's path really skips the parse (the sink gets the very object written).
 */
class ClusterStateMachinePropertyTest {
  private static final ClientId CLIENT = ClientId.randomId();
  private static final RaftPeerId SELF = RaftPeerId.valueOf("n1");
  private static final RaftGroupId GROUP = RaftGroupId.randomId();

  @Provide
  Arbitrary<List<LogRecord>> records() {
    Arbitrary<String> session = Arbitraries.of("s1", "s2", "s3");
    Arbitrary<String> lease = Arbitraries.of("l1", "l2", "l3", "l4");
    Arbitrary<JournalEntry> opened =
        session.map(
            s ->
                JournalEntry.newBuilder()
                    .setSessionOpened(
                        SessionOpened.newBuilder()
                            .setSessionId(s)
                            .setWorkerId("w-" + s)
                            .setPrincipal("p")
                            .putLabels("zone", "a")
                            .setOpenedAtUnixMs(1_000))
                    .build());
    Arbitrary<JournalEntry> ended =
        session.map(
            s ->
                JournalEntry.newBuilder()
                    .setSessionEnded(SessionEnded.newBuilder().setSessionId(s).setReason("bye"))
                    .build());
    Arbitrary<JournalEntry> granted =
        net.jqwik.api.Combinators.combine(
                lease, session, Arbitraries.longs().between(1, 1L << 45), Arbitraries.of(0, 1))
            .as(
                (l, s, token, k) ->
                    JournalEntry.newBuilder()
                        .setLeaseGranted(
                            LeaseGranted.newBuilder()
                                .setLeaseId(l)
                                .setSessionId(s)
                                .setKind(
                                    k == 0
                                        ? ResourceKind.RESOURCE_KIND_RENDER
                                        : ResourceKind.RESOURCE_KIND_PDF)
                                .setFencingToken(token)
                                .setHost("h.example")
                                .setRequestId("r-" + l)
                                .setGrantedAtUnixMs(2_000)
                                .setMaxHoldMs(30_000)
                                .setUrl("https://h.example/")
                                .setItems(1))
                        .build());
    Arbitrary<JournalEntry> leaseEnded =
        lease.map(
            l ->
                JournalEntry.newBuilder()
                    .setLeaseEnded(LeaseEnded.newBuilder().setLeaseId(l).setHow("released"))
                    .build());
    Arbitrary<JournalEntry> penalty =
        Arbitraries.of(429, 503)
            .map(
                status ->
                    JournalEntry.newBuilder()
                        .setHostPenalty(
                            HostPenalty.newBuilder()
                                .setHost("h.example")
                                .setHttpStatus(status)
                                .setRetryAfterMs(500)
                                .setAtUnixMs(3_000))
                        .build());
    Arbitrary<LogRecord> journal =
        Arbitraries.oneOf(opened, ended, granted, leaseEnded, penalty)
            .list()
            .ofMinSize(1)
            .ofMaxSize(12)
            .map(
                entries ->
                    LogRecord.newBuilder()
                        .setJournal(JournalBatch.newBuilder().addAllEntries(entries))
                        .build());
    Arbitrary<LogRecord> epoch =
        Arbitraries.longs()
            .between(0, 9)
            .map(
                floor ->
                    LogRecord.newBuilder()
                        .setEpoch(EpochRecord.newBuilder().setLeader("n1").setProposerFloor(floor))
                        .build());
    Arbitrary<LogRecord> floor =
        Arbitraries.longs()
            .between(0, 12)
            .map(
                f ->
                    LogRecord.newBuilder()
                        .setFloor(FloorRecord.newBuilder().setNode("n2").setFloor(f))
                        .build());
    Arbitrary<LogRecord> handoff =
        Arbitraries.just(
            LogRecord.newBuilder().setHandoff(HandoffRecord.newBuilder().setFrom("n1")).build());
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(6, journal),
            net.jqwik.api.Tuple.of(1, epoch),
            net.jqwik.api.Tuple.of(1, floor),
            net.jqwik.api.Tuple.of(1, handoff))
        .list()
        .ofMinSize(1)
        .ofMaxSize(30);
  }

  @Property(tries = 200, edgeCases = EdgeCasesMode.NONE)
  void apply_writtenRecordOrParsedFromTheLog_leavesTheSameReplica(
      @ForAll("records") List<LogRecord> records) throws IOException {
    ReplicatedFleet leaderReplica = new ReplicatedFleet(() -> 10_000, p -> {});
    ReplicatedFleet followerReplica = new ReplicatedFleet(() -> 10_000, p -> {});
    List<AppliedRecord> leaderApplied = new ArrayList<>();
    List<AppliedRecord> followerApplied = new ArrayList<>();
    ClusterStateMachine leader =
        new ClusterStateMachine(tee(leaderReplica, leaderApplied), NoEvents.INSTANCE);
    ClusterStateMachine follower =
        new ClusterStateMachine(tee(followerReplica, followerApplied), NoEvents.INSTANCE);

    long index = 0;
    for (LogRecord record : records) {
      index++;
      TransactionContext written = leader.startTransaction(request(index, record));
      LogEntryProto entry = written.initLogEntry(1, index);
      leader.applyTransaction(written).join();
      follower.applyTransaction(follower.startTransaction(entry, RaftPeerRole.FOLLOWER)).join();
    }

    assertThat(leaderApplied).isEqualTo(followerApplied);
    for (int i = 0; i < records.size(); i++) {
      assertThat(leaderApplied.get(i).record()).isSameAs(records.get(i));
    }
    assertThat(leader.epoch()).isEqualTo(follower.epoch());
    assertThat(leaderReplica.fleet().sessions()).isEqualTo(followerReplica.fleet().sessions());
    assertThat(leaderReplica.fleet().leases()).isEqualTo(followerReplica.fleet().leases());
    assertThat(leaderReplica.fleet().hosts()).isEqualTo(followerReplica.fleet().hosts());
    assertThat(snapshot(leaderReplica)).isEqualTo(snapshot(followerReplica));
  }

  private static RaftClientRequest request(long callId, LogRecord record) {
    return RaftClientRequest.newBuilder()
        .setClientId(CLIENT)
        .setServerId(SELF)
        .setGroupId(GROUP)
        .setCallId(callId)
        .setMessage(new WrittenRecord(record))
        .setType(RaftClientRequest.writeRequestType())
        .build();
  }

  private static byte[] snapshot(ReplicatedFleet replica) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    replica.writeSnapshot(out);
    return out.toByteArray();
  }

  private static ReplicaSink tee(ReplicatedFleet replica, List<AppliedRecord> applied) {
    return new ReplicaSink() {
      @Override
      public void apply(AppliedRecord record) {
        applied.add(record);
        replica.apply(record);
      }

      @Override
      public void writeSnapshot(java.io.OutputStream out) throws IOException {
        replica.writeSnapshot(out);
      }

      @Override
      public void loadSnapshot(java.io.InputStream in) throws IOException {
        replica.loadSnapshot(in);
      }
    };
  }

  /** Ignores what the state machine tells its node. */
  private enum NoEvents implements ClusterStateMachine.Events {
    INSTANCE;

    @Override
    public void leaderChanged(RaftPeerId leader) {}

    @Override
    public void leaderReady() {}

    @Override
    public void notLeader() {}

    @Override
    public void epochApplied(long term, String proposer, long epoch, boolean afterHandoff) {}

    @Override
    public void floorApplied(long floor, long epoch) {}

    @Override
    public void stopped(String reason, Throwable cause) {}
  }
}
