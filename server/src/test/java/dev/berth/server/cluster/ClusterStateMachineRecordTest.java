package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.proto.cluster.v1.EpochRecord;
import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.proto.cluster.v1.SessionEnded;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

/**
 * Records written by another version: fields added later are read past, while a record or journal
 * change of a kind this version does not know stops the member rather than being skipped (a skip
 * would leave its replica without what the others applied).
 */
class ClusterStateMachineRecordTest {
  /** Field 9, length-delimited and empty: a message field no version of these messages has yet. */
  private static final byte[] FIELD_9 = {(9 << 3) | 2, 0};

  private static LogEntryProto entry(long index, byte[] data) {
    return LogEntryProto.newBuilder()
        .setIndex(index)
        .setStateMachineLogEntry(
            StateMachineLogEntryProto.newBuilder().setLogData(ByteString.copyFrom(data)))
        .build();
  }

  @Test
  void recordOf_aKnownRecordWithAFieldAddedLater_readsIt() throws Exception {
    byte[] known =
        LogRecord.newBuilder()
            .setEpoch(EpochRecord.newBuilder().setLeader("n1").setProposerFloor(3))
            .build()
            .toByteArray();
    byte[] epochWithField9 = concat(EpochRecord.newBuilder().setLeader("n1").build().toByteArray());
    byte[] record =
        LogRecord.newBuilder()
            .setEpoch(EpochRecord.parseFrom(epochWithField9))
            .build()
            .toByteArray();

    assertThat(ClusterStateMachine.recordOf(entry(5, known)).getEpoch().getProposerFloor())
        .isEqualTo(3);
    assertThat(ClusterStateMachine.recordOf(entry(6, record)).getEpoch().getLeader())
        .isEqualTo("n1");
  }

  @Test
  void recordOf_aRecordOfAKindThisVersionDoesNotKnow_stopsNamingTheEntry() {
    assertThatThrownBy(() -> ClusterStateMachine.recordOf(entry(42, FIELD_9)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith(
            "log entry 42 holds a record of a kind this version of Berth does not know (fields"
                + " [9]): a member of a later version wrote it");
  }

  @Test
  void recordOf_aJournalChangeThisVersionDoesNotKnow_stopsNamingTheEntry() throws Exception {
    JournalEntry unknown = JournalEntry.parseFrom(FIELD_9);
    byte[] record =
        LogRecord.newBuilder()
            .setJournal(
                JournalBatch.newBuilder()
                    .addEntries(
                        JournalEntry.newBuilder()
                            .setSessionEnded(SessionEnded.newBuilder().setSessionId("s")))
                    .addEntries(unknown))
            .build()
            .toByteArray();

    assertThatThrownBy(() -> ClusterStateMachine.recordOf(entry(43, record)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith(
            "log entry 43 holds a journal entry of a change this version of Berth does not know"
                + " (fields [9])");
  }

  @Test
  void recordOf_bytesThatAreNoRecord_stopsNamingTheEntry() {
    assertThatThrownBy(() -> ClusterStateMachine.recordOf(entry(44, new byte[] {(byte) 0xff, 1})))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("log entry 44 is not a Berth record");
  }

  private static byte[] concat(byte[] message) {
    byte[] out = new byte[message.length + FIELD_9.length];
    System.arraycopy(message, 0, out, 0, message.length);
    System.arraycopy(FIELD_9, 0, out, message.length, FIELD_9.length);
    return out;
  }
}
