package dev.berth.server.replication;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.berth.proto.cluster.v1.EpochRecord;
import dev.berth.proto.cluster.v1.FleetState;
import dev.berth.proto.cluster.v1.HandoffRecord;
import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.proto.cluster.v1.PolicyRecord;
import dev.berth.server.broker.Fleet;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PolicyText;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The replica of one member: policy records replace its policy (and are handed on, so a follower
 * puts them in force), a handoff replaces the whole state and marks the next epoch as one after a
 * handoff, and a snapshot carries sessions, leases and the policy.
 */
class ReplicatedFleetTest {
  private final List<byte[]> policies = new ArrayList<>();
  private final ReplicaFeed feed = new ReplicaFeed(new ReplicatedFleet(() -> 5_000, policies::add));

  private static final Fleet FLEET =
      new Fleet(
          List.of(new Fleet.SessionEntry("s-1", "w", "p", Map.of(), 0, "p", 1_000)),
          List.of(renderLease("l-1")),
          List.of());

  /** A RENDER lease of session s-1 on example.com, of epoch 3, granted at 900 for 60 s. */
  static Fleet.LeaseEntry renderLease(String id) {
    return new Fleet.LeaseEntry(
        id,
        "s-1",
        RENDER,
        (3L << 40) + 1,
        "example.com",
        "",
        "",
        300,
        Fleet.Asked.NONE,
        900,
        60_000);
  }

  private static LogRecord policyRecord(byte[] policy) {
    return LogRecord.newBuilder()
        .setPolicy(PolicyRecord.newBuilder().setPolicy(ByteString.copyFrom(policy)))
        .build();
  }

  private static LogRecord handoff(FleetState state) {
    return LogRecord.newBuilder()
        .setHandoff(HandoffRecord.newBuilder().setFrom("n1").setState(state))
        .build();
  }

  private static LogRecord epoch() {
    return LogRecord.newBuilder().setEpoch(EpochRecord.newBuilder().setLeader("n1")).build();
  }

  @Test
  void policyRecord_isKeptHandedOn_andSurvivesASnapshot() throws Exception {
    Policy changed =
        BerthConfig.defaults()
            .policy()
            .withBroker(
                BerthConfig.defaults().policy().broker().toBuilder().limit(RENDER, 13).build());
    byte[] text = PolicyText.encode(changed);

    feed.apply(policyRecord(text));
    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    feed.replica.writeSnapshot(snapshot);
    ReplicatedFleet restarted = new ReplicatedFleet(() -> 5_000, policies::add);
    restarted.loadSnapshot(new ByteArrayInputStream(snapshot.toByteArray()));

    assertThat(policies).hasSize(2);
    assertThat(PolicyText.decode(restarted.policy()).broker().limit(RENDER)).isEqualTo(13);
  }

  /**
   * A penalty keeps the time its site answered 429 through a snapshot loaded, and a handoff
   * applied, long after they were written: its pause ends when it did, and it is as old as it is (a
   * broker carries only recent penalties).
   */
  @Test
  void hostPenalty_snapshotLoadedAndHandoffAppliedLater_keepWhenItWasReported() throws Exception {
    Fleet.HostPenalty penalty = new Fleet.HostPenalty("slow.example", 429, 30_000, 1_000);
    feed.hostPenalty(penalty);
    feed.flush();
    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    feed.replica.writeSnapshot(snapshot); // at 5_000, its wall clock
    ReplicatedFleet restarted = new ReplicatedFleet(() -> 400_000, policies::add);
    restarted.loadSnapshot(new ByteArrayInputStream(snapshot.toByteArray()));
    assertThat(restarted.fleet().hosts()).containsExactly(penalty);

    ReplicaFeed replaying = new ReplicaFeed(new ReplicatedFleet(() -> 400_000, policies::add));
    replaying.apply(
        handoff(FleetCodec.state(new Fleet(List.of(), List.of(), List.of(penalty)), null, 5_000)));
    assertThat(replaying.replica.fleet().hosts()).containsExactly(penalty);
  }

