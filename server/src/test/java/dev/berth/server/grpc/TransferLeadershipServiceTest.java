package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.rpc.ErrorInfo;
import dev.berth.proto.v1.TransferLeadershipRequest;
import dev.berth.proto.v1.TransferLeadershipResponse;
import dev.berth.server.cluster.ClusterRole;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.cluster.MemberSilentException;
import dev.berth.server.cluster.ReplicationException;
import dev.berth.server.config.Policy;
import dev.berth.server.replication.ServingRole;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code TransferLeadership} over the in-process transport: the leader hands its role to the member
 * asked for (or the best successor) and names it with its API address; a follower answers
 * NOT_LEADER like every other change; a lone broker answers FAILED_PRECONDITION; a member id that
 * is not another member is refused naming {@code to}, and nothing is transferred.
 */
class TransferLeadershipServiceTest {
  private static final String N1_API = "127.0.0.1:7434";
  private static final String N3_API = "127.0.0.1:7435";

  private final TransferringRole role = new TransferringRole();
  private InProcessBroker b;

  private InProcessBroker start(BrokerServer.Options options) {
    b = new InProcessBroker(Policy.of(InProcessBroker.config().build()), options);
    return b;
  }

  @AfterEach
  void close() {
    if (b != null) {
      b.close();
    }
  }

  private static TransferLeadershipRequest to(String id) {
    return TransferLeadershipRequest.newBuilder().setTo(id).build();
  }

  @Test
  void transferLeadership_onTheLeader_movesItToTheMemberAndNamesIt() {
    role.serving = true;
    start(BrokerServer.Options.DEFAULT.withRole(role));

    TransferLeadershipResponse response = b.admin.transferLeadership(to("n3"));

    assertThat(role.asked).containsExactly("n3");
    assertThat(response.getLeaderId()).isEqualTo("n3");
    assertThat(response.getLeaderApi()).isEqualTo(N3_API);
  }

  @Test
  void transferLeadership_toEmpty_asksForTheBestSuccessor() {
    role.serving = true;
    role.answer = CompletableFuture.completedFuture("n1");
    start(BrokerServer.Options.DEFAULT.withRole(role));

    TransferLeadershipResponse response = b.admin.transferLeadership(to(""));

    assertThat(role.asked).containsExactly("");
    assertThat(response.getLeaderId()).isEqualTo("n1");
    assertThat(response.getLeaderApi()).isEqualTo(N1_API);
  }

  @Test
  void transferLeadership_toNoOtherMember_invalidArgumentNamingTo_nothingTransferred() {
    role.serving = true;
    start(BrokerServer.Options.DEFAULT.withRole(role));

    for (String bad : List.of("n9", "n2")) {
      StatusRuntimeException e =
          catchThrowableOfType(
              StatusRuntimeException.class, () -> b.admin.transferLeadership(to(bad)));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription())
          .startsWith("to: must be another member of the cluster (n1, n3)")
          .contains("'" + bad + "'");
    }
    assertThat(role.asked).isEmpty();
  }

  @Test
  void transferLeadership_onAFollower_notLeaderNamingTheLeader() {
    start(BrokerServer.Options.DEFAULT.withRole(role));

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> b.admin.transferLeadership(to("n3")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(notLeader(e).getMetadataMap()).containsEntry("leader", N1_API);
    assertThat(role.asked).isEmpty();
  }

  @Test
  void transferLeadership_leadershipLostMeanwhile_notLeader() {
    role.serving = true;
    role.answer =
        CompletableFuture.failedFuture(
            new ReplicationException(ReplicationException.Reason.NOT_LEADER, "stepped down", null));
    start(BrokerServer.Options.DEFAULT.withRole(role));

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> b.admin.transferLeadership(to("n3")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(notLeader(e).getReason()).isEqualTo("NOT_LEADER");
  }

  /** The member refuses a second handoff while one is under way (ClusterMember.transferTo). */
  @Test
  void transferLeadership_whileOneIsUnderWay_failedPreconditionSayingSo() {
    role.serving = true;
    role.answer =
        CompletableFuture.failedFuture(
            new IllegalStateException("a leadership transfer is already under way"));
    start(BrokerServer.Options.DEFAULT.withRole(role));

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> b.admin.transferLeadership(to("n3")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription())
        .isEqualTo("leadership was not transferred: a leadership transfer is already under way");
  }

  /**
   * The member refuses a target that has not answered the leader lately (RaftNode.checkAnswering):
   * one FAILED_PRECONDITION naming it and what to do, not an UNAVAILABLE about a majority.
   */
  @Test
  void transferLeadership_toAMemberThatDoesNotAnswer_failedPreconditionNamingIt() {
    role.serving = true;
    role.answer =
        CompletableFuture.failedFuture(
            new MemberSilentException("n3", "n2", Duration.ofSeconds(12), Duration.ofMillis(3200)));
    start(BrokerServer.Options.DEFAULT.withRole(role));

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> b.admin.transferLeadership(to("n3")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription())
        .isEqualTo(
            "leadership was not transferred: member n3 has not answered the leader (n2) for 12 s,"
                + " longer than 3.2 s (twice cluster.election_timeout_max); start it or pick"
                + " another member");
  }

  /** Ratis gave up on a live target (far behind, say): the answer is about the target. */
  @Test
  void transferLeadership_targetDidNotTakeOver_unavailableAboutTheTarget() {
    role.serving = true;
    role.answer =
        CompletableFuture.failedFuture(
            new ReplicationException(
                ReplicationException.Reason.UNAVAILABLE,
                "member n3 did not take over within 4.8 s (900 entries behind the leader, last"
                    + " answered 0.1 s ago); this member leads on",
                null));
    start(BrokerServer.Options.DEFAULT.withRole(role));

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> b.admin.transferLeadership(to("n3")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.getStatus().getDescription())
        .startsWith("leadership was not transferred: member n3 did not take over")
        .doesNotContain("majority");
  }

  @Test
  void transferLeadership_onALoneBroker_failedPreconditionNotACluster() {
    start(BrokerServer.Options.DEFAULT);

    StatusRuntimeException e =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> b.admin.transferLeadership(to("")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription()).startsWith("not a cluster");
  }

  private static ErrorInfo notLeader(StatusRuntimeException e) {
    return LeaderGateServiceTest.notLeader(e);
  }

  /** Member n2 of n1..n3: a follower of n1 unless told it serves; records the transfers asked. */
  private static final class TransferringRole implements ServingRole {
    final List<String> asked = new CopyOnWriteArrayList<>();
    volatile boolean serving;
    volatile CompletableFuture<String> answer = CompletableFuture.completedFuture("n3");

    @Override
    public boolean serving() {
      return serving;
    }

    @Override
    public String leaderApi() {
      return serving ? "127.0.0.1:7433" : N1_API;
    }

    @Override
    public Optional<ClusterStatus> cluster() {
      return Optional.of(
          new ClusterStatus(
              "n2",
              serving ? ClusterRole.LEADER : ClusterRole.FOLLOWER,
              3,
              serving ? "n2" : "n1",
              leaderApi(),
              7,
              serving,
              10,
              10,
              0,
              List.of(
                  new ClusterStatus.Member("n1", N1_API, 10, 0),
                  new ClusterStatus.Member("n2", "127.0.0.1:7433", 10, 0),
                  new ClusterStatus.Member("n3", N3_API, 10, 0))));
    }

    @Override
    public void onChange(Runnable listener) {}

    @Override
    public CompletableFuture<String> transferTo(String memberIdOrEmpty) {
      asked.add(memberIdOrEmpty);
      return answer;
    }
  }
}
