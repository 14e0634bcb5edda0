package dev.berth.server.replication;

import dev.berth.proto.cluster.v1.FleetState;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.Fleet;
import dev.berth.server.cluster.Batcher;
import dev.berth.server.cluster.ClusterSettings;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.cluster.Peer;
import dev.berth.server.cluster.RaftNode;
import dev.berth.server.cluster.ReplicationException;
import dev.berth.server.cluster.RoleListener;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PolicyText;
import dev.berth.server.metrics.BrokerMetrics;
import dev.berth.server.time.TimeSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This daemon's place in a cluster: the {@link RaftNode} it runs, the role it serves in as the node
 * reports it, and the bond between the node and the broker. It serves the worker API only between
 * {@link RoleListener#leaderReady} and the next change of leader; a fatal stop of the node is
 * handed to the owner (the daemon exits).
 *
 * <p>The broker journals every lease-state change to the node ({@link ClusterJournal}); every
 * member keeps a {@link ReplicatedFleet} from the log; the member that becomes the ready leader
 * takes its broker over from that replica ({@link Broker#takeOver(long,
 * dev.berth.server.broker.Fleet, int)}), and one that stops leading ends its broker's sessions
 * ({@link Broker#stepDown}). A follower puts every replicated policy in force at once.
 *
 * <p>Thread-safe: the role is read lock-free on every call; it changes on the node's single
 * notification thread.
 */
public final class ClusterMember implements ServingRole, AutoCloseable {
  /** Whether a handoff of this member's leadership is under way ({@link #transferTo}). */
  private final java.util.concurrent.atomic.AtomicBoolean handingOff =
      new java.util.concurrent.atomic.AtomicBoolean();

  private static final Logger log = LoggerFactory.getLogger(ClusterMember.class);

  private final ClusterSettings settings;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private final List<RoleListener> roleListeners = new CopyOnWriteArrayList<>();
  private final Consumer<String> onFatal;
  private final Broker broker;
  private final ReplicatedFleet replica;
  private final ClusterJournal journal;
  private final TimeSource time;
  private volatile Role role = new Role(false, "", "");
  private volatile RaftNode node;

  /** The term whose leadership the broker has taken over; -1 while it does not lead. */
  private volatile long ledTerm = -1;

  /** What this node serves in and who leads, as one value so that readers see both together. */
  private record Role(boolean serving, String leaderId, String leaderApi) {}

  private ClusterMember(
      ClusterSettings settings, Broker broker, TimeSource time, Consumer<String> onFatal) {
    this.settings = settings;
    this.onFatal = onFatal;
    this.broker = broker;
    this.time = time;
    this.replica = new ReplicatedFleet(() -> time.wallTime().toEpochMilli(), this::policyApplied);
    this.journal = new ClusterJournal(() -> node, settings, broker::policy, this::renewEpoch);
  }

  /** Asks the cluster for this leadership's next fencing epoch; its record commits later. */
  private void renewEpoch() {
    RaftNode n = node;
    if (n != null) {
      log.info("the fencing-token epoch is running low: asking the cluster for the next one");
      n.advanceEpochSoon();
    }
  }

  /**
   * Starts the Raft node of this member and joins the cluster; it serves nothing until it is the
   * ready leader.
   *
   * @param localFloor this node's single-node epoch: every cluster epoch lies above it
   * @param broker this daemon's broker: it journals to the node from now on, takes over when the
   *     node leads and steps down when it stops
   * @param extra told every role change (before the broker takes over, on leading)
   * @param onFatal told why the node stopped by itself; the daemon should exit
   * @throws UncheckedIOException when the Raft storage cannot be opened or the Raft port cannot be
   *     bound (the message names {@code cluster.peers.<self>.raft} and the address)
   */
  public static ClusterMember start(
      ClusterSettings settings,
      Path stateDir,
      long localFloor,
      Broker broker,
      RoleListener extra,
      TimeSource time,
      Consumer<String> onFatal) {
    ClusterMember member = new ClusterMember(settings, broker, time, onFatal);
    member.roleListeners.add(extra);
    broker.journalTo(member.journal);
    try {
      member.node =
          RaftNode.start(
              settings, stateDir, localFloor, member.replica, member.new Listener(), time);
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

  /** The gauges of this member's replication, for the metrics endpoint. */
  public BrokerMetrics.Replication replicationMetrics() {
    return new BrokerMetrics.Replication(
        () -> {
          RaftNode n = node;
          if (n == null) {
            return 0;
          }
          ClusterStatus s = n.status();
          long lag = 0;
          for (ClusterStatus.Member m : s.members()) {
            lag = Math.max(lag, m.lag());
          }
          return lag;
        },
        () -> {
          RaftNode n = node;
          return n == null ? 0 : n.status().applyLag();
        },
        kind -> {
          RaftNode n = node;
          return n == null ? 0 : n.journal().uncommitted(FleetCodec.kind(kind));
        },
        () -> journalStats().batchesSent(),
        () -> journalStats().entriesSent(),
        () -> journalStats().entriesFolded(),
        () -> journalStats().largestBatch());
  }

  /**
   * Tells {@code observer} the number of entries of every journal batch this member sends while it
   * leads; see {@link RaftNode#observeJournalBatches}.
   */
  public void observeJournalBatches(java.util.function.IntConsumer observer) {
    node.observeJournalBatches(observer);
  }

  private Batcher.Stats journalStats() {
    RaftNode n = node;
    return n == null ? new Batcher.Stats(0, 0, 0, 0, 0, 0, 0) : n.journal().stats();
  }

  @Override
  public Optional<Fleet> replicaWhileNotServing() {
    return serving() ? Optional.empty() : Optional.of(replica.fleet());
  }

  @Override
  public long replicaVersion() {
    return replica.lastIndex();
  }

  /** The replica of the leader's lease state this member keeps. */
  public ReplicatedFleet replica() {
    return replica;
  }

  /**
   * Hands leadership to another member with the broker's whole state, so that it serves at once (no
   * new-leader wait, nothing held back): this member stops granting now, drains its journal,
   * commits a handoff record with every session, lease and host penalty, and transfers leadership.
   * If anything fails, this member stays leader and grants again once a new epoch is applied.
   *
   * @param memberIdOrEmpty the member to lead next; empty for the one whose log reaches furthest
   * @return completes with the id of the new leader once the transfer is done; fails with an {@link
   *     IllegalArgumentException} naming {@code member} when it is not another member of this
   *     cluster, a {@link dev.berth.server.cluster.MemberSilentException} when that member has not
   *     answered this leader for longer than {@link RaftNode#silenceBound()} (refused before
   *     anything changes: grants go on), or a {@link ReplicationException} ({@code NOT_LEADER} when
   *     this member is not the ready leader)
   */
  @Override
  public CompletableFuture<String> transferTo(String memberIdOrEmpty) {
    String to = memberIdOrEmpty == null || memberIdOrEmpty.isEmpty() ? null : memberIdOrEmpty;
    if (to != null && (!settings.peers().containsKey(to) || to.equals(settings.self()))) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException(
              "member: '"
                  + to
                  + "' is not another member of cluster "
                  + settings.id()
                  + " (members: "
                  + String.join(", ", settings.peers().keySet())
                  + "; this is "
                  + settings.self()
                  + ")"));
    }
    RaftNode n = node;
    if (n == null || !role.serving()) {
      return CompletableFuture.failedFuture(
          new ReplicationException(
              ReplicationException.Reason.NOT_LEADER,
              "this member ("
                  + settings.self()
                  + ") is not the ready leader"
                  + (role.leaderId().isEmpty() ? "" : "; " + role.leaderId() + " leads"),
              null));
    }
    if (to != null) {
      try {
        // Before anything pauses: a member that does not answer could not take over anyway.
        n.checkAnswering(to);
      } catch (dev.berth.server.cluster.MemberSilentException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    if (!handingOff.compareAndSet(false, true)) {
      // A second handoff (a transfer during a shutdown's) would pause, hold and release the
      // journal under the first one's feet: its failure would end the first one's hold early.
      return CompletableFuture.failedFuture(
          new IllegalStateException("a leadership transfer is already under way"));
    }
    // Grants stop before the state is read: every grant is either in it or refused (retryable).
    journal.pause(true);
    // What the broker journals from now on (releases, session ends) reaches the log after the
    // handoff record, so the successor applies it on top of the state read next (handOff ends the
    // hold). An entry both in the state and after the record applies twice, which changes nothing.
    n.journal().hold();
    // The broker's policy, not the replica's: a change made just before (UpdateLimits, a reload)
    // is in force here before its record is applied, and the handoff must not undo it. While the
    // log carries no policy at all, neither does the handoff: each member keeps its own.
    byte[] policy =
        replica.policy() != null || journal.policySent()
            ? dev.berth.server.config.PolicyText.encode(broker.policy())
            : null;
    FleetState state = FleetCodec.state(broker.fleet(), policy, time.wallTime().toEpochMilli());
    Fleet.HoldBack holding = broker.holdBack();
    if (holding != null) {
      // Slots still kept for an earlier leader's unseen grants: the successor keeps them too.
      state = state.toBuilder().setHoldBack(FleetCodec.holdBack(holding)).build();
    }
    log.info(
        "handing off to {}: {} sessions, {} leases",
        to == null ? "the most up-to-date member" : to,
        state.getSessionsCount(),
        state.getLeasesCount());
    // Paused until the handoff fails, or, once it succeeded, until this member leads again
    // (leaderReady): between the transfer and this member's step-down it must not grant, and an
    // acquire waiting meanwhile is not refused (Journal.handingOff).
    return n.handOff(state, to)
        .whenComplete(
            (ok, error) -> {
              handingOff.set(false);
              if (error != null) {
                journal.pause(false);
              }
            })
        .thenApply(
            ok -> {
              String leader = n.status().leaderId();
              return to != null ? to : leader.equals(settings.self()) ? "" : leader;
            });
  }

  /**
   * On a graceful stop: if this member leads, hands off ({@link #transferTo} to the member with the
   * most of the log) and waits up to {@code timeout}; a failure is logged and the stop goes on.
   */
  public void handOffForShutdown(Duration timeout) {
    if (!role.serving()) {
      return;
    }
    long started = System.nanoTime();
    try {
      String next = transferTo("").get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      log.info(
          "handed off to {} in {} ms",
          next.isEmpty() ? "another member" : next,
          (System.nanoTime() - started) / 1_000_000);
    } catch (ExecutionException | TimeoutException e) {
      log.warn(
          "handoff on shutdown failed; the others elect a leader, which recovers from its replica:"
              + " {}",
          e.getCause() != null ? e.getCause().toString() : e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A policy record was applied: a member that does not serve puts it in force at once. */
  private void policyApplied(byte[] policy) {
    Policy decoded;
    try {
      decoded = PolicyText.decode(policy);
    } catch (RuntimeException e) {
      log.error("a replicated policy cannot be put in force here; the configured one stays", e);
      return;
    }
    journal.agreedPolicy(decoded);
    if (!role.serving()) {
      broker.adoptPolicy(decoded); // on the leader it is its own change, in force already
    }
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
      journal.pause(false); // a handoff of an earlier leadership of this member is over
      roleListeners.forEach(l -> l.leaderReady(term, epoch));
      if (ledTerm == term) {
        broker.renewEpoch(epoch); // the same leadership with a new epoch
        journal.resendPolicy();
      } else {
        journal.forgetUnsentPolicy();
        byte[] policy = replica.policy();
        if (policy != null) {
          try {
            broker.adoptPolicy(PolicyText.decode(policy));
          } catch (RuntimeException e) {
            log.error("the replicated policy cannot be put in force; the configured one stays", e);
          }
        }
        // K per pool from the policy it now leads with, the rule its predecessor's grants obeyed.
        Policy leading = broker.policy();
        journal.agreedPolicy(leading);
        boolean handedOff = replica.afterHandoff();
        // Its predecessor's unseen grants, and those an earlier leader's hold still keeps free (a
        // second change of leader within one TTL): a worker may hold either until then.
        Fleet.HoldBack earlier = replica.holdBack();
        long wallNow = time.wallTime().toEpochMilli();
        if (earlier != null && wallNow < earlier.untilUnixMs()) {
          log.info(
              "keeping free the slots an earlier leader's hold keeps until {}: {}",
              java.time.Instant.ofEpochMilli(earlier.untilUnixMs()),
              earlier.slots());
        }
        broker.takeOver(
            epoch,
            replica.fleet(),
            kind ->
                (handedOff ? 0 : settings.maxUncommittedGrantsFor(leading.broker().limit(kind)))
                    + (earlier == null ? 0 : earlier.slots(kind, wallNow)));
        ledTerm = term;
      }
      journal.epochInForce();
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
      ledTerm = -1;
      broker.stepDown();
      roleListeners.forEach(l -> l.following(leader));
      log.info(
          "following {}",
          leader.map(p -> p.id() + " (api " + p.apiAddress() + ")").orElse("no leader yet"));
    }

    @Override
    public void fatal(String reason, Throwable cause) {
      set(new Role(false, "", ""));
      ledTerm = -1;
      broker.stepDown();
      roleListeners.forEach(l -> l.fatal(reason, cause));
      onFatal.accept(reason);
    }
  }
}
