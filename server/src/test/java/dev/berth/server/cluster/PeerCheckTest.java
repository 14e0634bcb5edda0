package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.cluster.v1.MemberAddresses;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeerCheckTest {
  private static ClusterSettings.Builder three(String n1Api) {
    return ClusterSettings.newBuilder()
        .id("it")
        .self("n3")
        .peer("n1", "127.0.0.1:1", n1Api)
        .peer("n2", "127.0.0.1:3", "127.0.0.1:4")
        .peer("n3", "127.0.0.1:5", "127.0.0.1:6");
  }

  private static final ClusterSettings MINE = three("127.0.0.1:2").build();

  @Test
  void leaderWithTheSamePeers_orAnOlderRecordWithoutThem_differsInNothing() {
    assertThat(PeerCheck.leaderDifferences(MINE, "n1", PeerCheck.addresses(MINE))).isEmpty();
    assertThat(PeerCheck.leaderDifferences(MINE, "n1", List.of())).isEmpty();
  }

  @Test
  void leaderWithAnotherApiAddress_namesTheMemberAndBothAddresses() {
    List<MemberAddresses> leaders = PeerCheck.addresses(three("127.0.0.1:9").build());
    assertThat(PeerCheck.leaderDifferences(MINE, "n2", leaders))
        .containsExactly("cluster.peers.n1.api is 127.0.0.1:2 here but 127.0.0.1:9 on n2");
  }

  @Test
  void leaderWithAnotherMember_namesItOnBothSides() {
    ClusterSettings five =
        three("127.0.0.1:2")
            .peer("n4", "127.0.0.1:7", "127.0.0.1:8")
            .peer("n5", "127.0.0.1:10", "127.0.0.1:11")
            .build();
    assertThat(PeerCheck.leaderDifferences(MINE, "n1", PeerCheck.addresses(five)))
        .containsExactly(
            "member n4 is in n1's cluster.peers, not in this member's",
            "member n5 is in n1's cluster.peers, not in this member's");
    assertThat(PeerCheck.leaderDifferences(five, "n1", PeerCheck.addresses(MINE)))
        .containsExactly(
            "member n4 is in this member's cluster.peers, not in n1's",
            "member n5 is in this member's cluster.peers, not in n1's");
  }

  @Test
  void raftConfiguration_comparedWithTheRaftAddresses() {
    assertThat(
            PeerCheck.raftDifferences(
                MINE, Map.of("n1", "127.0.0.1:1", "n2", "127.0.0.1:3", "n3", "127.0.0.1:5")))
        .isEmpty();
    assertThat(
            PeerCheck.raftDifferences(
                MINE, new java.util.TreeMap<>(Map.of("n1", "127.0.0.1:99", "n2", "127.0.0.1:3"))))
        .containsExactly(
            "cluster.peers.n1.raft is 127.0.0.1:1 on this member, but the cluster's Raft"
                + " configuration has 127.0.0.1:99",
            "member n3 of this member's cluster.peers is not in the cluster's Raft configuration");
  }
}
