package dev.berth.server.cluster;

import dev.berth.proto.cluster.v1.MemberAddresses;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares this member's {@code cluster.peers} with what the cluster itself uses, so that a member
 * started with another peer list says so instead of joining silently and sending workers to a wrong
 * leader address. Stateless.
 *
 * <p>Two sources, both written by a leader: the Raft configuration (every member's Raft address, as
 * the cluster's first leader had them in its {@code cluster.peers}; Ratis connects to these,
 * whatever a later member's settings say), and each new leader's epoch record, which carries the
 * API address the leader itself is configured with ({@code cluster.peers.<leader>.api}), the one
 * its followers should send workers to. Raft keeps no API address of the other members: a member
 * that has a follower's API address wrong is told when that follower next leads.
 */
final class PeerCheck {
  private PeerCheck() {}

  /**
   * How {@code settings} differ from the Raft configuration {@code raftAddresses} (member id to
   * Raft address); empty when they agree.
   */
  static List<String> raftDifferences(ClusterSettings settings, Map<String, String> raftAddresses) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, String> e : raftAddresses.entrySet()) {
      Peer mine = settings.peers().get(e.getKey());
      if (mine == null) {
        out.add(
            "member "
                + e.getKey()
                + " (raft "
                + e.getValue()
                + ") is in the cluster's Raft configuration but not in this member's"
                + " cluster.peers");
      } else if (!mine.raftAddress().equals(e.getValue())) {
        out.add(
            "cluster.peers."
                + e.getKey()
                + ".raft is "
                + mine.raftAddress()
                + " on this member, but the cluster's Raft configuration has "
                + e.getValue());
      }
    }
    for (String id : settings.peers().keySet()) {
      if (!raftAddresses.containsKey(id)) {
        out.add(
            "member "
                + id
                + " of this member's cluster.peers is not in the cluster's Raft configuration");
      }
    }
    return out;
  }

  /**
   * How {@code settings} differ from the {@code cluster.peers} of {@code leader}, as its epoch
   * record carries them; empty when they agree or the record carries none (an older version's).
   */
  static List<String> leaderDifferences(
      ClusterSettings settings, String leader, List<MemberAddresses> leaders) {
    List<String> out = new ArrayList<>();
    if (leaders.isEmpty()) {
      return out;
    }
    Map<String, MemberAddresses> theirs = new LinkedHashMap<>();
    for (MemberAddresses m : leaders) {
      theirs.put(m.getId(), m);
    }
    for (MemberAddresses m : leaders) {
      Peer mine = settings.peers().get(m.getId());
      if (mine == null) {
        out.add(
            "member " + m.getId() + " is in " + leader + "'s cluster.peers, not in this member's");
        continue;
      }
      if (!mine.raftAddress().equals(m.getRaft())) {
        out.add(differs(m.getId(), "raft", mine.raftAddress(), leader, m.getRaft()));
      }
      if (!mine.apiAddress().equals(m.getApi())) {
        out.add(differs(m.getId(), "api", mine.apiAddress(), leader, m.getApi()));
      }
    }
    for (String id : settings.peers().keySet()) {
      if (!theirs.containsKey(id)) {
        out.add("member " + id + " is in this member's cluster.peers, not in " + leader + "'s");
      }
    }
    return out;
  }

  private static String differs(String id, String key, String mine, String leader, String theirs) {
    return "cluster.peers."
        + id
        + "."
        + key
        + " is "
        + mine
        + " here but "
        + theirs
        + " on "
        + leader;
  }

  /** {@code settings}'s members, as an epoch record carries them. */
  static List<MemberAddresses> addresses(ClusterSettings settings) {
    List<MemberAddresses> out = new ArrayList<>();
    for (Peer p : settings.peers().values()) {
      out.add(
          MemberAddresses.newBuilder()
              .setId(p.id())
              .setRaft(p.raftAddress())
              .setApi(p.apiAddress())
              .build());
    }
    return out;
  }
}
