package dev.berth.server.web;

import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.replication.ServingRole;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What the dashboard shows of the cluster this broker belongs to: for a lone broker {@link
 * #STANDALONE}, and the page says so; for a cluster member {@link #of(ServingRole)}, its members
 * with their roles as this node sees them, read afresh on every snapshot.
 *
 * <p>Implementations are thread-safe.
 */
interface ClusterView {
  /** A broker that is not part of a cluster: no members to show. */
  ClusterView STANDALONE =
      new ClusterView() {
        @Override
        public boolean clustered() {
          return false;
        }

        @Override
        public List<Member> members() {
          return List.of();
        }
      };

  /**
   * One member.
   *
   * @param role e.g. leader or follower
   * @param dashboard its {@code cluster.peers.*.dashboard} URL; empty when not configured
   */
  record Member(String id, String address, String role, boolean self, String dashboard) {}

  /**
   * The view of a cluster member's role: every member, the leader it knows marked {@code leader},
   * this node with its own role (and its term), the others {@code follower} with their lag when the
   * leader knows it.
   */
  static ClusterView of(ServingRole role) {
    return new ClusterView() {
      @Override
      public boolean clustered() {
        return role.cluster().isPresent();
      }

      @Override
      public List<Member> members() {
        Optional<ClusterStatus> status = role.cluster();
        if (status.isEmpty()) {
          return List.of();
        }
        ClusterStatus c = status.get();
        List<Member> members = new ArrayList<>();
        for (ClusterStatus.Member m : c.members()) {
          boolean self = m.id().equals(c.self());
          String what;
          if (self) {
            what = c.role().name().toLowerCase(Locale.ROOT) + " (term " + c.term() + ")";
          } else if (m.id().equals(c.leaderId())) {
            what = "leader";
          } else {
            what = m.lag() >= 0 ? "follower (lag " + m.lag() + ")" : "follower";
          }
          members.add(new Member(m.id(), m.api(), what, self, m.dashboard()));
        }
        return members;
      }
    };
  }

  boolean clustered();

  /** The members, this broker included; empty when not clustered. */
  List<Member> members();
}
