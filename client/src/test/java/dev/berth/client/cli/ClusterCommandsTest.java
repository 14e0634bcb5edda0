package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.ClusterMemberInfo;
import dev.berth.proto.v1.ClusterNode;
import dev.berth.proto.v1.ClusterRole;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The text of {@code berth cluster status}: the answering member, the leader, and the members. */
class ClusterCommandsTest {
  private static String view(ClusterNode node) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ClusterCommands.view(
        node, "10.0.0.2:7433", new PrintStream(bytes, true, StandardCharsets.UTF_8));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static ClusterNode.Builder follower() {
    return ClusterNode.newBuilder()
        .setNodeId("n2")
        .setRole(ClusterRole.CLUSTER_ROLE_FOLLOWER)
        .setTerm(3)
        .setLeaderId("n1")
        .setLeaderApi("10.0.0.1:7433")
        .setEpoch(7)
        .setCommitIndex(10)
        .setAppliedIndex(9)
        .setApplyLag(1)
        .addMembers(member("n1", "10.0.0.1:7433", 10, -1))
        .addMembers(member("n2", "10.0.0.2:7433", 10, 1))
        .addMembers(member("n3", "10.0.0.3:7433", -1, -1));
  }

  private static ClusterMemberInfo member(String id, String api, long commit, long lag) {
    return ClusterMemberInfo.newBuilder()
        .setId(id)
        .setApi(api)
        .setCommitIndex(commit)
        .setLag(lag)
        .build();
  }

  @Test
  void view_follower_namesItselfTheLeaderAndEachMembersRole() {
    assertThat(view(follower().build()))
        .isEqualTo(
            """
            answered_by  n2 at 10.0.0.2:7433 (follower)
            leader       n1 at 10.0.0.1:7433
            term         3   epoch 7
            log          commit index 10, applied 9, apply lag 1

            MEMBER  API            ROLE      COMMIT  LAG  LAST ANSWER
            n1      10.0.0.1:7433  leader        10    ?            ?
            n2      10.0.0.2:7433  follower      10    1            -
            n3      10.0.0.3:7433  follower       ?    ?            ?
            """);
  }

  @Test
  void view_leader_showsHowLongAgoEachMemberLastAnsweredIt() {
    ClusterNode.Builder leader =
        follower().setNodeId("n1").setRole(ClusterRole.CLUSTER_ROLE_LEADER).setReady(true);
    leader.setMembers(
        1,
        leader.getMembers(1).toBuilder()
            .setUnansweredFor(com.google.protobuf.Duration.newBuilder().setNanos(200_000_000)));
    leader.setMembers(
        2,
        leader.getMembers(2).toBuilder()
            .setUnansweredFor(com.google.protobuf.Duration.newBuilder().setSeconds(8).setNanos(8)));

    String text = view(leader.build());

    assertThat(text).containsPattern("n1 +10.0.0.1:7433 +leader +10 +\\? +-\\n");
    assertThat(text).containsPattern("n2 +10.0.0.2:7433 +follower +10 +1 +200ms ago\\n");
    assertThat(text).containsPattern("n3 +10.0.0.3:7433 +follower +\\? +\\? +8s ago\\n");
  }

  @Test
  void view_noLeaderKnown_saysSoAndLeavesOtherRolesUnknown() {
    String text =
        view(follower().setRole(ClusterRole.CLUSTER_ROLE_CANDIDATE).clearLeaderId().build());

    assertThat(text).contains("leader       none known\n").contains("(candidate)");
    assertThat(text).containsPattern("n1 +10.0.0.1:7433 +\\? ");
  }

  @Test
  void view_leaderNotReady_saysItDoesNotGrantYet() {
    String text =
        view(
            follower()
                .setNodeId("n1")
                .setRole(ClusterRole.CLUSTER_ROLE_LEADER)
                .setReady(false)
                .build());

    assertThat(text).contains("leader       n1 at 10.0.0.1:7433 (not ready yet)");
  }

  @Test
  void view_leader_showsWhatItsLogHasNotCommittedYet() {
    String text =
        view(
            follower()
                .setNodeId("n1")
                .setRole(ClusterRole.CLUSTER_ROLE_LEADER)
                .setReady(true)
                .setUncommittedEntries(3)
                .build());

    assertThat(text)
        .contains("log          commit index 10, applied 9, apply lag 1, uncommitted 3");
  }
}
