package dev.berth.server.replication;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.broker.Fleet;
import dev.berth.server.cluster.Batcher;
import dev.berth.server.cluster.ClusterSettings;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A pool's K on the leader: at least cluster.journal.max_uncommitted_grants, else its limit over
 * cluster.journal.uncommitted_limit_divisor, taking the smaller of the limit in force and the one
 * the cluster agrees on, so the leader never runs further ahead than a successor holds back.
 */
class ClusterJournalTest {
  private final ClusterSettings settings =
      ClusterSettings.newBuilder()
          .id("fleet-1")
          .self("n1")
          .peer("n1", "10.0.0.1:7501", "10.0.0.1:7433")
          .peer("n2", "10.0.0.2:7501", "10.0.0.2:7433")
          .peer("n3", "10.0.0.3:7501", "10.0.0.3:7433")
          .build();
  private final AtomicReference<Policy> inForce = new AtomicReference<>(policy(1_600, 2));
  private final AtomicInteger renewals = new AtomicInteger();
  private final ClusterJournal journal =
      new ClusterJournal(() -> null, settings, inForce::get, renewals::incrementAndGet);

  private static Policy policy(int renderLimit, int pdfLimit) {
    return Policy.of(
        BrokerConfig.newBuilder().limit(RENDER, renderLimit).limit(PDF, pdfLimit).build());
  }

  @Test
  void maxUncommitted_largeAndSmallPools_aSixteenthOfTheLimitOrTheFloor() {
    journal.agreedPolicy(inForce.get());

    assertThat(journal.maxUncommitted(RENDER)).isEqualTo(100);
    assertThat(journal.maxUncommitted(PDF)).isEqualTo(4);
  }

  @Test
  void maxUncommitted_limitRaisedButNotYetAgreed_staysAtTheAgreedLimitsK() {
    journal.agreedPolicy(inForce.get());

    inForce.set(policy(16_000, 2));
    assertThat(journal.maxUncommitted(RENDER)).as("a successor would hold back 100").isEqualTo(100);

    journal.agreedPolicy(inForce.get()); // its record applied
    assertThat(journal.maxUncommitted(RENDER)).isEqualTo(1_000);
  }

  @Test
  void maxUncommitted_limitLowered_takesTheLowerLimitAtOnce() {
    journal.agreedPolicy(inForce.get());

    inForce.set(policy(160, 2));

    assertThat(journal.maxUncommitted(RENDER)).isEqualTo(10);
  }

  @Test
  void maxUncommitted_beforeAnyLeadership_usesTheLimitInForce() {
    assertThat(journal.maxUncommitted(RENDER)).isEqualTo(100);
  }

  @Test
  void holdsBack_epochRunningLow_asksForTheNextOnceAndStillGrants() {
    long low = ClusterJournal.RENEW_EPOCH_BELOW - 1;

    assertThat(journal.holdsBack(RENDER, 0, ClusterJournal.RENEW_EPOCH_BELOW, 0))
        .doesNotContain("epoch");
    assertThat(renewals).as("plenty left").hasValue(0);

    assertThat(journal.holdsBack(RENDER, 0, low, 0)).doesNotContain("epoch");
    assertThat(journal.holdsBack(RENDER, 0, low - 1, 0)).doesNotContain("epoch");
    assertThat(renewals).as("asked once while the request is out").hasValue(1);

    journal.epochInForce();
    assertThat(journal.holdsBack(RENDER, 0, low, 0)).doesNotContain("epoch");
    assertThat(renewals).as("a later epoch running low asks again").hasValue(2);
  }

  @Test
  void holdsBack_epochAlmostUsedUp_holdsEveryGrantBackUntilTheNextIsInForce() {
    String held = journal.holdsBack(PDF, 0, ClusterJournal.TOKENS_RESERVED - 1, 0);

    assertThat(held).contains("fencing-token epoch is used up").contains("retry");
    assertThat(journal.holdsBack(RENDER, 0, 0, 0)).isEqualTo(held);
    assertThat(renewals).hasValue(1);
    assertThat(ClusterJournal.TOKENS_RESERVED)
        .as("more than a bundle's items, so no grant of a bundle needs an uncommitted epoch")
        .isGreaterThan(8);
  }

  /**
   * A new leader's hold-back must be in the log before it grants: a successor elected meanwhile
   * would not know the slots to keep for the predecessor's unseen grants, and only its own K would
   * cover two leaders' uncommitted tails. After the hold commits, a pool's K counts.
   */
  @Test
  void tailHoldsBack_holdNotCommitted_refusesEveryPool_urgesIt_thenTheKCounts() {
    FakeTimeSource time = new FakeTimeSource();
    List<CompletableFuture<Void>> commits = new ArrayList<>();
    Batcher tail =
        new Batcher(
            time,
            batch -> {
              CompletableFuture<Void> commit = new CompletableFuture<>();
              commits.add(commit);
              return commit;
            },
            Duration.ofMillis(10),
            256,
            1 << 20,
            8,
            e -> {},
            n -> {});
    assertThat(ClusterJournal.tailHoldsBack(tail, RENDER, 0, 4)).isNull();

    tail.add(FleetCodec.holdingBack(new Fleet.HoldBack(Map.of(RENDER, 4), 90_000)));

    assertThat(ClusterJournal.tailHoldsBack(tail, PDF, 0, 4))
        .contains("that hold is not committed");
    time.advance(Duration.ZERO);
    assertThat(commits).as("urged: sent at once, not after the flush interval").hasSize(1);
    commits.get(0).complete(null);
    assertThat(ClusterJournal.tailHoldsBack(tail, RENDER, 0, 4)).isNull();

    for (int i = 0; i < 3; i++) {
      tail.add(FleetCodec.granted(ReplicatedFleetTest.renderLease("l-" + i)));
    }
    assertThat(ClusterJournal.tailHoldsBack(tail, RENDER, 0, 4)).isNull();
    assertThat(ClusterJournal.tailHoldsBack(tail, RENDER, 1, 4))
        .startsWith("3 RENDER grants await their commit to the cluster's log and this request")
        .contains("(4: cluster.journal.max_uncommitted_grants");
  }
}
