package dev.berth.server.cluster;

import static java.util.Objects.requireNonNull;

import dev.berth.server.settings.Addresses;
import java.net.InetSocketAddress;

/**
 * One member of a cluster: its id, the address its Raft port listens on, and the address of its
 * broker API that workers are sent to when it leads. Immutable.
 *
 * @param id the member's name, e.g. {@code n1}
 * @param raft where the other members reach its Raft server
 * @param api where workers reach its {@code LeaseBroker}
 * @param dashboard the URL a browser opens its dashboard at ({@code cluster.peers.*.dashboard});
 *     empty when not configured
 */
public record Peer(String id, InetSocketAddress raft, InetSocketAddress api, String dashboard) {

  public Peer {
    requireNonNull(id, "id");
    requireNonNull(raft, "raft");
    requireNonNull(api, "api");
    requireNonNull(dashboard, "dashboard");
  }

  /** A member whose dashboard URL is not configured. */
  public Peer(String id, InetSocketAddress raft, InetSocketAddress api) {
    this(id, raft, api, "");
  }

  /** The Raft address as {@code host:port}. */
  public String raftAddress() {
    return Addresses.format(raft);
  }

  /** The API address as {@code host:port}, the form a {@code NOT_LEADER} hint carries. */
  public String apiAddress() {
    return Addresses.format(api);
  }
}
