package dev.berth.server.grpc;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.server.replication.ServingRole;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Set;

/**
 * Lets worker calls ({@code berth.v1.LeaseBroker}) and admin changes through only on the node that
 * serves (the ready leader, or a lone broker); elsewhere answers them UNAVAILABLE with a {@code
 * google.rpc.ErrorInfo} of reason {@value #REASON} whose metadata {@value #LEADER_KEY} names the
 * leader's API address (empty while none is known). Admin reads but the explanations and the wait
 * queue pass everywhere.
 *
 * <p>Thread-safe; one volatile read per call.
 */
final class LeaderGate implements ServerInterceptor {
  /** {@code ErrorInfo.reason} of a call made to a node that does not lead. */
  static final String REASON = "NOT_LEADER";

  /** {@code ErrorInfo.domain} of Berth's own error reasons. */
  static final String DOMAIN = "berth.dev";

  /** The {@code ErrorInfo.metadata} key of the leader's API address. */
  static final String LEADER_KEY = "leader";

  /**
   * Admin calls only the leader can answer: those that change state, the explanations, which run
   * the admission checks on the live sessions only the leader's broker holds (a follower's would
   * answer NOT_FOUND for every session), and the wait queue, which only the leader has.
   */
  private static final Set<String> ADMIN_CHANGES =
      Set.of(
          BrokerAdminGrpc.getRevokeLeaseMethod().getFullMethodName(),
          BrokerAdminGrpc.getDrainSessionMethod().getFullMethodName(),
          BrokerAdminGrpc.getDrainBrokerMethod().getFullMethodName(),
          BrokerAdminGrpc.getUpdateLimitsMethod().getFullMethodName(),
          BrokerAdminGrpc.getTransferLeadershipMethod().getFullMethodName(),
          BrokerAdminGrpc.getExplainMethod().getFullMethodName(),
          BrokerAdminGrpc.getExplainBundleMethod().getFullMethodName(),
          BrokerAdminGrpc.getListWaitingMethod().getFullMethodName());

  private final ServingRole role;

  LeaderGate(ServingRole role) {
    this.role = role;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    if (!leaderOnly(call.getMethodDescriptor().getFullMethodName())) {
      return next.startCall(call, headers);
    }
    if (!role.serving()) {
      StatusRuntimeException refusal = notLeader(role.leaderApi());
      call.close(refusal.getStatus(), refusal.getTrailers());
      return new ServerCall.Listener<>() {};
    }
    // A lone broker never stops serving: its calls go on unwrapped.
    return role == ServingRole.STANDALONE
        ? next.startCall(call, headers)
        : next.startCall(new StoppedLeading<>(call, role), headers);
  }

  /**
   * A call let through while this node served, which fails after it stopped: answered NOT_LEADER
   * instead of its own error. When a leader steps down its broker ends every session, so a call
   * that reaches the broker just after (a release in flight during a handoff) would otherwise be
   * told NOT_FOUND "session ended", and a client would drop a session and leases the new leader
   * still holds; NOT_LEADER sends it to the new leader, where it resumes them.
   */
  private static final class StoppedLeading<Q, A>
      extends io.grpc.ForwardingServerCall.SimpleForwardingServerCall<Q, A> {
    private final ServingRole role;

    StoppedLeading(ServerCall<Q, A> call, ServingRole role) {
      super(call);
      this.role = role;
    }

    @Override
    public void close(io.grpc.Status status, Metadata trailers) {
      if (!status.isOk() && !role.serving()) {
        StatusRuntimeException moved = notLeader(role.leaderApi());
        super.close(moved.getStatus(), moved.getTrailers());
        return;
      }
      super.close(status, trailers);
    }
  }

  static boolean leaderOnly(String fullMethodName) {
    return fullMethodName.startsWith(LeaseBrokerGrpc.SERVICE_NAME + "/")
        || ADMIN_CHANGES.contains(fullMethodName);
  }

  /** UNAVAILABLE with the NOT_LEADER ErrorInfo naming {@code leaderApi} (empty: none known). */
  static StatusRuntimeException notLeader(String leaderApi) {
    String message =
        leaderApi.isEmpty()
            ? "this broker does not lead its cluster and no leader is known yet; retry shortly"
            : "this broker does not lead its cluster; the leader is at " + leaderApi;
    return StatusProto.toStatusRuntimeException(
        com.google.rpc.Status.newBuilder()
            .setCode(Code.UNAVAILABLE_VALUE)
            .setMessage(message)
            .addDetails(
                Any.pack(
                    ErrorInfo.newBuilder()
                        .setReason(REASON)
                        .setDomain(DOMAIN)
                        .putMetadata(LEADER_KEY, leaderApi)
                        .build()))
            .build());
  }
}
