package dev.berth.server.wasm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IdleTrackerTest {
  private final IdleTracker tracker = new IdleTracker();

  @Test
  void idleSince_grantedAndUnused_isIdleAfterCutoff() {
    tracker.used("a", 100);

    assertThat(tracker.idleSince(100)).isEmpty();
    assertThat(tracker.idleSince(101)).containsExactly("a");
  }

  @Test
  void reported_changedCallCount_countsAsUse() {
    tracker.used("a", 100);
    tracker.reported("a", 3, 500);

    assertThat(tracker.lastUsedNanos("a")).isEqualTo(500);
    assertThat(tracker.idleSince(400)).isEmpty();
  }

  @Test
  void reported_sameCallCount_isNoUse() {
    tracker.used("a", 100);
    tracker.reported("a", 3, 500);
    tracker.reported("a", 3, 900);

    assertThat(tracker.lastUsedNanos("a")).isEqualTo(500);
  }

  @Test
  void reported_unknownLease_isIgnored() {
    tracker.reported("ghost", 1, 500);

    assertThat(tracker.size()).isZero();
    assertThat(tracker.lastUsedNanos("ghost")).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void ended_forgetsLease() {
    tracker.used("a", 100);
    tracker.ended("a");

    assertThat(tracker.idleSince(Long.MAX_VALUE)).isEmpty();
  }
}
