package dev.berth.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Where the next attempt goes after a failed call, and when: a NOT_LEADER hint (built as the
 * server's leader gate builds it) is followed at once, a member that knows no leader or cannot be
 * reached sends the client to the next member after a back-off, and nothing else moves it.
 */
class LeaderTargetsTest {
  /** A back-off whose jitter is fixed at the middle: 100 ms, 200 ms, ... up to 1 s. */
  private final Backoff backoff = new Backoff(100_000_000L, 1_000_000_000L, () -> 0.5);

  private static LeaderTargets targets(String... members) {
    return new LeaderTargets(
        List.of(members),
        target -> {
          throw new AssertionError("no channel is opened here");
        },
        channel -> channel);
  }

  /** UNAVAILABLE with the NOT_LEADER ErrorInfo, exactly as the server's LeaderGate makes it. */
  static StatusRuntimeException notLeader(String leader) {
    return StatusProto.toStatusRuntimeException(
        com.google.rpc.Status.newBuilder()
            .setCode(Code.UNAVAILABLE_VALUE)
            .setMessage("this broker does not lead its cluster")
            .addDetails(
                Any.pack(
                    ErrorInfo.newBuilder()
                        .setReason("NOT_LEADER")
                        .setDomain("berth.dev")
                        .putMetadata("leader", leader)
                        .build()))
            .build());
  }

  @Test
  void hint_notLeaderRefusal_namesTheLeaderOrNoOne() {
    assertThat(NotLeader.hint(notLeader("b:7433"))).contains("b:7433");
    assertThat(NotLeader.hint(notLeader(""))).contains("");
    assertThat(NotLeader.hint(Status.UNAVAILABLE.withDescription("down").asRuntimeException()))
        .isEmpty();
  }

  @Test
  void hint_otherReasonOrDomain_isNoHint() {
    StatusRuntimeException other =
        StatusProto.toStatusRuntimeException(
            com.google.rpc.Status.newBuilder()
                .setCode(Code.UNAVAILABLE_VALUE)
                .addDetails(
                    Any.pack(
                        ErrorInfo.newBuilder()
                            .setReason("NOT_LEADER")
                            .setDomain("example.com")
                            .putMetadata("leader", "b:7433")
                            .build()))
                .build());
    assertThat(NotLeader.hint(other)).isEmpty();
  }

  @Test
  void afterFailure_hintNamesAMember_goesThereAtOnce() {
    LeaderTargets targets = targets("a:1", "b:1", "c:1");
    assertThat(targets.afterFailure("a:1", notLeader("c:1"), new LeaderSearch(), backoff)).isZero();
    assertThat(targets.current()).isEqualTo("c:1");
  }

  @Test
  void afterFailure_hintNamesAnUnknownAddress_addsItAndGoesThere() {
    LeaderTargets targets = targets("a:1");
    assertThat(targets.afterFailure("a:1", notLeader("10.0.0.2:7433"), new LeaderSearch(), backoff))
        .isZero();
    assertThat(targets.current()).isEqualTo("10.0.0.2:7433");
    assertThat(targets.all()).containsExactly("a:1", "10.0.0.2:7433");
  }

  @Test
  void afterFailure_noLeaderKnown_triesTheNextMemberAfterABackoff() {
    LeaderTargets targets = targets("a:1", "b:1");
    assertThat(targets.afterFailure("a:1", notLeader(""), new LeaderSearch(), backoff))
        .isEqualTo(100_000_000L);
    assertThat(targets.current()).isEqualTo("b:1");
    assertThat(targets.afterFailure("b:1", notLeader(""), new LeaderSearch(), backoff))
        .isEqualTo(200_000_000L);
    assertThat(targets.current()).isEqualTo("a:1");
  }

  @Test
  void afterFailure_hintsPingPong_backsOffOnceEveryMemberWasFollowed() {
    LeaderTargets targets = targets("a:1", "b:1");
    LeaderSearch search = new LeaderSearch();
    assertThat(targets.afterFailure("a:1", notLeader("b:1"), search, backoff)).isZero();
    assertThat(targets.afterFailure("b:1", notLeader("a:1"), search, backoff)).isZero();
    assertThat(targets.afterFailure("a:1", notLeader("b:1"), search, backoff))
        .isEqualTo(100_000_000L);
    assertThat(targets.current()).isEqualTo("b:1");
  }

  /**
   * The failover that stranded a session in a test run: the leader {@code a} is killed, and the
   * survivor {@code b} goes on naming it for seconds. The hint is stale once {@code a} did not
   * answer, and the members are tried in turn, so {@code c}, the new leader, is tried next, instead
   * of going back and forth between the dead leader and the survivor that names it.
   */
  @Test
  void afterFailure_survivorNamesTheDeadLeader_theThirdMemberIsTriedNext() {
    LeaderTargets targets = targets("a:1", "b:1", "c:1");
    LeaderSearch search = new LeaderSearch();
    assertThat(targets.afterFailure("a:1", down(), search, backoff)).isEqualTo(100_000_000L);
    assertThat(targets.current()).isEqualTo("b:1");
    assertThat(targets.afterFailure("b:1", notLeader("a:1"), search, backoff))
        .isEqualTo(200_000_000L);
    assertThat(targets.current()).isEqualTo("c:1");
    assertThat(targets.afterFailure("c:1", notLeader("a:1"), search, backoff))
        .isEqualTo(400_000_000L);
    assertThat(targets.current()).as("the dead one is skipped").isEqualTo("b:1");
  }

  @Test
  void afterFailure_hintFollowedToAMemberThatDidNotAnswer_nextMemberInTurn() {
    LeaderTargets targets = targets("a:1", "b:1", "c:1");
    targets.follow("b:1"); // b led
    LeaderSearch search = new LeaderSearch();
    assertThat(targets.afterFailure("b:1", down(), search, backoff)).isPositive();
    assertThat(targets.current()).isEqualTo("c:1");
    assertThat(targets.afterFailure("c:1", notLeader("a:1"), search, backoff)).isZero();
    assertThat(targets.afterFailure("a:1", down(), search, backoff)).isPositive();
    assertThat(targets.current()).as("round from c, past a and b").isEqualTo("c:1");
  }

  @Test
  void afterFailure_newLeaderNamedAfterStaleHints_isFollowedAtOnce() {
    LeaderTargets targets = targets("a:1", "b:1", "c:1");
    LeaderSearch search = new LeaderSearch();
    targets.afterFailure("a:1", down(), search, backoff);
    targets.afterFailure("b:1", notLeader("a:1"), search, backoff);
    assertThat(targets.afterFailure("c:1", notLeader("b:1"), search, backoff)).isZero();
    assertThat(targets.current()).isEqualTo("b:1");
  }

  @Test
  void afterFailure_memberNamesItself_leadsButIsNotReady_sameMemberAfterABackoff() {
    LeaderTargets targets = targets("a:1", "b:1", "c:1");
    targets.follow("b:1");
    assertThat(targets.afterFailure("b:1", notLeader("b:1"), new LeaderSearch(), backoff))
        .isEqualTo(100_000_000L);
    assertThat(targets.current()).isEqualTo("b:1");
  }

  @Test
  void afterFailure_everyOtherMemberDown_stillGoesRound() {
    LeaderTargets targets = targets("a:1", "b:1", "c:1");
    LeaderSearch search = new LeaderSearch();
    List<String> visited = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      targets.afterFailure(targets.current(), down(), search, backoff);
      visited.add(targets.current());
    }
    assertThat(visited).containsExactly("b:1", "c:1", "a:1", "b:1");
  }

  private static StatusRuntimeException down() {
    return Status.UNAVAILABLE.withDescription("io exception").asRuntimeException();
  }

  @Test
  void afterFailure_unreachableMemberOfSeveral_triesTheNext() {
    LeaderTargets targets = targets("a:1", "b:1");
    StatusRuntimeException down =
        Status.UNAVAILABLE.withDescription("refused").asRuntimeException();
    assertThat(targets.afterFailure("a:1", down, new LeaderSearch(), backoff)).isPositive();
    assertThat(targets.current()).isEqualTo("b:1");
  }

  @Test
  void afterFailure_loneBrokerUnreachable_leavesItToTheCaller() {
    LeaderTargets targets = targets("a:1");
    StatusRuntimeException down =
        Status.UNAVAILABLE.withDescription("refused").asRuntimeException();
    assertThat(targets.afterFailure("a:1", down, new LeaderSearch(), backoff)).isEqualTo(-1);
    assertThat(targets.current()).isEqualTo("a:1");
  }

  @Test
  void afterFailure_errorNotAboutWhere_doesNotMove() {
    LeaderTargets targets = targets("a:1", "b:1");
    assertThat(
            targets.afterFailure(
                "a:1", Status.PERMISSION_DENIED.asRuntimeException(), new LeaderSearch(), backoff))
        .isEqualTo(-1);
    assertThat(targets.current()).isEqualTo("a:1");
  }

  @Test
  void failed_anotherCallerMovedOnAlready_staysOnTheNewMember() {
    LeaderTargets targets = targets("a:1", "b:1", "c:1");
    targets.failed("a:1");
    targets.failed("a:1"); // a second session saw a fail too
    assertThat(targets.current()).isEqualTo("b:1");
  }

  @Test
  void expand_loopbackIpListOrUri_keptAsGiven() {
    Map<String, String> authorities = new HashMap<>();
    assertThat(LeaderTargets.expand(List.of("localhost:7433"), authorities))
        .containsExactly("localhost:7433");
    assertThat(LeaderTargets.expand(List.of("127.0.0.1:7433"), authorities))
        .containsExactly("127.0.0.1:7433");
    assertThat(LeaderTargets.expand(List.of("dns:///broker:7433"), authorities))
        .containsExactly("dns:///broker:7433");
    assertThat(LeaderTargets.expand(List.of("a:1", "b:1"), authorities))
        .containsExactly("a:1", "b:1");
    assertThat(authorities).isEmpty();
  }
}