  /**
   * The latest leader's hold-back is kept, survives a snapshot, and a handoff's state replaces it
   * (with its own, or none).
   */
  @Test
  void holdBack_journaled_keptThroughASnapshot_andReplacedByAHandoff() throws Exception {
    Fleet.HoldBack first = new Fleet.HoldBack(Map.of(RENDER, 4), 90_000);
    feed.holdingBack(first);
    feed.holdingBack(new Fleet.HoldBack(Map.of(RENDER, 5, PDF, 1), 95_000));
    feed.flush();
    Fleet.HoldBack latest = new Fleet.HoldBack(Map.of(RENDER, 5, PDF, 1), 95_000);
    assertThat(feed.replica.holdBack()).isEqualTo(latest);
    assertThat(latest.slots(RENDER, 94_999)).isEqualTo(5);
    assertThat(latest.slots(RENDER, 95_000)).isZero();

    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    feed.replica.writeSnapshot(snapshot);
    ReplicatedFleet restarted = new ReplicatedFleet(() -> 5_000, policies::add);
    restarted.loadSnapshot(new ByteArrayInputStream(snapshot.toByteArray()));
    assertThat(restarted.holdBack()).isEqualTo(latest);

    FleetState carried =
        FleetCodec.state(FLEET, null, 5_000).toBuilder()
            .setHoldBack(FleetCodec.holdBack(first))
            .build();
    feed.apply(handoff(carried));
    assertThat(feed.replica.holdBack()).isEqualTo(first);
    feed.apply(handoff(FleetCodec.state(FLEET, null, 5_000)));
    assertThat(feed.replica.holdBack()).isNull();
  }

  @Test
  void handoff_replacesTheState_andTheNextEpochIsAfterAHandoff() {
    feed.sessionOpened(new Fleet.SessionEntry("s-old", "w", "p", Map.of(), 0, "p", 1));
    feed.flush();
    feed.apply(epoch());
    assertThat(feed.replica.afterHandoff()).isFalse();

    feed.apply(handoff(FleetCodec.state(FLEET, null, 5_000)));
    feed.apply(epoch());

    assertThat(feed.replica.afterHandoff()).isTrue();
    assertThat(feed.replica.fleet().sessions())
        .extracting(Fleet.SessionEntry::id)
        .containsExactly("s-1");
    assertThat(feed.replica.fleet().leases()).isEqualTo(FLEET.leases());
  }

  /**
   * A release the handing-off leader journaled after it read the state it hands off: committed
   * after the handoff record, it ends the lease the state still holds, and the next epoch still
   * follows a handoff (its writer granted nothing after it).
   */
  @Test
  void releaseJournaledAfterTheHandoff_endsTheLease_andTheEpochAfterItIsStillAfterAHandoff() {
    feed.apply(
        LogRecord.newBuilder()
            .setHandoff(HandoffRecord.newBuilder().setState(FleetCodec.state(FLEET, null, 5_000)))
            .build());
    feed.leaseEnded("l-1", dev.berth.server.lease.LeaseEnd.RELEASED, null);
    feed.sessionEnded("s-gone", "closed");
    feed.flush();
    feed.apply(epoch());

    assertThat(feed.replica.afterHandoff()).isTrue();
    assertThat(feed.replica.leaseCount()).isZero();
  }

  @Test
  void grantJournaledAfterTheHandoff_theEpochAfterItIsNotAfterAHandoff() {
    feed.apply(
        LogRecord.newBuilder()
            .setHandoff(HandoffRecord.newBuilder().setState(FleetCodec.state(FLEET, null, 5_000)))
            .build());
    feed.leaseEnded("l-1", dev.berth.server.lease.LeaseEnd.RELEASED, null);
    feed.leaseGranted(FLEET.leases().get(0));
    feed.flush();
    feed.apply(epoch());

    assertThat(feed.replica.afterHandoff()).isFalse();
    assertThat(feed.replica.leaseCount()).isOne();
  }

  @Test
  void policyAfterTheHandoff_theEpochAfterItIsNotAfterAHandoff() {
    feed.apply(
        LogRecord.newBuilder()
            .setHandoff(HandoffRecord.newBuilder().setState(FleetCodec.state(FLEET, null, 5_000)))
            .build());
    feed.apply(policyRecord(PolicyText.encode(BerthConfig.defaults().policy())));
    feed.apply(epoch());

    assertThat(feed.replica.afterHandoff()).isFalse();
  }
}
