package dev.berth.server.cluster;

import dev.berth.proto.cluster.v1.EpochRecord;
import dev.berth.proto.cluster.v1.FleetState;
import dev.berth.proto.cluster.v1.FloorRecord;
import dev.berth.proto.cluster.v1.HandoffRecord;
import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.proto.cluster.v1.MemberAddresses;
import dev.berth.proto.cluster.v1.PolicyRecord;
import dev.berth.server.cluster.Leadership.Phase;
import dev.berth.server.cluster.ReplicationException.Reason;
import dev.berth.server.state.StateException;
import dev.berth.server.time.TimeSource;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SnapshotManagementRequest;
import org.apache.ratis.protocol.TransferLeadershipRequest;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.ExitUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's member of the cluster's Raft group (Apache Ratis): it runs the Raft server on the
 * node's Raft port with its log and snapshots in {@code <state-dir>/raft}, applies the replicated
 * records to a {@link ReplicaSink}, tells a {@link RoleListener} when the node leads or follows,
 * and, while it leads, writes the node's records and decides whether it may grant ({@link
 * #canGrant}).
 *
 * <p>A new leader first commits an epoch record and is ready once it is applied, after every record
 * of earlier terms; it grants from then on, but not before the new-leader wait has passed since it
 * won (unless the log ends with its predecessor's handoff), and only while its leader lease holds.
 * The rules and why they keep two leaders from granting at once are in docs/cluster.md.
 *
 * <p>Thread-safe. {@link #canGrant} and {@link #journal} take no lock and are meant for the
 * broker's hot path.
 */
public final class RaftNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

  /** Netty's cap on direct memory, under the name Ratis's shaded copy of Netty reads. */
  static final String DIRECT_MEMORY_PROPERTY =
      "org.apache.ratis.thirdparty.io.netty.maxDirectMemory";

  /** Journal batches in flight at once (Ratis's own bound on pending writes is 1024). */
  private static final int JOURNAL_IN_FLIGHT = 32;

  private final ClusterSettings settings;
  private final TimeSource time;
  private final RoleListener listener;
  private final long localFloor;
  private final RaftGroup group;
  private final RaftPeerId selfId;
  private final FollowerAcks acks = new FollowerAcks();
  private final ClusterStateMachine stateMachine;
  private final RaftServer server;
  private final RaftServer.Division division;
  private final ExecutorService events;
  private final ClientId adminClientId = ClientId.randomId();
  private final AtomicLong adminCallIds = new AtomicLong();
  private final Batcher noJournal;
  private final AtomicBoolean closing = new AtomicBoolean();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final AtomicBoolean floorSent = new AtomicBoolean();

  /** Ends this node's registration with {@link ForeignGroups}. */
  private volatile Runnable unregisterGroup = () -> {};

  private volatile Leadership leadership;

  /** Told each journal batch's size: see {@link #observeJournalBatches}. */
  private volatile IntConsumer batchSizes = entries -> {};

  /** What {@link #checkPeers} found last (events thread only). */
  private List<String> peerDifferences = List.of();

  /** The last leader announced to the listener (events thread only). */
  private Optional<Peer> announced;

  private RaftNode(
      ClusterSettings settings,
      Path stateDir,
      long localFloor,
      ReplicaSink sink,
      RoleListener listener,
      TimeSource time,
      Consumer<RaftProperties> tuning)
      throws IOException {
    this.settings = settings;
    this.time = time;
    this.listener = listener;
    this.localFloor = localFloor;
    this.noJournal = Batcher.closed(time);
    this.leadership = Leadership.none(noJournal);
    this.group = RaftGroups.group(settings);
    this.selfId = RaftPeerId.valueOf(settings.self());
    Path raftDir = stateDir.resolve("raft");
    RaftGroups.checkStorage(raftDir, group.getGroupId(), settings.id(), settings.self());
    this.events =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "berth-cluster-events-" + settings.self());
              t.setDaemon(true);
              return t;
            });
    this.stateMachine = new ClusterStateMachine(sink, new StateMachineEvents());
    Parameters parameters = new Parameters();
    parameters.put(AckTrackingRpcType.ACKS, acks, FollowerAcks.class);
    RaftProperties properties = RatisProperties.server(settings, raftDir);
    tuning.accept(properties);
    try {
      this.server =
          RaftServer.newBuilder()
              .setServerId(selfId)
              .setGroup(group)
              .setStateMachine(stateMachine)
              .setProperties(properties)
              .setParameters(parameters)
              .setOption(RaftStorage.StartupOption.RECOVER)
              .build();
      this.division = server.getDivision(group.getGroupId());
    } catch (IOException | RuntimeException e) {
      events.shutdown();
      throw e;
    }
  }

  /**
   * Starts this node's Raft server and joins the cluster.
   *
   * @param stateDir the node's state directory; Raft keeps its log and snapshots in {@code raft/}
   * @param localFloor the node's single-node epoch from that directory: every cluster epoch this
   *     node starts, and every epoch applied after its floor record, is above it
   * @throws StateException when {@code raft/} belongs to another cluster or cannot be used
   * @throws IOException when the Raft server cannot start: its port cannot be bound (the message
   *     names {@code cluster.peers.<self>.raft} and the address), its log is corrupt. Ratis never
   *     ends the JVM for a port it cannot bind (see {@link RaftPort}).
   */
  public static RaftNode start(
      ClusterSettings settings,
      Path stateDir,
      long localFloor,
      ReplicaSink sink,
      RoleListener listener,
      TimeSource time)
      throws IOException {
    return start(settings, stateDir, localFloor, sink, listener, time, p -> {});
  }

  /** {@link #start}, with Ratis properties changed by {@code tuning}: for tests only. */
  static RaftNode start(
      ClusterSettings settings,
      Path stateDir,
      long localFloor,
      ReplicaSink sink,
      RoleListener listener,
      TimeSource time,
      Consumer<RaftProperties> tuning)
      throws IOException {
    // Bound the direct memory of Ratis's Netty before Netty first reads it; an operator's -D wins.
    if (System.getProperty(DIRECT_MEMORY_PROPERTY) == null) {
      System.setProperty(DIRECT_MEMORY_PROPERTY, Long.toString(settings.directMemoryBytes()));
    }
    RaftPort.keepRatisFromExiting(); // before Ratis first tries its port
    RaftNode node = new RaftNode(settings, stateDir, localFloor, sink, listener, time, tuning);
    // Before Ratis talks to anyone: a member of another cluster.id gets one line, not a flood.
    ForeignGroupFilter.install();
    node.unregisterGroup = ForeignGroups.INSTANCE.register(settings, node.group.getGroupId());
    try {
      RaftPort.checkFree(settings);
      node.server.start();
    } catch (ExitUtils.ExitException e) {
      // Ratis's gRPC server could not bind after all (the port was taken since the check).
      node.close();
      throw RaftPort.notStarted(settings, e);
    } catch (IOException | RuntimeException e) {
      node.close();
      throw e;
    }
    log.info(
        "cluster {}: node {} started, Raft on {}, members {}",
        settings.id(),
        settings.self(),
        settings.selfPeer().raftAddress(),
        settings.peers().keySet());
    return node;
  }

  /**
   * Whether this node may grant at {@code nowNanos} (the monotonic clock of {@link
   * System#nanoTime()}): it leads, its epoch is applied, the new-leader wait has passed, its
   * journal works, and a majority acknowledged a message it sent within the leader lease.
   */
  public boolean canGrant(long nowNanos) {
    Leadership l = leadership;
    if (!l.allowsGrants(nowNanos) || !l.journal().healthy()) {
      return false;
    }
    // Acknowledgements first, role last: a reply that deposes this leader is counted only if
    // the step-down it causes has not happened yet when the role is read.
    long[] sent = acks.ackSentNanos(l.term());
    if (!LeaderLease.holds(nowNanos, sent, settings.peers().size(), leaseNanos())) {
      return false;
    }
    DivisionInfo info = division.getInfo();
    return info.isLeader() && info.getCurrentTerm() == l.term();
  }

  /**
   * The journal of the current leadership; while the node does not lead (or is not ready), a closed
   * one that drops entries and allows no grant.
   */
  public Batcher journal() {
    return leadership.journal();
  }

  /** The fencing epoch of this node's leadership; 0 when it does not lead. */
  public long leaderEpoch() {
    Leadership l = leadership;
    return l.phase() == Phase.READY ? l.epoch() : 0;
  }

  /**
   * Whether this node leads in a phase whose policy changes go to the log: ready, or waiting for
   * the next epoch of the same leadership (a re-epoch keeps serving workers and operators, so a
   * change made meanwhile must reach the replicas like any other). Not while it hands off, is
   * elected but not ready, or does not lead: the {@linkplain #handOff handoff record} carries the
   * policy then, or the replica's policy replaces this member's when it becomes ready.
   */
  public boolean replicatesPolicy() {
    return replicatesPolicy(leadership);
  }

  /** Where this node's leadership stands (tests). */
  Phase phase() {
    return leadership.phase();
  }

  /** Whether this node is handing its leadership off or transferring it, and grants nothing. */
  public boolean transferring() {
    return leadership.phase() == Phase.TRANSFERRING;
  }

  private static boolean replicatesPolicy(Leadership l) {
    return l.phase() == Phase.READY || l.phase() == Phase.REEPOCHING;
  }

  /**
   * Replicates a live policy change. Entries journaled before it are sent first, so the log keeps
   * the order in which the leader made them.
   *
   * @return the log index of the policy record, once committed
   */
  public CompletableFuture<Long> replicatePolicy(byte[] policy) {
    Leadership l = leadership;
    if (!replicatesPolicy(l)) {
      return LogWriters.notLeader();
    }
    // For the order only: the entries are appended first; their failure fails the journal itself.
    var unused = l.journal().drain();
    return append(
        LogRecord.newBuilder()
            .setPolicy(
                PolicyRecord.newBuilder()
                    .setPolicy(com.google.protobuf.ByteString.copyFrom(policy)))
            .build());
  }

  /**
   * Starts a new fencing epoch in this leadership (before the counter of the current one runs out).
   * Grants stop until its record is applied; {@link RoleListener#leaderReady} announces it.
   */
  public CompletableFuture<Long> advanceEpoch() {
    Leadership l = pause(Phase.REEPOCHING);
    if (l == null) {
      return LogWriters.notLeader();
    }
    return proposeEpoch(l);
  }

  /**
   * {@link #advanceEpoch} on this node's own executor: for callers holding the broker's lock, which
   * must not wait while the record is sent.
   */
  public void advanceEpochSoon() {
    runOffRaft(
        () -> {
          var unused = advanceEpoch(); // steps down by itself when it fails
        });
  }

  /**
   * How long a member may go without answering this leader before a transfer to it is refused up
   * front ({@link #checkAnswering}): twice {@code cluster.election_timeout_max}. A leader sends at
   * least a heartbeat every half minimum election timeout, and a live follower answers each one, so
   * its latest answer is normally a fraction of an election timeout old; going without for two
   * whole maximum timeouts means many rounds missed in a row, longer than any follower would wait
   * for its leader before it started an election itself. The bound also stays below the transfer's
   * own time limit (three maximum election timeouts), so the refusal comes first and says why,
   * instead of a timeout that says nothing about the target.
   */
  public Duration silenceBound() {
    return settings.electionTimeoutMax().multipliedBy(2);
  }

  /**
   * While this node leads: how long {@code member} has not answered it, that is, the time since it
   * sent the latest message the member accepted in this leadership, or since this node was elected
   * when the member has not answered at all yet. Empty when this node does not lead or {@code
   * member} is this node or no member.
   */
  public Optional<Duration> unansweredFor(String member) {
    Leadership l = leadership;
    if (l.term() < 0
        || member.equals(settings.self())
        || !settings.peers().containsKey(member)
        || !division.getInfo().isLeader()) {
      return Optional.empty();
    }
    long sent = acks.ackSentNanos(l.term(), RaftPeerId.valueOf(member));
    long since = sent != 0 && sent - l.electedAtNanos() > 0 ? sent : l.electedAtNanos();
    return Optional.of(Duration.ofNanos(Math.max(0, time.nanoTime() - since)));
  }

  /**
   * Refuses a transfer to {@code member} before anything changes when it has not answered this
   * leader for longer than {@link #silenceBound()}: a stopped member could not take over, and Ratis
   * would only give up after its time limit, with grants paused meanwhile.
   *
   * @throws MemberSilentException naming the member and how long it has been silent
   */
  public void checkAnswering(String member) {
    Optional<Duration> silent = unansweredFor(member);
    if (silent.isPresent() && silent.get().compareTo(silenceBound()) > 0) {
      throw new MemberSilentException(member, settings.self(), silent.get(), silenceBound());
    }
  }

  /**
   * Hands the whole lease state to a successor and transfers leadership to it: grants stop now, the
   * journal is drained, the {@code state} is committed as a handoff record, then leadership moves.
   * The successor needs no new-leader wait. If anything fails, this node stays leader and grants
   * again once a new epoch is applied.
   *
   * <p>The caller {@linkplain Batcher#hold holds} the {@linkplain #journal journal} before it reads
   * the {@code state}: the entries added since (releases and session ends go on during a handoff)
   * are committed after the handoff record, before leadership moves, so they apply on top of the
   * state instead of being replaced by it. The hold ends here, whatever the outcome.
   *
   * @param to the successor's id, or null for the member with the most of the log
   */
  public CompletableFuture<Void> handOff(FleetState state, String to) {
    Leadership l = pause(Phase.TRANSFERRING);
    if (l == null) {
      journal().release();
      return LogWriters.notLeader();
    }
    LogRecord handoff =
        LogRecord.newBuilder()
            .setHandoff(HandoffRecord.newBuilder().setFrom(settings.self()).setState(state))
            .build();
    Batcher journal = l.journal();
    return resumeOnFailure(
        l,
        journal
            .drain()
            // Not on the Ratis thread that completed the drain: an append waits for Ratis's
            // client executor to put the record in the log.
            .thenComposeAsync(drained -> l.writer().append(handoff), events)
            .thenCompose(
                index -> {
                  journal.release();
                  return journal.drain();
                })
            .thenComposeAsync(drained -> transfer(to), events)
            .whenComplete((ok, error) -> journal.release()));
  }

  /**
   * Transfers leadership to {@code to} (null: the member with the most of the log) without a
   * handoff: grants stop now and the journal is drained first; the successor waits out the
   * new-leader wait as after a crash. If the transfer fails, this node grants again once a new
   * epoch is applied.
   */
  public CompletableFuture<Void> transferLeadership(String to) {
    if (to != null) {
      try {
        checkAnswering(to);
      } catch (MemberSilentException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    Leadership l = pause(Phase.TRANSFERRING);
    if (l == null) {
      return LogWriters.notLeader();
    }
    return resumeOnFailure(l, l.journal().drain().thenCompose(drained -> transfer(to)));
  }

  /** Takes a snapshot now (also taken every {@code snapshotEvery} entries by itself). */
  public CompletableFuture<Long> takeSnapshot() {
    long timeoutMs = 30_000;
    SnapshotManagementRequest request =
        SnapshotManagementRequest.newCreate(
            adminClientId, selfId, group.getGroupId(), adminCallIds.incrementAndGet(), timeoutMs);
    return LogWriters.call(() -> server.snapshotManagementAsync(request))
        .thenApply(RaftClientReply::getLogIndex);
  }

  /** This node's view of the cluster. */
  public ClusterStatus status() {
    DivisionInfo info = division.getInfo();
    ClusterRole role =
        !info.isAlive() || stopped.get()
            ? ClusterRole.STOPPED
            : switch (info.getCurrentRole()) {
              case LEADER -> ClusterRole.LEADER;
              case CANDIDATE -> ClusterRole.CANDIDATE;
              default -> ClusterRole.FOLLOWER;
            };
    RaftPeerId leaderId = info.getLeaderId();
    Peer leader = leaderId == null ? null : settings.peers().get(leaderId.toString());
    long commit = division.getRaftLog().getLastCommittedIndex();
    long applied = info.getLastAppliedIndex();
    Map<String, Long> commits = new HashMap<>();
    for (CommitInfoProto c : division.getCommitInfos()) {
      commits.put(c.getServer().getId().toStringUtf8(), c.getCommitIndex());
    }
    boolean leads = role == ClusterRole.LEADER;
    List<ClusterStatus.Member> members = new ArrayList<>();
    for (Peer p : settings.peers().values()) {
      long theirs = p.id().equals(settings.self()) ? commit : commits.getOrDefault(p.id(), -1L);
      long lag =
          p.id().equals(settings.self())
              ? Math.max(0, commit - applied)
              : leads && theirs >= 0 ? Math.max(0, commit - theirs) : -1;
      members.add(
          new ClusterStatus.Member(
              p.id(), p.apiAddress(), theirs, lag, p.dashboard(), unansweredFor(p.id())));
    }
    return new ClusterStatus(
        settings.self(),
        role,
        info.getCurrentTerm(),
        leader == null ? "" : leader.id(),
        leader == null ? "" : leader.apiAddress(),
        stateMachine.epoch(),
        canGrant(time.nanoTime()),
        commit,
        applied,
        leads ? uncommitted(journal().stats()) : 0,
        members);
  }

  private static long uncommitted(Batcher.Stats s) {
    return s.buffered() + Math.max(0, s.entriesSent() - s.entriesCommitted());
  }

  /** Leaves the cluster: stops the journal, the client and the Raft server. Idempotent. */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    endLeadership();
    try {
      server.close();
    } catch (IOException | RuntimeException e) {
      log.warn("closing the Raft server failed", e);
    }
    unregisterGroup.run();
    events.shutdown();
  }

  // ---- writes -------------------------------------------------------------------------------

  /** Appends {@code record} in the current leadership; fails fast when the node does not lead. */
  CompletableFuture<Long> append(LogRecord record) {
    OwnLogWriter writer = leadership.writer();
    return writer == null ? LogWriters.notLeader() : writer.append(record);
  }

  private CompletableFuture<Long> proposeEpoch(Leadership l) {
    long term = l.term();
    LogRecord record =
        LogRecord.newBuilder()
            .setEpoch(
                EpochRecord.newBuilder()
                    .setLeader(settings.self())
                    .addAllPeers(PeerCheck.addresses(settings))
                    .setProposerFloor(Math.max(0, localFloor)))
            .build();
    CompletableFuture<Long> written = l.writer().append(record);
    // The caller gets `written`; this callback only steps down on failure.
    var unused =
        written.whenComplete(
            (index, error) -> {
              if (error != null) {
                log.warn(
                    "epoch record of term {} failed; stepping down: {}", term, error.toString());
                stepDown(term);
              }
            });
    return written;
  }

  private CompletableFuture<Void> transfer(String to) {
    String target = to != null ? to : successor();
    if (target == null) {
      return CompletableFuture.failedFuture(
          new ReplicationException(Reason.UNAVAILABLE, "no member to hand leadership to", null));
    }
    if (!settings.peers().containsKey(target) || target.equals(settings.self())) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException(
              "cannot transfer leadership to '" + target + "': not another member"));
    }
    log.info("transferring leadership to {}", target);
    TransferLeadershipRequest request = transferRequest(RaftPeerId.valueOf(target));
    return LogWriters.call(() -> server.transferLeadershipAsync(request))
        .handle(
            (reply, error) -> {
              if (error != null) {
                throw notTakenOver(target, request.getTimeoutMs(), error);
              }
              return null;
            });
  }

  /**
   * Why Ratis did not move leadership to {@code target}, in terms of the target: Ratis's own
   * failure (a timeout, mostly) says nothing about a majority, which the generic mapping of {@link
   * LogWriters#failure} would claim. NOT_LEADER and CLOSED keep their reason.
   */
  private ReplicationException notTakenOver(String target, long timeoutMs, Throwable error) {
    ReplicationException failure = LogWriters.failure(error);
    if (failure.reason() != Reason.UNAVAILABLE) {
      return failure;
    }
    Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
    long behind = -1;
    for (CommitInfoProto c : division.getCommitInfos()) {
      if (c.getServer().getId().toStringUtf8().equals(target)) {
        behind = Math.max(0, division.getRaftLog().getLastCommittedIndex() - c.getCommitIndex());
      }
    }
    String silent =
        unansweredFor(target)
            .map(d -> ", last answered " + MemberSilentException.seconds(d) + " ago")
            .orElse("");
    log.warn("leadership did not move to {}: {}", target, cause.toString());
    return new ReplicationException(
        Reason.UNAVAILABLE,
        "member "
            + target
            + " did not take over within "
            + MemberSilentException.seconds(Duration.ofMillis(timeoutMs))
            + " ("
            + (behind >= 0 ? behind + " entries behind the leader" : "how far behind unknown")
            + silent
            + "); this member leads on",
        cause);
  }

  /**
   * The other member whose log reaches furthest, as far as this leader knows, among those that have
   * answered it within {@link #silenceBound()}; among all others when none has.
   */
  private String successor() {
    String best = null;
    long bestIndex = Long.MIN_VALUE;
    boolean bestAnswers = false;
    for (CommitInfoProto c : division.getCommitInfos()) {
      String id = c.getServer().getId().toStringUtf8();
      if (id.equals(settings.self()) || !settings.peers().containsKey(id)) {
        continue;
      }
      boolean answers = unansweredFor(id).map(d -> d.compareTo(silenceBound()) <= 0).orElse(false);
      if ((answers && !bestAnswers) || (answers == bestAnswers && c.getCommitIndex() > bestIndex)) {
        best = id;
        bestIndex = c.getCommitIndex();
        bestAnswers = answers;
      }
    }
    return best;
  }

  private void stepDown(long term) {
    Leadership l = leadership;
    if (l.term() != term || closing.get()) {
      return;
    }
    synchronized (this) {
      if (leadership.term() == term) {
        leadership = leadership.with(Phase.FAILED);
      }
    }
    // Best effort: a failure is logged here, and the journal stays stopped either way.
    var unused =
        LogWriters.call(() -> server.transferLeadershipAsync(transferRequest(null)))
            .whenComplete(
                (reply, error) -> {
                  if (error != null) {
                    log.warn("stepping down failed: {}", error.toString());
                  }
                });
  }

  private TransferLeadershipRequest transferRequest(RaftPeerId to) {
    long timeoutMs = settings.electionTimeoutMax().multipliedBy(3).toMillis();
    return new TransferLeadershipRequest(
        adminClientId, selfId, group.getGroupId(), adminCallIds.incrementAndGet(), to, timeoutMs);
  }

  /** Stops grants for {@code next}; null when the node is not a ready leader. */
  private synchronized Leadership pause(Phase next) {
    Leadership l = leadership;
    if (l.phase() != Phase.READY) {
      return null;
    }
    leadership = l.with(next);
    return l;
  }

  private CompletableFuture<Void> resumeOnFailure(Leadership l, CompletableFuture<Void> step) {
    return step.whenComplete(
        (ok, error) -> {
          if (error == null) {
            return;
          }
          log.warn("handing off leadership failed: {}", error.toString());
          boolean resume;
          synchronized (this) {
            resume = leadership.term() == l.term() && leadership.phase() == Phase.TRANSFERRING;
            if (resume) {
              leadership = leadership.with(Phase.REEPOCHING);
            }
          }
          if (resume) {
            var unused = proposeEpoch(l); // steps down by itself when it fails
          }
        });
  }

  // ---- what Raft tells us -------------------------------------------------------------------

  private final class StateMachineEvents implements ClusterStateMachine.Events {
    @Override
    public void leaderChanged(RaftPeerId leader) {
      runOffRaft(RaftNode.this::checkPeers);
      if (leader.equals(selfId)) {
        long term = division.getInfo().getCurrentTerm();
        synchronized (RaftNode.this) {
          endLeadership();
          leadership =
              new Leadership(
                  term,
                  Phase.ELECTED,
                  time.nanoTime(),
                  0,
                  0,
                  noJournal,
                  new OwnLogWriter(
                      server,
                      selfId,
                      group.getGroupId(),
                      settings.requestTimeout().multipliedBy(settings.appendAttempts())));
        }
        log.info("elected leader of term {}", term);
        notifyListener(
            () -> {
              // Leading ends whatever was announced: the next leader (this node losing it
              // included, which Ratis reports as "no leader known") must be announced even when
              // it equals the one before this term, or the member would go on serving.
              announced = null;
              listener.elected(term);
            });
      } else {
        endLeadership();
        follow(Optional.ofNullable(settings.peers().get(leader.toString())));
      }
    }

    @Override
    public void leaderReady() {
      Leadership l = leadership;
      if (l.phase() == Phase.ELECTED && l.term() == division.getInfo().getCurrentTerm()) {
        // Off Ratis's thread: sending may wait for the client's outstanding-request bound.
        runOffRaft(
            () -> {
              var unused = proposeEpoch(l); // steps down by itself when it fails
            });
      }
    }

    @Override
    public void notLeader() {
      if (leadership.phase() != Phase.NONE) {
        endLeadership();
        RaftPeerId leader = division.getInfo().getLeaderId();
        Peer peer =
            leader == null || leader.equals(selfId)
                ? null
                : settings.peers().get(leader.toString());
        follow(Optional.ofNullable(peer));
      }
    }

    @Override
    public void configurationChanged() {
      runOffRaft(RaftNode.this::checkPeers);
    }

    @Override
    public void epochApplied(
        long term,
        String proposer,
        List<MemberAddresses> proposerPeers,
        long epoch,
        boolean afterHandoff) {
      // Only the current term's record: an older one, replayed at start, may show a peer list
      // fixed since.
      List<String> differences =
          term == division.getInfo().getCurrentTerm()
              ? PeerCheck.leaderDifferences(settings, proposer, proposerPeers)
              : List.of();
      if (!differences.isEmpty()) {
        log.error(
            "cluster {}: this member's cluster.peers differ from those of the leader {}: {}. Each"
                + " member sends workers (NOT_LEADER) and operators (berth cluster status) to the"
                + " leader's api address in its own cluster.peers. Give every member the same"
                + " cluster.peers",
            settings.id(),
            proposer,
            String.join("; ", differences));
      }
      if (!proposer.equals(settings.self())) {
        return;
      }
      Leadership ready;
      synchronized (RaftNode.this) {
        Leadership l = leadership;
        if (l.term() != term || (l.phase() != Phase.ELECTED && l.phase() != Phase.REEPOCHING)) {
          return;
        }
        long now = time.nanoTime();
        long grantsFrom;
        if (l.phase() == Phase.REEPOCHING) {
          grantsFrom = l.grantsFromNanos(); // the same leadership: its wait is already over
        } else if (afterHandoff) {
          grantsFrom = now;
        } else {
          grantsFrom = l.electedAtNanos() + settings.newLeaderWait().toNanos();
        }
        Batcher journal = l.journal() != noJournal ? l.journal() : newJournal(l);
        ready = l.ready(epoch, grantsFrom, journal);
        leadership = ready;
      }
      log.info(
          "leader of term {} ready with epoch {}{}",
          term,
          epoch,
          afterHandoff ? " (handed off: no wait)" : "");
      notifyListener(() -> listener.leaderReady(term, epoch));
    }

    @Override
    public void floorApplied(long floor, long epoch) {
      if (floor >= epoch && leadership.phase() == Phase.READY) {
        log.info("a member's floor {} reaches epoch {}: starting a new epoch", floor, epoch);
        runOffRaft(
            () -> {
              var unused = advanceEpoch(); // steps down by itself when it fails
            });
      }
    }

    @Override
    public void stopped(String reason, Throwable cause) {
      if (closing.get() || !stopped.compareAndSet(false, true)) {
        return;
      }
      endLeadership();
      String why =
          reason
              + " without being asked: after a JVM pause longer than cluster.raft.pause_fatal_after"
              + " ("
              + settings.pauseFatalAfter().toSeconds()
              + "s), a failed log write or a record the replica could not apply (see the log"
              + " above); this node serves nothing more";
      log.error("FATAL: cluster node {}: {}", settings.self(), why, cause);
      notifyListener(() -> listener.fatal(why, cause));
    }
  }

  /**
   * Compares this member's {@code cluster.peers} with Ratis's current configuration and logs an
   * ERROR naming each difference, once per different set of differences (events thread only).
   */
  private void checkPeers() {
    Map<String, String> raft = new LinkedHashMap<>();
    for (RaftPeer p : division.getRaftConf().getCurrentPeers(RaftPeerRole.FOLLOWER)) {
      raft.put(p.getId().toString(), p.getAddress());
    }
    List<String> differences = PeerCheck.raftDifferences(settings, raft);
    if (differences.equals(peerDifferences)) {
      return;
    }
    peerDifferences = differences;
    if (differences.isEmpty()) {
      log.info(
          "cluster {}: this member's cluster.peers agree with the cluster's again", settings.id());
      return;
    }
    log.error(
        "cluster {}: this member's cluster.peers differ from the Raft configuration the cluster"
            + " runs with (written by its first leader; Raft connects to those addresses): {}."
            + " Give every member the same cluster.peers",
        settings.id(),
        String.join("; ", differences));
  }

  private Batcher newJournal(Leadership l) {
    long term = l.term();
    OwnLogWriter writer = l.writer();
    return new Batcher(
        time,
        batch -> writer.append(LogRecord.newBuilder().setJournal(batch).build()),
        settings.flushInterval(),
        settings.batchRecords(),
        settings.maxRecordBytes(),
        JOURNAL_IN_FLIGHT,
        error -> {
          log.error("journal of term {} failed; stepping down: {}", term, error.toString());
          stepDown(term);
        },
        entries -> batchSizes.accept(entries));
  }

  /**
   * Tells {@code observer} the number of entries of every journal batch this node sends while it
   * leads (from now on), on the thread that sent it; for the batch-size histogram. Replaces any
   * observer set before.
   */
  public void observeJournalBatches(IntConsumer observer) {
    batchSizes = observer;
  }

  private synchronized void endLeadership() {
    Leadership l = leadership;
    if (l.phase() == Phase.NONE) {
      return;
    }
    l.journal().close();
    leadership = Leadership.none(noJournal);
    OwnLogWriter writer = l.writer();
    if (writer != null) {
      writer.close();
    }
  }

  private void follow(Optional<Peer> leader) {
    notifyListener(
        () -> {
          if (!leader.equals(announced)) {
            announced = leader;
            listener.following(leader);
          }
        });
    if (leader.isPresent()) {
      sendFloor();
    }
  }

  /**
   * Once per start, a follower whose single-node epoch may lie above the cluster's records it as a
   * floor, through whichever member leads (the client follows the leader hint, a bounded number of
   * times).
   */
  private void sendFloor() {
    if (localFloor <= stateMachine.epoch() || !floorSent.compareAndSet(false, true)) {
      return;
    }
    RaftClient forwarding = LogWriters.forwarding(group, settings);
    LogRecord floor =
        LogRecord.newBuilder()
            .setFloor(FloorRecord.newBuilder().setNode(settings.self()).setFloor(localFloor))
            .build();
    // Handled in the callback: a failed floor is sent again at the next leader change.
    var unused =
        LogWriters.append(forwarding, floor)
            .whenComplete(
                (index, error) -> {
                  if (error != null) {
                    floorSent.set(false); // the next leader change tries again
                    log.warn("recording this node's epoch floor {} failed", localFloor);
                  } else {
                    log.info("recorded this node's epoch floor {}", localFloor);
                  }
                  LogWriters.closeQuietly(forwarding);
                });
  }

  private void runOffRaft(Runnable task) {
    try {
      events.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      log.debug("node closed; a task was dropped");
    }
  }

  private void notifyListener(Runnable call) {
    try {
      events.execute(
          () -> {
            try {
              call.run();
            } catch (RuntimeException e) {
              log.error("a cluster role listener failed", e);
            }
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      log.debug("node closed; a role notification was dropped");
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private long leaseNanos() {
    return settings.leaderLease().toNanos();
  }
}
