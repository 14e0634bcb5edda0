package dev.berth.server.performance;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.assertj.core.api.Assertions.within;

import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DegradationMonitorTest {
  private static final long SECOND = Duration.ofSeconds(1).toNanos();
  private static final String HOST = "example.com";

  /** A plain monotonic clock; tests move it by hand. */
  private long now = 1_000 * SECOND;

  private final Map<ResourceKind, Integer> configured = new EnumMap<>(ResourceKind.class);

  DegradationMonitorTest() {
    configured.put(RENDER, 8);
    configured.put(PDF, 2);
    configured.put(WASM, 64);
  }

  private DegradationMonitor monitor() {
    return monitor(PerformanceConfig.newBuilder());
  }

  private DegradationMonitor monitor(PerformanceConfig.Builder config) {
    return new DegradationMonitor(config.build(), now);
  }

  private void record(
      DegradationMonitor m, ResourceKind kind, int count, boolean success, long durationSeconds) {
    for (int i = 0; i < count; i++) {
      m.record(kind, HOST, new Outcome(success, durationSeconds * SECOND, 0, 0, ""), now);
    }
  }

  private List<LimitChange> adjustAfter(DegradationMonitor m, Duration wait) {
    now += wait.toNanos();
    return m.adjust(now, configured::get);
  }

  // ---------------------------------------------------------------- statistics and score

  @Test
  void stats_noOutcomes_isEmptyAndScoresZero() {
    DegradationMonitor m = monitor();

    assertThat(m.stats(RENDER)).isEqualTo(WindowStats.EMPTY);
    assertThat(m.stats(HOST)).isEqualTo(WindowStats.EMPTY);
    assertThat(m.score(RENDER)).isZero();
  }

  @Test
  void stats_durationsOneToTwentySeconds_givesInterpolatedPercentiles() {
    DegradationMonitor m = monitor();
    for (int s = 1; s <= 20; s++) {
      m.record(RENDER, HOST, new Outcome(s % 4 != 0, s * SECOND, 200, 0, ""), now);
    }

    WindowStats stats = m.stats(RENDER);

    assertThat(stats.samples()).isEqualTo(20);
    assertThat(stats.successRate()).isEqualTo(0.75);
    assertThat(stats.p50Nanos()).isEqualTo(10_500_000_000L);
    assertThat(stats.p95Nanos()).isEqualTo(19_950_000_000L);
    assertThat(stats.p99Nanos()).isEqualTo(20_000_000_000L);
    // failures 0.25 / 0.5 = 0.5; p95 19.95 s / 10 s − 1 = 0.995.
    assertThat(m.score(RENDER)).isCloseTo(0.5 * 0.5 + 0.5 * 0.995, within(1e-9));
  }

  @Test
  void score_healthyOutcomes_isZero() {
    DegradationMonitor m = monitor();

    record(m, RENDER, 20, true, 3);

    assertThat(m.score(RENDER)).isZero();
  }

  @Test
  void score_fortyPercentFailedAtOneAndAHalfTimesTarget_isSixtyFiveHundredths() {
    DegradationMonitor m = monitor();

    record(m, RENDER, 12, true, 15);
    record(m, RENDER, 8, false, 15);

    // 0.5 · min(1, 0.4 / 0.5) + 0.5 · clamp(15 / 10 − 1) = 0.4 + 0.25
    assertThat(m.score(RENDER)).isCloseTo(0.65, within(1e-9));
  }

  @Test
  void score_allFailedFarAboveTarget_saturatesAtOne() {
    DegradationMonitor m = monitor();

    record(m, RENDER, 20, false, 60);

    assertThat(m.score(RENDER)).isEqualTo(1.0);
  }

  @Test
  void score_allFailedWithinTarget_isHalf() {
    DegradationMonitor m = monitor();

    record(m, RENDER, 20, false, 1);

    assertThat(m.score(RENDER)).isEqualTo(0.5);
  }

  @Test
  void score_fewerThanMinSamples_isZero() {
    DegradationMonitor m = monitor();

    record(m, RENDER, 19, false, 60);
    assertThat(m.score(RENDER)).isZero();

    record(m, RENDER, 1, false, 60);
    assertThat(m.score(RENDER)).isEqualTo(1.0);
  }

  @Test
  void score_perKindTarget_usesThatKindsTarget() {
    DegradationMonitor m =
        monitor(PerformanceConfig.newBuilder().targetP95(PDF, Duration.ofSeconds(20)));

    record(m, PDF, 20, true, 30);

    assertThat(m.score(PDF)).isEqualTo(0.25);
  }

  @Test
  void stats_afterTheWindow_oldOutcomesLeave() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 10, false, 30);
    now += 30 * SECOND;
    record(m, RENDER, 10, true, 1);

    m.advanceTo(now + 29 * SECOND);
    assertThat(m.stats(RENDER).samples()).isEqualTo(20);

    m.advanceTo(now + 31 * SECOND);
    WindowStats stats = m.stats(RENDER);
    assertThat(stats.samples()).isEqualTo(10);
    assertThat(stats.successRate()).isEqualTo(1.0);
    assertThat(stats.p99Nanos()).isEqualTo(SECOND);

    m.advanceTo(now + 61 * SECOND);
    assertThat(m.stats(RENDER)).isEqualTo(WindowStats.EMPTY);
    assertThat(m.stats(HOST)).isEqualTo(WindowStats.EMPTY);
  }

  @Test
  void stats_moreOutcomesThanAWindowKeeps_describeTheNewest() {
    DegradationMonitor m = monitor();
    record(m, RENDER, OutcomeWindow.CAPACITY, false, 30);
    now += SECOND;
    record(m, RENDER, OutcomeWindow.CAPACITY - 1, true, 1);
    record(m, RENDER, 1, true, 2);

    WindowStats stats = m.stats(RENDER);

    assertThat(stats.samples()).isEqualTo(OutcomeWindow.CAPACITY);
    assertThat(stats.successRate()).isEqualTo(1.0);
    assertThat(stats.p50Nanos()).isEqualTo(SECOND);
    assertThat(m.stats(HOST).samples()).isEqualTo(OutcomeWindow.CAPACITY);
  }

  @Test
  void stats_windowFullThenTime_trimsByAgeToo() {
    DegradationMonitor m = monitor();
    record(m, RENDER, OutcomeWindow.CAPACITY + 100, false, 30);
    now += 30 * SECOND;
    record(m, RENDER, 10, true, 1);

    m.advanceTo(now + 31 * SECOND);

    WindowStats stats = m.stats(RENDER);
    assertThat(stats.samples()).isEqualTo(10);
    assertThat(stats.successRate()).isEqualTo(1.0);
  }

  @Test
  void advanceTo_earlierTime_doesNotMoveTheWindowBack() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 5, true, 1);
    m.advanceTo(now + 61 * SECOND);

    m.advanceTo(now);

    assertThat(m.stats(RENDER).samples()).isZero();
  }

  @Test
  void stats_perHost_areKeptApartAcrossKinds() {
    DegradationMonitor m = monitor();

    m.record(RENDER, "a.example", new Outcome(false, SECOND, 503, 0, "busy"), now);
    m.record(PDF, "a.example", new Outcome(true, 3 * SECOND, 200, 0, ""), now);
    m.record(RENDER, "b.example", new Outcome(true, SECOND, 200, 0, ""), now);
    m.record(WASM, "", new Outcome(true, SECOND, 0, 0, ""), now);

    assertThat(m.stats("a.example").samples()).isEqualTo(2);
    assertThat(m.stats("a.example").successRate()).isEqualTo(0.5);
    assertThat(m.stats("b.example").samples()).isEqualTo(1);
    assertThat(m.hostsTracked()).isEqualTo(2);
  }

  @Test
  void record_moreHostsThanTracked_dropsTheLeastRecentlyUsed() {
    DegradationMonitor m = monitor(PerformanceConfig.newBuilder().maxHostsTracked(2));
    Outcome ok = new Outcome(true, SECOND, 200, 0, "");

    m.record(RENDER, "a.example", ok, now);
    m.record(RENDER, "b.example", ok, now);
    m.record(RENDER, "a.example", ok, now);
    m.record(RENDER, "c.example", ok, now);

    assertThat(m.hostsTracked()).isEqualTo(2);
    assertThat(m.stats("a.example").samples()).isEqualTo(2);
    assertThat(m.stats("b.example")).isEqualTo(WindowStats.EMPTY);
    assertThat(m.stats("c.example").samples()).isEqualTo(1);
  }

  // ---------------------------------------------------------------- AIMD

  @Test
  void adjust_degraded_decreasesMultiplicativelyAndSaysWhy() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 12, true, 15);
    record(m, RENDER, 8, false, 15);

    List<LimitChange> changes = adjustAfter(m, Duration.ZERO);

    String why = "degraded: score 0.65 > 0.5 (failures 40%, p95 15.0s vs target 10s); limit 8 -> 6";
    assertThat(changes).containsExactly(new LimitChange(RENDER, 8, 6, m.score(RENDER), why));
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(6);
    assertThat(m.reason(RENDER)).isEqualTo(why);
    assertThat(m.effectiveLimit(PDF, 2)).isEqualTo(2);
    assertThat(m.reason(PDF)).isEmpty();
  }

  @Test
  void reconfigured_keepsTheLoweredLimit_thenRecoversStepByStepUnderTheNewPolicy() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 12, true, 15);
    record(m, RENDER, 8, false, 15);
    adjustAfter(m, Duration.ZERO);
    String why = m.reason(RENDER);

    DegradationMonitor next =
        m.reconfigured(PerformanceConfig.newBuilder().increaseStep(1).build(), now);

    assertThat(next.effectiveLimit(RENDER, 8)).isEqualTo(6);
    assertThat(next.reason(RENDER)).isEqualTo(why);
    assertThat(next.stats(RENDER).samples()).isZero(); // the statistics start afresh
    assertThat(adjustAfter(next, Duration.ZERO)).hasSize(1);
    assertThat(next.effectiveLimit(RENDER, 8)).isEqualTo(7);
  }

  @Test
  void adjust_healthy_leavesConfiguredLimits() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 20, true, 2);

    assertThat(adjustAfter(m, Duration.ZERO)).isEmpty();
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(8);
    assertThat(m.reason(RENDER)).isEmpty();
  }

  @Test
  void adjust_soonerThanAdjustInterval_changesNothing() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 20, false, 30);
    assertThat(adjustAfter(m, Duration.ZERO)).hasSize(1);
    record(m, RENDER, 20, false, 30);

    assertThat(adjustAfter(m, Duration.ofMillis(4_999))).isEmpty();
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(6);

    assertThat(adjustAfter(m, Duration.ofMillis(1))).hasSize(1);
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(4);
  }

  @Test
  void adjust_nextDecrease_waitsForMinSamplesOfFreshOutcomes() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 20, false, 30);
    adjustAfter(m, Duration.ZERO);

    // The same bad outcomes are still in the window: no second decrease on old evidence.
    assertThat(adjustAfter(m, Duration.ofSeconds(5))).isEmpty();
    record(m, RENDER, 19, false, 30);
    assertThat(adjustAfter(m, Duration.ofSeconds(5))).isEmpty();
    record(m, RENDER, 1, false, 30);

    assertThat(adjustAfter(m, Duration.ofSeconds(5)))
        .extracting(LimitChange::from, LimitChange::to)
        .containsExactly(tuple(6, 4));
  }

  @Test
  void adjust_persistentDegradation_stopsAtTheFloor() {
    DegradationMonitor m = monitor();
    int[] expected = {6, 4, 3, 2, 1, 1, 1};

    for (int limit : expected) {
      record(m, RENDER, 20, false, 30);
      adjustAfter(m, Duration.ofSeconds(5));
      assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(limit);
    }
  }

  @Test
  void adjust_configuredFloor_isNeverUndercut() {
    DegradationMonitor m = monitor(PerformanceConfig.newBuilder().floor(3));

    for (int i = 0; i < 6; i++) {
      record(m, RENDER, 20, false, 30);
      adjustAfter(m, Duration.ofSeconds(5));
    }

    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(3);
    // A configured limit below the floor still wins: a pool of 2 cannot hold 3.
    assertThat(m.effectiveLimit(RENDER, 2)).isEqualTo(2);
  }

  @Test
  void adjust_recovered_increasesAdditivelyUpToConfigured() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 20, false, 30);
    adjustAfter(m, Duration.ZERO);
    record(m, RENDER, 20, false, 30);
    adjustAfter(m, Duration.ofSeconds(5));
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(4);

    // The bad outcomes leave the window; healthy ones replace them.
    now += 61 * SECOND;
    record(m, RENDER, 20, true, 2);
    List<LimitChange> first = adjustAfter(m, Duration.ZERO);

    assertThat(first)
        .containsExactly(
            new LimitChange(
                RENDER,
                4,
                5,
                0.0,
                "recovering: score 0.00 <= 0.5 (failures 0%, p95 2.0s vs target 10s);"
                    + " limit 4 -> 5"));
    assertThat(m.reason(RENDER)).isEqualTo(first.get(0).reason());

    assertThat(adjustAfter(m, Duration.ofSeconds(5)))
        .extracting(LimitChange::to)
        .containsExactly(6);
    assertThat(adjustAfter(m, Duration.ofSeconds(5)))
        .extracting(LimitChange::to)
        .containsExactly(7);
    List<LimitChange> last = adjustAfter(m, Duration.ofSeconds(5));
    assertThat(last).extracting(LimitChange::to).containsExactly(8);
    assertThat(last.get(0).reason()).startsWith("recovered: ");
    assertThat(m.reason(RENDER)).isEmpty();

    assertThat(adjustAfter(m, Duration.ofSeconds(5))).isEmpty();
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(8);
  }

  @Test
  void adjust_noTraffic_recoversForLackOfEvidence() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 20, false, 30);
    adjustAfter(m, Duration.ZERO);

    List<LimitChange> changes = adjustAfter(m, Duration.ofSeconds(61));

    assertThat(changes)
        .extracting(LimitChange::reason)
        .containsExactly(
            "recovering: score 0.00 <= 0.5 (0 samples < min_samples 20); limit 6 -> 7");
  }

  @Test
  void effectiveLimit_configuredLimitLowered_capsAtOnce() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 20, false, 30);
    adjustAfter(m, Duration.ZERO);
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(6);

    assertThat(m.effectiveLimit(RENDER, 4)).isEqualTo(4);
    assertThat(m.effectiveLimit(RENDER, 0)).isZero();

    // Healthy again at the lowered limit: the reduction is over, nothing visible moves.
    configured.put(RENDER, 4);
    now += 61 * SECOND;
    assertThat(adjustAfter(m, Duration.ZERO)).isEmpty();
    assertThat(m.reason(RENDER)).isEmpty();
    assertThat(m.effectiveLimit(RENDER, 8)).isEqualTo(8);
  }

  @Test
  void effectiveLimit_configuredLimitRaisedWhileDegraded_growsBackAdditively() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 20, false, 30);
    adjustAfter(m, Duration.ZERO);

    configured.put(RENDER, 16);
    assertThat(m.effectiveLimit(RENDER, 16)).isEqualTo(6);
    now += 61 * SECOND;

    assertThat(adjustAfter(m, Duration.ZERO)).extracting(LimitChange::to).containsExactly(7);
  }

  @Test
  void adjust_pdfDegraded_dropsToTheFloor() {
    DegradationMonitor m = monitor();
    record(m, PDF, 20, false, 30);

    List<LimitChange> changes = adjustAfter(m, Duration.ZERO);

    assertThat(changes)
        .extracting(LimitChange::kind, LimitChange::to)
        .containsExactly(tuple(PDF, 1));
    assertThat(m.effectiveLimit(PDF, 2)).isEqualTo(1);
  }

  @Test
  void adjust_wasmDegraded_isNeverAdjusted() {
    DegradationMonitor m = monitor();
    record(m, WASM, 20, false, 30);
    assertThat(m.score(WASM)).isEqualTo(1.0);

    assertThat(adjustAfter(m, Duration.ZERO)).isEmpty();
    assertThat(m.effectiveLimit(WASM, 64)).isEqualTo(64);
    assertThat(m.reason(WASM)).isEmpty();
  }

  @Test
  void adjust_fewerThanMinSamples_leavesTheLimit() {
    DegradationMonitor m = monitor();
    record(m, RENDER, 19, false, 30);

    assertThat(adjustAfter(m, Duration.ZERO)).isEmpty();

    record(m, RENDER, 1, false, 30);
    assertThat(adjustAfter(m, Duration.ofSeconds(5))).hasSize(1);
  }
}
