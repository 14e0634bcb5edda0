package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.state.StateException;
import dev.berth.server.time.FakeTimeSource;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a node checks before it starts Raft; nothing here opens a port. */
class RaftNodeTest {

  /** Three members on ports nobody listens on; nothing here opens one. */
  static ClusterSettings settings(String id) {
    return ClusterSettings.newBuilder()
        .id(id)
        .self("n1")
        .peer("n1", "127.0.0.1:1", "127.0.0.1:2")
        .peer("n2", "127.0.0.1:3", "127.0.0.1:4")
        .peer("n3", "127.0.0.1:5", "127.0.0.1:6")
        .build();
  }

  @Test
  void start_raftDirectoryOfAnotherCluster_failsBeforeRaftStarts(@TempDir Path state)
      throws Exception {
    Files.createDirectories(
        state.resolve("raft").resolve(RaftGroups.groupId("fleet-2").getUuid().toString()));
    assertThatThrownBy(() -> startIn(state))
        .isInstanceOf(StateException.class)
        .hasMessageContaining("holds the Raft log of another cluster")
        .hasMessageContaining("cluster.id 'fleet-1'");
  }

  /**
   * Member n2's state directory started as n1 (copied or swapped): refused, naming both, before
   * Raft starts. Without the check Ratis started n1 on n2's log and votes.
   */
  @Test
  void start_raftDirectoryOfAnotherMember_failsBeforeRaftStarts(@TempDir Path state)
      throws Exception {
    Path group = state.resolve("raft").resolve(RaftGroups.groupId("fleet-1").getUuid().toString());
    Files.createDirectories(group);
    Files.writeString(state.resolve("raft").resolve(RaftGroups.MEMBER_FILE), "n2\n");

    assertThatThrownBy(() -> startIn(state))
        .isInstanceOf(StateException.class)
        .hasMessage(
            state.resolve("raft")
                + " holds the Raft log and votes of member 'n2', not of cluster.self 'n1' (a state"
                + " directory copied or swapped?): a member started on another's state could vote"
                + " twice in one term. Start 'n2' on it, or move it away to join afresh as 'n1'"
                + " (the leader sends it the log)");
  }

  @Test
  void checkStorage_recordsTheMemberOnItsFirstStart_andAcceptsItAgain(@TempDir Path state)
      throws Exception {
    Path raft = state.resolve("raft");
    RaftGroups.checkStorage(raft, RaftGroups.groupId("fleet-1"), "fleet-1", "n1");

    assertThat(Files.readString(raft.resolve(RaftGroups.MEMBER_FILE))).isEqualTo("n1\n");
    RaftGroups.checkStorage(raft, RaftGroups.groupId("fleet-1"), "fleet-1", "n1");
  }

  private static RaftNode startIn(Path state) throws Exception {
    return RaftNode.start(
        settings("fleet-1"),
        state,
        0,
        new RecordingSink(),
        new RecordingRoles(),
        new FakeTimeSource());
  }

  @Test
  void groupId_isStablePerClusterId() {
    assertThat(RaftGroups.groupId("fleet-1")).isEqualTo(RaftGroups.groupId("fleet-1"));
    assertThat(RaftGroups.group(settings("fleet-1")).getPeers()).hasSize(3);
  }

  @Test
  void failure_mapsRatisConditionsToOurs() {
    assertThat(
            LogWriters.failure(
                    new java.util.concurrent.CompletionException(
                        new org.apache.ratis.protocol.exceptions.AlreadyClosedException("x")))
                .reason())
        .isEqualTo(ReplicationException.Reason.CLOSED);
    assertThat(
            LogWriters.failure(
                    new org.apache.ratis.protocol.exceptions.LeaderNotReadyException(
                        org.apache.ratis.protocol.RaftGroupMemberId.valueOf(
                            org.apache.ratis.protocol.RaftPeerId.valueOf("n1"),
                            RaftGroups.groupId("f"))))
                .reason())
        .isEqualTo(ReplicationException.Reason.NOT_LEADER);
    assertThat(
            LogWriters.failure(new org.apache.ratis.protocol.exceptions.TimeoutIOException("slow"))
                .reason())
        .isEqualTo(ReplicationException.Reason.UNAVAILABLE);
  }

  @Test
  void failure_ownWriteNotCommittedInTime_isUnavailableAndSaysSo() {
    ReplicationException e =
        LogWriters.failure(
            new java.util.concurrent.CompletionException(
                new java.util.concurrent.TimeoutException()));
    assertThat(e.reason()).isEqualTo(ReplicationException.Reason.UNAVAILABLE);
    assertThat(e).hasMessageContaining("not committed by a majority within its time bound");
  }
}
