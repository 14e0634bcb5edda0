package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.ratis.protocol.RaftPeerId;
import org.junit.jupiter.api.Test;

class FollowerAcksTest {
  private static final long MS = 1_000_000L;
  private static final long LEASE = 700 * MS;
  private static final RaftPeerId N2 = RaftPeerId.valueOf("n2");
  private static final RaftPeerId N3 = RaftPeerId.valueOf("n3");

  private final FollowerAcks acks = new FollowerAcks();

  @Test
  void aFollowerCounts_onlyOnceItHasAnswered() {
    acks.add(5, N2);
    acks.add(5, N3);
    assertThat(acks.ackSentNanos(5)).isEmpty();

    acks.replied(5, N2, false, 5, 1_000 * MS);
    assertThat(acks.ackSentNanos(5)).containsExactly(1_000 * MS);
  }

  @Test
  void theLatestAcceptedSendTimeCounts_anOlderReplyArrivingLateDoesNotMoveItBack() {
    acks.add(5, N2);
    acks.replied(5, N2, false, 5, 2_000 * MS);
    acks.replied(5, N2, false, 5, 1_500 * MS);
    assertThat(acks.ackSentNanos(5)).containsExactly(2_000 * MS);
  }

  /**
   * The failure this class exists for: a leader wakes from a pause longer than an election, sends
   * heartbeats at once and the followers, now in a higher term, refuse them. Ratis records the
   * refused heartbeats' send time before it steps the leader down; counted, they would renew the
   * stale leader's lease next to its successor.
   */
  @Test
  void aRefusalFromAHigherTerm_renewsNothing_andDeposesTheLeadershipForGood() {
    long pausedAt = 1_000 * MS;
    acks.add(5, N2);
    acks.add(5, N3);
    acks.replied(5, N2, false, 5, pausedAt - 50 * MS);
    acks.replied(5, N3, false, 5, pausedAt - 40 * MS);
    long woke = pausedAt + 11_000 * MS;
    assertThat(LeaderLease.holds(woke, acks.ackSentNanos(5), 3, LEASE)).isFalse();

    acks.replied(5, N2, true, 6, woke + MS);
    assertThat(LeaderLease.holds(woke + 2 * MS, acks.ackSentNanos(5), 3, LEASE)).isFalse();
    assertThat(acks.ackSentNanos(5)).isEmpty();

    // Even an accepting reply that was still in flight does not bring the term back.
    acks.replied(5, N3, false, 5, woke + MS);
    assertThat(acks.ackSentNanos(5)).isEmpty();
  }

  @Test
  void aFollowerShowingAHigherTerm_deposesTheLeadership() {
    acks.add(5, N2);
    acks.replied(5, N2, false, 5, 1_000 * MS);
    acks.followerTerm(5, 5);
    assertThat(acks.ackSentNanos(5)).hasSize(1);
    acks.followerTerm(5, 7);
    assertThat(acks.ackSentNanos(5)).isEmpty();
  }

  @Test
  void repliesAndAcks_ofAnotherTerm_countForNothing() {
    acks.add(5, N2);
    acks.replied(4, N2, false, 4, 1_000 * MS);
    assertThat(acks.ackSentNanos(5)).isEmpty();
    acks.replied(5, N2, false, 5, 1_000 * MS);
    assertThat(acks.ackSentNanos(4)).isEmpty();

    acks.add(6, N2);
    assertThat(acks.ackSentNanos(6))
        .as("a new leadership starts with no acknowledgement")
        .isEmpty();
    assertThat(acks.ackSentNanos(5)).isEmpty();
  }

  @Test
  void anAppenderCreatedAgainInTheSameTerm_keepsWhatWasKnown() {
    acks.add(5, N2);
    acks.replied(5, N2, false, 5, 1_000 * MS);
    acks.add(5, N2);
    assertThat(acks.ackSentNanos(5)).containsExactly(1_000 * MS);
  }
}
