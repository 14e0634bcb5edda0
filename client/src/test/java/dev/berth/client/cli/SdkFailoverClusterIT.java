package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.SessionLost;
import dev.berth.client.WorkerSession;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.testkit.DaemonCluster;
import dev.berth.testkit.DaemonCluster.Member;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real daemons on loopback form a cluster, and the SDK is given all three addresses: it finds
 * the leader, and after a SIGKILL of that leader its session resumes on the next one with its
 * leases (same ids), and acquires keep working; the CLI given the three addresses shows the cluster
 * and transfers the leadership, which the session follows too, after refusing to transfer it to the
 * killed member. Run in the cluster group ({@code -Pcluster-its}), as {@code bin/test} does.
 */
class SdkFailoverClusterIT {
  private static final int LEASES = 5;

  @TempDir Path dir;

  private DaemonCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @Timeout(240)
  void sdkGivenAllMembers_keepsWorkingAcrossSigkillOfTheLeaderAndATransfer() throws Exception {
    cluster =
        DaemonCluster.start(
            dir,
            "sdk-it",
            "--render-limit",
            "64",
            "--session.heartbeat_interval",
            "1s",
            "--session.ttl",
            "5s");
    String[] targets = cluster.apis();
    Member leader = DaemonCluster.awaitReadyLeader(cluster.members(), Duration.ofSeconds(30));
    for (Member m : cluster.members()) {
      if (!m.equals(leader)) {
        // Every member has heard from the leader, so the two left can elect one after the kill.
        DaemonCluster.awaitLeaderKnown(m, leader, Duration.ofSeconds(20));
      }
    }
    List<SessionLost> lost = new CopyOnWriteArrayList<>();

    try (BrokerClient client =
            BrokerClient.newBuilder()
                .targets(targets)
                .callDeadline(Duration.ofSeconds(10))
                .build();
        WorkerSession session = client.openSession("sdk-cluster")) {
      session.onSessionLost(lost::add);
      String sessionId = session.sessionId();
      List<Lease> held = new ArrayList<>();
      for (int i = 0; i < LEASES; i++) {
        held.add(grant(session, "https://h" + i + ".example/"));
      }
      assertThat(leaseIds(leader)).containsExactlyInAnyOrderElementsOf(ids(held));
      // Grants are journaled after they are answered: the successor knows them once committed.
      DaemonCluster.awaitCommitted(leader, Duration.ofSeconds(10));

      // SIGKILL of the leader: the session resumes on the next one with its leases.
      leader.daemon().kill();
      List<Member> survivors = cluster.members().stream().filter(n -> !n.equals(leader)).toList();
      Member next = DaemonCluster.awaitReadyLeader(survivors, Duration.ofSeconds(20));
      long nextReadyNanos = System.nanoTime(); // it was elected before this
      // Granted by the new leader once its recovery window (one session TTL) has passed.
      try (Lease fresh = grant(session, "https://fresh.example/")) {
        assertThat(fresh.fencingToken())
            .isGreaterThan(held.stream().mapToLong(Lease::fencingToken).max().orElseThrow());
        assertThat(session.sessionId()).as("resumed, not a new session").isEqualTo(sessionId);
        assertThat(lost).isEmpty();
        assertThat(leaseIds(next)).containsAll(ids(held)).contains(fresh.leaseId());
        assertThat(held).allMatch(Lease::isValid);
      }

      // The CLI given all three (the dead one first) shows the cluster and moves the lead.
      Member other = survivors.stream().filter(n -> !n.equals(next)).findFirst().orElseThrow();
      String brokers =
          leader.api()
              + ","
              + survivors.stream()
                  .map(Member::api)
                  .collect(java.util.stream.Collectors.joining(","));
      Run status = berth("cluster", "status", "--broker", brokers);
      assertThat(status.code()).as(status.err()).isZero();
      assertThat(status.out()).contains("answered_by", "term", next.id(), other.id());
      // To the killed member: refused before anything pauses (FAILED_PRECONDITION comes only from
      // that check; a transfer Ratis gave up on is UNAVAILABLE), naming it; the lead stays.
      // The new leader counts the dead member's silence from its own election, so it is known to
      // be silent once twice cluster.election_timeout_max (3.2 s by default) has passed since.
      long silentFor = System.nanoTime() - nextReadyNanos;
      long bound = Duration.ofMillis(3_200 + 500).toNanos();
      if (silentFor < bound) {
        TimeUnit.NANOSECONDS.sleep(bound - silentFor);
      }
      // Straight to the leader: the dead address first in the list costs its own connect time.
      Run toDead = berth("cluster", "transfer", "--to", leader.id(), "--broker", next.api());
      assertThat(toDead.code()).as(toDead.err()).isEqualTo(ExitCode.BROKER_ERROR);
      assertThat(toDead.err().strip())
          .startsWith(
              "berth: FAILED_PRECONDITION: leadership was not transferred: member "
                  + leader.id()
                  + " has not answered the leader ("
                  + next.id()
                  + ")")
          .endsWith("start it or pick another member")
          .doesNotContain("\n", "majority");
      DaemonCluster.awaitReadyLeader(List.of(next), Duration.ofSeconds(1));
      Run transfer = berth("cluster", "transfer", "--to", other.id(), "--broker", brokers);
      assertThat(transfer.code()).as(transfer.err()).isZero();
      assertThat(transfer.out()).contains("leadership moved to " + other.id());
      DaemonCluster.awaitReadyLeader(List.of(other), Duration.ofSeconds(20));

      try (Lease afterTransfer = grant(session, "https://after-transfer.example/")) {
        assertThat(session.sessionId()).isEqualTo(sessionId);
        assertThat(leaseIds(other)).containsAll(ids(held)).contains(afterTransfer.leaseId());
      }
      for (Lease lease : held) {
        lease.close();
      }
      assertThat(leaseIds(other)).isEmpty();
    }
  }

  /** A RENDER lease for {@code url}, waiting out a new leader's recovery window. */
  private static Lease grant(WorkerSession session, String url) {
    AcquireResult result =
        session.acquire(
            AcquireOptions.render(url).toBuilder().maxWait(Duration.ofSeconds(20)).build());
    assertThat(result).as(url).isInstanceOf(AcquireResult.Granted.class);
    return ((AcquireResult.Granted) result).lease();
  }

  private static Set<String> ids(List<Lease> leases) {
    return leases.stream().map(Lease::leaseId).collect(Collectors.toSet());
  }

  private static List<String> leaseIds(Member n) {
    return BrokerAdminGrpc.newBlockingStub(n.channel())
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .listLeases(ListLeasesRequest.newBuilder().setPageSize(1000).build())
        .getLeasesList()
        .stream()
        .map(LeaseInfo::getLease)
        .map(dev.berth.proto.v1.Lease::getLeaseId)
        .toList();
  }

  private record Run(int code, String out, String err) {}

  /** Runs the {@code berth} CLI in this JVM. */
  private static Run berth(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Main.run(
            List.of(args),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
