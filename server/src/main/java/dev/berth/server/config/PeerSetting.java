package dev.berth.server.config;

import java.net.InetSocketAddress;

/**
 * One {@code cluster.peers} entry as configured; its fields may arrive one at a time ({@code
 * cluster.peers.n1.raft}), so their presence is checked when the daemon settings are built.
 *
 * @param raft where the other members reach its Raft port, or null when not given
 * @param api where workers reach its broker API (the address a leader hint names), or null
 * @param dashboard the URL a browser opens its dashboard at, or null (see {@code
 *     cluster.peers.*.dashboard})
 */
public record PeerSetting(InetSocketAddress raft, InetSocketAddress api, String dashboard) {
  /** With {@code raft} and {@code api} only, no dashboard URL. */
  public PeerSetting(InetSocketAddress raft, InetSocketAddress api) {
    this(raft, api, null);
  }
}
