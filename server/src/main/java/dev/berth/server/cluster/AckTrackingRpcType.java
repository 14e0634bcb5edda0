package dev.berth.server.cluster;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;

/**
 * Ratis's gRPC transport with one addition: when this node starts leading, it tells the node's
 * {@link FollowerAcks} about each follower, so the leader lease can be measured from the very
 * acknowledgements Ratis's heartbeats collect. Ratis computes the same kind of lease for its reads,
 * but keeps it internal.
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

  /** Ratis's gRPC factory, reporting each follower of a new leadership. */
  static final class Factory extends GrpcFactory {
    private final FollowerAcks acks;

    Factory(Parameters parameters) {
      super(parameters);
      this.acks = parameters == null ? null : parameters.get(ACKS, FollowerAcks.class);
    }

    @Override
    public LogAppender newLogAppender(
        RaftServer.Division server, LeaderState state, FollowerInfo follower) {
      if (acks != null) {
        acks.add(server.getInfo().getCurrentTerm(), follower);
      }
      return super.newLogAppender(server, state, follower);
    }
  }
}
