package dev.berth.server.web;

import java.util.List;

/**
 * What the dashboard shows of the cluster this broker belongs to. Berth runs as one broker today,
 * so the daemon passes {@link #STANDALONE} and the page says so; a clustered broker will pass a
 * view of its members here, and the page lists them with their roles.
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
   */
  record Member(String id, String address, String role, boolean self) {}

  boolean clustered();

  /** The members, this broker included; empty when not clustered. */
  List<Member> members();
}
