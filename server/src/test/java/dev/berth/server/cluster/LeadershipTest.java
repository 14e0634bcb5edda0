package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.cluster.Leadership.Phase;
import dev.berth.server.time.FakeTimeSource;
import org.junit.jupiter.api.Test;

class LeadershipTest {
  private final Batcher journal = Batcher.closed(new FakeTimeSource());

  @Test
  void allowsGrants_whenReady_onlyFromTheEndOfTheNewLeaderWait() {
    Leadership elected = new Leadership(3, Phase.ELECTED, 1_000, 0, 0, journal, null);
    assertThat(elected.allowsGrants(5_000)).isFalse();
    Leadership ready = elected.ready(7, 2_000, journal);
    assertThat(ready.epoch()).isEqualTo(7);
    assertThat(ready.allowsGrants(1_999)).isFalse();
    assertThat(ready.allowsGrants(2_000)).isTrue();
  }

  @Test
  void allowsGrants_inEveryOtherPhase_isFalse() {
    Leadership ready = new Leadership(3, Phase.READY, 0, 7, 0, journal, null);
    for (Phase p : Phase.values()) {
      assertThat(ready.with(p).allowsGrants(10)).as(p.name()).isEqualTo(p == Phase.READY);
    }
    assertThat(Leadership.none(journal).allowsGrants(10)).isFalse();
  }
}
