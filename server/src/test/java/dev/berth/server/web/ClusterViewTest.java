package dev.berth.server.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.cluster.ClusterRole;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.replication.ServingRole;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ClusterViewTest {

  /** A member's role whose cluster status the test sets. */
  private static final class FakeRole implements ServingRole {
    final AtomicReference<Optional<ClusterStatus>> status = new AtomicReference<>(Optional.empty());

    @Override
    public boolean serving() {
      return false;
    }

    @Override
    public String leaderApi() {
      return "";
    }

    @Override
    public Optional<ClusterStatus> cluster() {
      return status.get();
    }

    @Override
    public void onChange(Runnable listener) {}
  }

  private static ClusterStatus followerOfN1(long term) {
    return new ClusterStatus(
        "n2",
        ClusterRole.FOLLOWER,
        term,
        "n1",
        "10.0.0.1:7433",
        3,
        true,
        40,
        40,
        0,
        List.of(
            new ClusterStatus.Member(
                "n1", "10.0.0.1:7433", 40, -1, "https://n1.example:9464/", Optional.empty()),
            new ClusterStatus.Member("n2", "10.0.0.2:7433", 40, -1),
            new ClusterStatus.Member("n3", "10.0.0.3:7433", 38, 2)));
  }

  @Test
  void standalone_notClustered_noMembers() {
    assertThat(ClusterView.STANDALONE.clustered()).isFalse();
    assertThat(ClusterView.STANDALONE.members()).isEmpty();
  }

  @Test
  void of_memberStatus_listsEveryMemberWithItsRoleItsDashboardAndThisNodeMarked() {
    FakeRole role = new FakeRole();
    role.status.set(Optional.of(followerOfN1(7)));

    ClusterView view = ClusterView.of(role);

    assertThat(view.clustered()).isTrue();
    assertThat(view.members())
        .containsExactly(
            new ClusterView.Member(
                "n1", "10.0.0.1:7433", "leader", false, "https://n1.example:9464/"),
            new ClusterView.Member("n2", "10.0.0.2:7433", "follower (term 7)", true, ""),
            new ClusterView.Member("n3", "10.0.0.3:7433", "follower (lag 2)", false, ""));
  }

  @Test
  void of_readsTheRoleAfresh_aChangeOfLeaderShowsAtTheNextSnapshot() {
    FakeRole role = new FakeRole();
    ClusterView view = ClusterView.of(role);
    boolean before = view.clustered();

    role.status.set(Optional.of(followerOfN1(9)));

    assertThat(before).isFalse();
    assertThat(view.members()).extracting(ClusterView.Member::role).contains("follower (term 9)");
  }
}
