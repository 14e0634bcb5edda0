package dev.berth.server.cluster;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.protocol.TermIndex;

/**
 * Ratis's gRPC transport with one addition: while this node leads, every follower's reply to its
 * entries and heartbeats is also reported to the node's {@link FollowerAcks}, with its result and
 * term, so the leader lease is measured from the very acknowledgements Ratis's heartbeats collect
 * but counts only those that accept the leader's term. Ratis computes a similar lease for its
 * reads, but keeps it internal and counts refusals too.
 *
 * <p>The report rides on the {@link LeaderState} each log appender is given: the appender calls
 * {@link LeaderState#onAppendEntriesReply} right after it has recorded the reply's send time in the
 * follower's record, on the same thread. That only one reply is handled at a time per follower is
 * why {@link RatisProperties} turns Ratis's separate heartbeat stream off.
 *
 * <p>Public only because Ratis instantiates its transport by class name ({@code raft.rpc.type});
 * not part of Berth's API. Stateless; thread-safe.
 */
public final class AckTrackingRpcType implements RpcType {
  /** The {@link Parameters} key under which a node passes its {@link FollowerAcks}. */
  static final String ACKS = "berth.cluster.follower-acks";

  /** For Ratis's reflection. */
  public AckTrackingRpcType() {}

  @Override
  public String name() {
    return getClass().getName();
  }

  @Override
  public RpcFactory newFactory(Parameters parameters) {
    return new Factory(parameters);
  }

  /** Ratis's gRPC factory, whose log appenders report each reply. */
  static final class Factory extends GrpcFactory {
    private final FollowerAcks acks;

    Factory(Parameters parameters) {
      super(parameters);
      this.acks = parameters == null ? null : parameters.get(ACKS, FollowerAcks.class);
    }

    @Override
    public LogAppender newLogAppender(
        RaftServer.Division server, LeaderState state, FollowerInfo follower) {
      if (acks == null) {
        return super.newLogAppender(server, state, follower);
      }
      long term = server.getInfo().getCurrentTerm();
      acks.add(term, follower.getId());
      return super.newLogAppender(server, new Reporting(state, acks, term), follower);
    }
  }

  /** A leader's state that also reports each follower's reply to a {@link FollowerAcks}. */
  static final class Reporting implements LeaderState {
    private final LeaderState leader;
    private final FollowerAcks acks;
    private final long term;

    Reporting(LeaderState leader, FollowerAcks acks, long term) {
      this.leader = leader;
      this.acks = acks;
      this.term = term;
    }

    @Override
    public void onAppendEntriesReply(LogAppender appender, AppendEntriesReplyProto reply) {
      FollowerInfo follower = appender.getFollower();
      long sent =
          System.nanoTime()
              - follower
                  .getLastRespondedAppendEntriesSendTime()
                  .elapsedTime()
                  .toLong(TimeUnit.NANOSECONDS);
      acks.replied(
          term,
          follower.getId(),
          reply.getResult() == AppendEntriesReplyProto.AppendResult.NOT_LEADER,
          reply.getTerm(),
          sent);
      leader.onAppendEntriesReply(appender, reply);
    }

    @Override
    public boolean onFollowerTerm(FollowerInfo follower, long followerTerm) {
      acks.followerTerm(term, followerTerm);
      return leader.onFollowerTerm(follower, followerTerm);
    }

    @Override
    public void restart(LogAppender appender) {
      leader.restart(appender);
    }

    @Override
    public AppendEntriesRequestProto newAppendEntriesRequestProto(
        FollowerInfo follower, List<LogEntryProto> entries, TermIndex previous, long callId) {
      return leader.newAppendEntriesRequestProto(follower, entries, previous, callId);
    }

    @Override
    public void checkHealth(FollowerInfo follower) {
      leader.checkHealth(follower);
    }

    @Override
    public void onFollowerCommitIndex(FollowerInfo follower, long commitIndex) {
      leader.onFollowerCommitIndex(follower, commitIndex);
    }

    @Override
    public void onFollowerSuccessAppendEntries(FollowerInfo follower) {
      leader.onFollowerSuccessAppendEntries(follower);
    }

    @Override
    public boolean isFollowerBootstrapping(FollowerInfo follower) {
      return leader.isFollowerBootstrapping(follower);
    }
  }
}
