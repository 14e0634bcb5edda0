package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LeaderLeaseTest {
  private static final long MS = 1_000_000L;
  private static final long LEASE = 700 * MS;

  @Test
  void holds_inThreeMembers_withOneFollowerAckedWithinTheLease() {
    long now = 10_000 * MS;
    assertThat(LeaderLease.holds(now, new long[] {now - 100 * MS, now - 5_000 * MS}, 3, LEASE))
        .isTrue();
    assertThat(LeaderLease.remainingNanos(now, new long[] {now - 100 * MS, 0}, 3, LEASE))
        .isEqualTo(600 * MS);
  }

  @Test
  void holds_whenEveryAckIsOlderThanTheLease_isFalse() {
    long now = 10_000 * MS;
    assertThat(LeaderLease.holds(now, new long[] {now - 700 * MS, now - 900 * MS}, 3, LEASE))
        .isFalse();
  }

  @Test
  void holds_inFiveMembers_needsTwoFreshFollowers() {
    long now = 10_000 * MS;
    long fresh = now - 10 * MS;
    long stale = now - 2_000 * MS;
    assertThat(LeaderLease.holds(now, new long[] {fresh, stale, stale, stale}, 5, LEASE)).isFalse();
    assertThat(LeaderLease.holds(now, new long[] {fresh, stale, fresh, stale}, 5, LEASE)).isTrue();
    assertThat(LeaderLease.remainingNanos(now, new long[] {fresh, now - 300 * MS, stale}, 5, LEASE))
        .as("the second freshest decides")
        .isEqualTo(400 * MS);
  }

  @Test
  void holds_withTooFewKnownFollowers_isFalse() {
    assertThat(LeaderLease.holds(5 * MS, new long[0], 3, LEASE)).isFalse();
    assertThat(LeaderLease.holds(5 * MS, new long[] {5 * MS}, 5, LEASE)).isFalse();
  }

  @Test
  void holds_acrossTheWrapOfTheNanoClock() {
    long sent = Long.MAX_VALUE - 50 * MS;
    long now = sent + 200 * MS; // wrapped to a negative number
    assertThat(now).isNegative();
    assertThat(LeaderLease.holds(now, new long[] {sent, sent}, 3, LEASE)).isTrue();
    assertThat(LeaderLease.holds(now + 600 * MS, new long[] {sent, sent}, 3, LEASE)).isFalse();
  }

  @Test
  void holds_forAnAckStampedAfterTheCheckBegan_countsAsFresh() {
    long now = 10_000 * MS;
    assertThat(LeaderLease.holds(now, new long[] {now + MS, 0}, 3, LEASE)).isTrue();
  }
}
