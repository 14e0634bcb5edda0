package dev.berth.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ScenarioTest {
  private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

  @Test
  void new_sameSeed_sameHostsAndDraws() {
    Scenario a = new Scenario(300, 60, 100, MINUTE, TimeUnit.SECONDS.toNanos(5), 7);
    Scenario b = new Scenario(300, 60, 100, MINUTE, TimeUnit.SECONDS.toNanos(5), 7);
    assertThat(a.hosts()).isEqualTo(b.hosts());
    SimHost h = a.hosts().get(3);
    assertThat(h.pageNanos(new SplittableRandom(1)))
        .isEqualTo(h.pageNanos(new SplittableRandom(1)));
  }

  @Test
  void new_picks_sumToOne() {
    Scenario s = new Scenario(300, 60, 100, MINUTE, TimeUnit.SECONDS.toNanos(5), 1);
    assertThat(s.hosts().stream().mapToDouble(SimHost::pick).sum())
        .isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-9));
  }

  @Test
  void new_timeline_stormBeforeLeakInsideRun() {
    Scenario s = new Scenario(30, 6, 20, MINUTE, TimeUnit.SECONDS.toNanos(5), 1);
    assertThat(s.warmup()).isLessThan(s.stormStart());
    assertThat(s.stormEnd()).isLessThan(s.leakStart());
    assertThat(s.leakEnd()).isLessThan(s.duration());
    assertThat(s.minRate()).isLessThan(s.stormHost().rate());
  }

  @Test
  void daemonArgs_withJobs_namesEveryWeight() {
    Scenario s = new Scenario(30, 6, 20, MINUTE, TimeUnit.SECONDS.toNanos(5), 1);
    assertThat(s.daemonArgs(true))
        .contains("{recrawl: {weight: 1}, crawl: {weight: 2}, urgent: {weight: 5}}");
    assertThat(s.daemonArgs(false)).doesNotContain("--jobs");
  }

  @Test
  void new_tooFewWorkers_throwsNamingOption() {
    assertThatThrownBy(() -> new Scenario(2, 6, 20, MINUTE, 0, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--workers");
  }
}
