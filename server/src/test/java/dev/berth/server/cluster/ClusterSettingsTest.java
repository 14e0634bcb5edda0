package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.settings.ConfigException;
import java.time.Duration;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class ClusterSettingsTest {

  private static ClusterSettings.Builder three() {
    return ClusterSettings.newBuilder()
        .id("fleet-1")
        .self("n1")
        .peer("n1", "10.0.0.1:7501", "10.0.0.1:7433")
        .peer("n2", "10.0.0.2:7501", "10.0.0.2:7433")
        .peer("n3", "10.0.0.3:7501", "10.0.0.3:7433");
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> fails(
      ClusterSettings.Builder b, String key) {
    return assertThatThrownBy(b::build)
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(key));
  }

  @Test
  void listenMismatch_samePortOnAnyAddress_none_anotherPort_namesBothAndTheKey() {
    ClusterSettings s = three().build();

    assertThat(s.listenMismatch(java.net.InetSocketAddress.createUnresolved("0.0.0.0", 7433)))
        .isEmpty();
    assertThat(s.listenMismatch(java.net.InetSocketAddress.createUnresolved("10.0.0.1", 7433)))
        .isEmpty();
    assertThat(s.listenMismatch(java.net.InetSocketAddress.createUnresolved("127.0.0.1", 20999)))
        .hasValueSatisfying(
            problem ->
                assertThat(problem)
                    .startsWith(
                        "this member listens on port 20999 (listen 127.0.0.1:20999), but"
                            + " cluster.peers.n1.api is 10.0.0.1:7433"));
  }

  @Test
  void build_threeMembers_keepsThemInOrderWithTheDefaults() {
    ClusterSettings s = three().build();
    assertThat(s.peers().keySet()).containsExactly("n1", "n2", "n3");
    assertThat(s.selfPeer().raftAddress()).isEqualTo("10.0.0.1:7501");
    assertThat(s.peers().get("n2").apiAddress()).isEqualTo("10.0.0.2:7433");
    assertThat(s.majority()).isEqualTo(2);
    assertThat(s.electionTimeoutMin()).isEqualTo(Duration.ofMillis(800));
    assertThat(s.electionTimeoutMax()).isEqualTo(Duration.ofMillis(1600));
    assertThat(s.leaderLease()).isEqualTo(Duration.ofMillis(560));
    assertThat(s.newLeaderWait()).isEqualTo(Duration.ofMillis(616));
    assertThat(s.failoverBound()).isEqualTo(Duration.ofMillis(2_216));
    assertThat(s.maxUncommittedGrants()).isEqualTo(4);
    assertThat(s.uncommittedLimitDivisor()).isEqualTo(16);
    assertThat(s.flushInterval()).isEqualTo(Duration.ofMillis(10));
  }

  @Test
  void maxUncommittedGrantsFor_aPoolsLimit_isTheFloorOrASixteenthOfTheLimit() {
    ClusterSettings s = three().build();
    assertThat(s.maxUncommittedGrantsFor(2)).isEqualTo(4);
    assertThat(s.maxUncommittedGrantsFor(64)).isEqualTo(4);
    assertThat(s.maxUncommittedGrantsFor(80)).isEqualTo(5);
    assertThat(s.maxUncommittedGrantsFor(1_000)).isEqualTo(62);
    assertThat(s.maxUncommittedGrantsFor(1_000_000)).isEqualTo(62_500);
  }

  @Test
  void maxUncommittedGrantsFor_divisorZero_isTheFixedKForEveryPool() {
    ClusterSettings s = three().maxUncommittedGrants(8).uncommittedLimitDivisor(0).build();
    assertThat(s.maxUncommittedGrantsFor(1_000_000)).isEqualTo(8);
    assertThat(s.maxUncommittedGrantsFor(2)).isEqualTo(8);
  }

  @Test
  void build_fiveMembers_needsAMajorityOfThree() {
    ClusterSettings s =
        three()
            .peer("n4", "10.0.0.4:7501", "10.0.0.4:7433")
            .peer("n5", "10.0.0.5:7501", "10.0.0.5:7433")
            .build();
    assertThat(s.majority()).isEqualTo(3);
  }

  @Test
  void build_unknownSelf_namesClusterSelf() {
    fails(three().self("n4"), "cluster.self")
        .hasMessageContaining("names no member of cluster.peers [n1, n2, n3], got n4");
  }

  @Test
  void build_withoutSelf_namesClusterSelf() {
    fails(three().self(null), "cluster.self").hasMessageContaining("must name this node");
  }

  @Test
  void build_badClusterId_namesClusterId() {
    fails(three().id("fleet one"), "cluster.id").hasMessageContaining("'fleet one'");
    fails(three().id(null), "cluster.id");
  }

  @Test
  void build_duplicateId_namesClusterPeers() {
    fails(three().peer("n2", "10.0.0.9:7501", "10.0.0.9:7433"), "cluster.peers")
        .hasMessageContaining("member id n2 appears twice");
  }

  @Test
  void build_duplicateRaftAddress_namesTheSecondMembersKey() {
    ClusterSettings.Builder b =
        ClusterSettings.newBuilder()
            .id("f")
            .self("a")
            .peer("a", "h1:7501", "h1:7433")
            .peer("b", "H1:7501", "h2:7433")
            .peer("c", "h3:7501", "h3:7433");
    fails(b, "cluster.peers.b.raft").hasMessageContaining("H1:7501 is already a's raft address");
  }

  @Test
  void build_apiAddressEqualToAnotherMembersRaftAddress_isRefused() {
    ClusterSettings.Builder b =
        ClusterSettings.newBuilder()
            .id("f")
            .self("a")
            .peer("a", "h1:7501", "h1:7433")
            .peer("b", "h2:7501", "h1:7501")
            .peer("c", "h3:7501", "h3:7433");
    fails(b, "cluster.peers.b.api").hasMessageContaining("is already a's raft address");
  }

  @Test
  void build_portZero_isRefused() {
    ClusterSettings.Builder b =
        ClusterSettings.newBuilder()
            .id("f")
            .self("a")
            .peer("a", "h1:0", "h1:7433")
            .peer("b", "h2:7501", "h2:7433")
            .peer("c", "h3:7501", "h3:7433");
    fails(b, "cluster.peers.a.raft").hasMessageContaining("fixed port");
  }

  @Test
  void peer_notAnAddress_namesItsKey() {
    assertThatThrownBy(() -> ClusterSettings.newBuilder().peer("n1", "nowhere", "h:1"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("cluster.peers.n1.raft: must be HOST:PORT");
  }

  @Test
  void build_evenMembers_isRefusedWithTheReason() {
    fails(three().peer("n4", "10.0.0.4:7501", "10.0.0.4:7433"), "cluster.peers")
        .hasMessageContaining("odd number of members (got 4)")
        .hasMessageContaining("survive no more failures than 3");
  }

  @Test
  void build_oneOrTwoMembers_isRefused() {
    ClusterSettings.Builder one =
        ClusterSettings.newBuilder().id("f").self("a").peer("a", "h1:7501", "h1:7433");
    fails(one, "cluster.peers").hasMessageContaining("at least 3 members (got 1)");
    fails(one.peer("b", "h2:7501", "h2:7433"), "cluster.peers")
        .hasMessageContaining("at least 3 members (got 2)");
  }

  @Test
  void build_badMemberId_isRefused() {
    fails(three().peer("n 4", "10.0.0.4:7501", "10.0.0.4:7433"), "cluster.peers")
        .hasMessageContaining("'n 4'");
  }

  @Test
  void build_electionMaxNotAboveMin_namesTheMax() {
    fails(
            three().electionTimeout(Duration.ofSeconds(1), Duration.ofSeconds(1)),
            "cluster.election_timeout_max")
        .hasMessageContaining("must be above cluster.election_timeout_min (1s), got 1s");
  }

  @Test
  void build_leaderLeaseNotBelowTheElectionTimeout_isRefused() {
    fails(three().leaderLease(Duration.ofMillis(800)), "cluster.leader_lease")
        .hasMessageContaining("between the heartbeat period (400ms");
  }

  @Test
  void build_leaderLeaseNotAboveTheHeartbeatPeriod_isRefused() {
    fails(three().leaderLease(Duration.ofMillis(400)), "cluster.leader_lease");
  }

  @Test
  void build_sessionTtlTooShortForAFailover_namesSessionTtl() {
    fails(three().sessionTtl(Duration.ofSeconds(4)), "session.ttl")
        .hasMessageContaining("twice the failover time of the cluster (2s216ms")
        .hasMessageContaining("got 4s");
    assertThat(three().sessionTtl(Duration.ofMillis(4_432)).build()).isNotNull();
  }

  @Test
  void build_fasterElections_allowAShorterTtl() {
    ClusterSettings s =
        three()
            .electionTimeout(Duration.ofMillis(300), Duration.ofMillis(600))
            .leaderLease(Duration.ofMillis(200))
            .sessionTtl(Duration.ofSeconds(2))
            .build();
    assertThat(s.failoverBound()).isEqualTo(Duration.ofMillis(820));
  }

  @Test
  void build_pauseFatalNotAboveTheElectionTimeout_isRefused() {
    fails(three().pauseFatalAfter(Duration.ofMillis(1600)), "cluster.raft.pause_fatal_after");
  }

  @Test
  void build_boundsOutOfRange_nameTheirKeys() {
    fails(three().maxUncommittedGrants(0), "cluster.journal.max_uncommitted_grants");
    fails(three().uncommittedLimitDivisor(1), "cluster.journal.uncommitted_limit_divisor");
    fails(three().uncommittedLimitDivisor(-2), "cluster.journal.uncommitted_limit_divisor");
    fails(three().flushInterval(Duration.ZERO), "cluster.journal.flush_interval");
    fails(three().flushInterval(Duration.ofSeconds(2)), "cluster.journal.flush_interval");
    fails(three().batchRecords(0), "cluster.journal.batch_records");
    fails(three().requestTimeout(Duration.ZERO), "cluster.raft.request_timeout");
    fails(three().appendAttempts(0), "cluster.raft.append_attempts");
    fails(three().appendAttempts(11), "cluster.raft.append_attempts");
    fails(three().snapshotEvery(10), "cluster.raft.snapshot_every");
    fails(three().maxRecordBytes(1024), "cluster.raft.max_record_size");
    fails(three().directMemoryBytes(1 << 20), "cluster.raft.direct_memory");
  }
}
