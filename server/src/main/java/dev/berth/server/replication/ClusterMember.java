package dev.berth.server.replication;

import dev.berth.server.cluster.ClusterSettings;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.cluster.Peer;
import dev.berth.server.cluster.RaftNode;
import dev.berth.server.cluster.RoleListener;
import dev.berth.server.time.TimeSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This daemon's place in a cluster: the {@link RaftNode} it runs, and the role it serves in as the
 * node reports it. It serves the worker API only between {@link RoleListener#leaderReady} and the
 * next change of leader; a fatal stop of the node is handed to the owner (the daemon exits).
 *
 * <p>Thread-safe: the role is read lock-free on every call; it changes on the node's single
 * notification thread.
 */
public final class ClusterMember implements ServingRole, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterMember.class);

  private final ClusterSettings settings;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private final List<RoleListener> roleListeners = new CopyOnWriteArrayList<>();
  private final Consumer<String> onFatal;
  private volatile Role role = new Role(false, "", "");
  private volatile RaftNode node;

  /** What this node serves in and who leads, as one value so that readers see both together. */
  private record Role(boolean serving, String leaderId, String leaderApi) {}

  private ClusterMember(ClusterSettings settings, Consumer<String> onFatal) {
    this.settings = settings;
    this.onFatal = onFatal;
  }

  /**
   * Starts the Raft node of this member and joins the cluster; it serves nothing until it is the
   * ready leader.
   *
   * @param localFloor this node's single-node epoch: every cluster epoch lies above it
   * @param extra told every role change after this member has taken it in (e.g. the broker)
   * @param onFatal told why the node stopped by itself; the daemon should exit
   * @throws UncheckedIOException when the Raft storage cannot be opened
   */
  public static ClusterMember start(
      ClusterSettings settings,
      Path stateDir,
      long localFloor,
      RoleListener extra,
      TimeSource time,
      Consumer<String> onFatal) {
    ClusterMember member = new ClusterMember(settings, onFatal);
    member.roleListeners.add(extra);
    try {
      member.node =
          RaftNode.start(
              settings, stateDir, localFloor, new UnreplicatedState(), member.new Listener(), time);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the cluster node: " + e.getMessage(), e);
    }
    log.info(
        "cluster {}: member {} of {} (raft {}, api {})",
        settings.id(),
        settings.self(),
        settings.peers().keySet(),
        settings.selfPeer().raftAddress(),
        settings.selfPeer().apiAddress());
    return member;
  }

  /** The running Raft node. */
  public RaftNode node() {
    return node;
  }

  public ClusterSettings settings() {
    return settings;
  }

  @Override
  public boolean serving() {
    return role.serving();
  }

  @Override
  public String leaderApi() {
    return role.leaderApi();
  }

  /** The id of the leader this node knows (itself once elected); empty when none. */
  public String leaderId() {
    return role.leaderId();
  }

  @Override
  public Optional<ClusterStatus> cluster() {
    RaftNode n = node;
    return n == null ? Optional.empty() : Optional.of(n.status());
  }

  @Override
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  /**
   * Hands leadership to {@code memberIdOrEmpty} (empty: the member whose log reaches furthest)
   * through {@link RaftNode#transferLeadership}; completes with the id of the member that leads
   * next. Fails with a {@code ReplicationException} (NOT_LEADER on a node that does not lead) or an
   * {@link IllegalArgumentException} naming a member that is not another member.
   */
  @Override
  public CompletableFuture<String> transferTo(String memberIdOrEmpty) {
    String to = memberIdOrEmpty == null || memberIdOrEmpty.isEmpty() ? null : memberIdOrEmpty;
    RaftNode n = node;
    return n.transferLeadership(to).thenApply(done -> to != null ? to : n.status().leaderId());
  }

  /** Stops serving at once (callers are told NOT_LEADER), then leaves the cluster. */
  @Override
  public void close() {
    set(new Role(false, "", ""));
    RaftNode n = node;
    if (n != null) {
      n.close();
    }
  }

  private void set(Role next) {
    Role before = role;
    role = next;
    if (!before.equals(next)) {
      for (Runnable l : listeners) {
        try {
          l.run();
        } catch (RuntimeException e) {
          log.warn("a cluster role listener failed", e);
        }
      }
    }
  }

  private final class Listener implements RoleListener {
    @Override
    public void elected(long term) {
      // Leads, but serves only once its epoch is applied: meanwhile it points at nobody.
      set(new Role(false, settings.self(), ""));
      roleListeners.forEach(l -> l.elected(term));
    }

    @Override
    public void leaderReady(long term, long epoch) {
      // The broker first takes over from its replica, then the API opens.
      roleListeners.forEach(l -> l.leaderReady(term, epoch));
      Peer self = settings.selfPeer();
      set(new Role(true, self.id(), self.apiAddress()));
      log.info("serving as leader of term {} (epoch {})", term, epoch);
    }

    @Override
    public void following(Optional<Peer> leader) {
      // Closed first, so no call is served by a node that no longer leads.
      set(
          new Role(
              false, leader.map(Peer::id).orElse(""), leader.map(Peer::apiAddress).orElse("")));
      roleListeners.forEach(l -> l.following(leader));
      log.info(
          "following {}",
          leader.map(p -> p.id() + " (api " + p.apiAddress() + ")").orElse("no leader yet"));
    }

    @Override
    public void fatal(String reason, Throwable cause) {
      set(new Role(false, "", ""));
      roleListeners.forEach(l -> l.fatal(reason, cause));
      onFatal.accept(reason);
    }
  }
}
