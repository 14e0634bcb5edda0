package dev.berth.server.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FleetMemoryTest {
  private static final long MB = 1L << 20;
  private static final long SECOND = Duration.ofSeconds(1).toNanos();

  /** A plain monotonic clock; tests move it by hand. */
  private long now = 5 * SECOND;

  private static FleetMemory withFleetLimit(long mb) {
    return new FleetMemory(MemoryConfig.newBuilder().fleetLimitMb(mb).build());
  }

  private PressureChange evaluate(FleetMemory memory) {
    return memory.evaluate(now, 0, 0);
  }

  // ---------------------------------------------------------------- limits

  @Test
  void fleetLimitMb_unset_isSumOfWorkerLimits() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());

    memory.report("s1", "w1", 500, 2000, now);
    memory.report("s2", "w2", 500, 3000, now);

    assertThat(memory.fleetLimitMb()).isEqualTo(5000);
    assertThat(memory.fleetUsedMb()).isEqualTo(1000);
  }

  @Test
  void forget_workerWithLimit_leavesTheSumAndMayTurnPressureOn() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());
    memory.report("s1", "w1", 1800, 2000, now);
    memory.report("s2", "w2", 100, 3000, now);
    assertThat(memory.fleetBlocked()).isFalse();

    memory.forget("s2");

    assertThat(memory.fleetLimitMb()).isEqualTo(2000);
    assertThat(memory.fleetUsedMb()).isEqualTo(1800);
    assertThat(memory.fleetBlocked()).isTrue();
  }

  @Test
  void report_absurdUsageOfOneWorker_countsInTheFleetAtMostItsOwnLimit() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());
    memory.report("s1", "liar", MemoryConfig.MAX_MB, 2000, now); // 1 PiB on a 2000 MB worker
    memory.report("s2", "w2", 500, 2000, now);

    assertThat(memory.fleetUsedMb()).isEqualTo(2500); // 2000 + 500 of 4000
    assertThat(memory.fleetBlocked()).isFalse();
    assertThat(memory.blocks("s2")).isFalse(); // the others are still granted
    assertThat(memory.blocks("s1")).isTrue(); // the liar's own pressure refuses it
    assertThat(memory.usedMb("s1")).isEqualTo(MemoryConfig.MAX_MB); // shown as reported

    memory.charge("s1", 300); // nor do its charges count past its limit
    assertThat(memory.fleetUsedMb()).isEqualTo(2500);
    memory.report("s1", "liar", 100, 0, now);
    assertThat(memory.fleetUsedMb()).isEqualTo(600);
    memory.forget("s1");
    assertThat(memory.fleetUsedMb()).isEqualTo(500);
  }

  @Test
  void cleanupTargets_absurdUsageOfOneWorker_doesNotTakeTheOthersShares() {
    FleetMemory memory = withFleetLimit(6000);
    memory.report("s1", "liar", MemoryConfig.MAX_MB, 2000, now);
    memory.report("s2", "w2", 1900, 2000, now);
    memory.report("s3", "w3", 1900, 2000, now);
    assertThat(memory.fleetBlocked()).isTrue(); // 5800/6000 = 0.97

    // 5800 MB must come down to pressure_off (4500 MB): 1300 MB, shared 2000 : 1900 : 1900.
    assertThat(memory.cleanupTargets(now))
        .extracting(CleanupTarget::sessionId, CleanupTarget::targetFreeMb)
        .contains(tuple("s2", 426L), tuple("s3", 426L));
  }

  @Test
  void report_absurdUsageOfAWorkerWithoutALimit_countsWhole() {
    FleetMemory memory = withFleetLimit(4000);
    memory.report("s1", "no-limit", 1_000_000, 0, now);
    memory.report("s2", "w2", 500, 2000, now);

    // The documented bound: a worker that declares no limit can hold the fleet's pressure on.
    assertThat(memory.fleetUsedMb()).isEqualTo(1_000_500);
    assertThat(memory.blocks("s2")).isTrue();
  }

  @Test
  void report_zeroLimit_keepsLastKnownLimit() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());
    memory.report("s1", "w1", 500, 2000, now);

    memory.report("s1", 700, 0, now);

    assertThat(memory.fleetLimitMb()).isEqualTo(2000);
    assertThat(memory.limitMb("s1")).isEqualTo(2000);
    assertThat(memory.usedMb("s1")).isEqualTo(700);
  }

  @Test
  void fleetLimitMb_configured_overridesSumOfWorkerLimits() {
    FleetMemory memory = withFleetLimit(4000);

    memory.report("s1", "w1", 500, 2000, now);
    memory.report("s2", "w2", 500, 3000, now);

    assertThat(memory.fleetLimitMb()).isEqualTo(4000);
  }

  @Test
  void evaluate_noLimitKnown_noPressure() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());

    memory.report("s1", "w1", 90_000, 0, now);
    memory.charge("s1", 10_000);
    PressureChange change = evaluate(memory);

    assertThat(memory.fleetLimitMb()).isZero();
    assertThat(memory.level()).isEqualTo(PressureLevel.NONE);
    assertThat(memory.fleetBlocked()).isFalse();
    assertThat(memory.sessionBlocked("s1")).isFalse();
    assertThat(memory.blocks("s1")).isFalse();
    assertThat(memory.trigger()).isEmpty();
    assertThat(change.changed()).isFalse();
    assertThat(memory.cleanupTargets(now)).isEmpty();
  }

  // ---------------------------------------------------------------- fleet hysteresis

  @Test
  void report_reachesPressureOn_turnsFleetPressureOnWithTrigger() {
    FleetMemory memory = withFleetLimit(4000);

    memory.report("s1", "w1", 3500, 0, now);
    PressureChange change = evaluate(memory);

    assertThat(memory.fleetBlocked()).isTrue();
    assertThat(memory.level()).isEqualTo(PressureLevel.ELEVATED);
    assertThat(memory.trigger()).isEqualTo("fleet 3500/4000 MB = 0.88 >= pressure_on 0.85");
    assertThat(change.turnedOn()).isTrue();
    assertThat(change.from()).isEqualTo(PressureLevel.NONE);
    assertThat(change.to()).isEqualTo(PressureLevel.ELEVATED);
    assertThat(change.trigger()).isEqualTo(memory.trigger());
  }

  @Test
  void evaluate_usageOscillatingAroundOnAndOff_doesNotFlap() {
    FleetMemory memory = withFleetLimit(1000);
    // Around pressure_on (0.85), then down through the band, around pressure_off (0.75), back up.
    long[] usage = {840, 860, 840, 860, 840, 800, 760, 740, 760, 740, 760, 840, 850};
    boolean[] expectedOn = {
      false, true, true, true, true, true, true, false, false, false, false, false, true
    };
    List<Boolean> blocked = new ArrayList<>();
    int turnedOn = 0;
    int turnedOff = 0;

    for (long mb : usage) {
      now += SECOND;
      memory.report("s1", "w1", mb, 0, now);
      PressureChange change = evaluate(memory);
      blocked.add(memory.fleetBlocked());
      turnedOn += change.turnedOn() ? 1 : 0;
      turnedOff += change.turnedOff() ? 1 : 0;
    }

    List<Boolean> expected = new ArrayList<>();
    for (boolean on : expectedOn) {
      expected.add(on);
    }
    assertThat(blocked).isEqualTo(expected);
    assertThat(turnedOn).isEqualTo(2);
    assertThat(turnedOff).isEqualTo(1);
  }

  @Test
  void evaluate_fallsToPressureOff_turnsOffWithTheRuleThatEndedIt() {
    FleetMemory memory = withFleetLimit(4000);
    memory.report("s1", "w1", 3500, 0, now);
    evaluate(memory);

    memory.report("s1", 3000, 0, now);
    PressureChange change = evaluate(memory);

    assertThat(memory.fleetBlocked()).isFalse();
    assertThat(memory.trigger()).isEmpty();
    assertThat(change.turnedOff()).isTrue();
    assertThat(change.trigger()).isEqualTo("fleet 3000/4000 MB = 0.75 <= pressure_off 0.75");
  }

  @Test
  void level_aboveCritical_isCriticalUntilBelowPressureOn() {
    FleetMemory memory = withFleetLimit(1000);

    memory.report("s1", "w1", 960, 0, now);
    assertThat(memory.level()).isEqualTo(PressureLevel.CRITICAL);
    assertThat(memory.trigger()).isEqualTo("fleet 960/1000 MB = 0.96 >= critical 0.95");

    memory.report("s1", 900, 0, now);
    assertThat(memory.level()).isEqualTo(PressureLevel.CRITICAL);

    memory.report("s1", 840, 0, now);
    assertThat(memory.level()).isEqualTo(PressureLevel.ELEVATED);
    assertThat(memory.trigger()).isEqualTo("fleet 840/1000 MB = 0.84 < pressure_on 0.85");

    memory.report("s1", 740, 0, now);
    assertThat(memory.level()).isEqualTo(PressureLevel.NONE);
  }

  // ---------------------------------------------------------------- estimates

  @Test
  void charge_sinceLastReport_pushesOverThresholdAndResetsAtNextReport() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());
    memory.report("s1", "w1", 700, 1000, now);

    memory.charge("s1", 100);
    assertThat(memory.fleetUsedMb()).isEqualTo(800);
    assertThat(memory.fleetBlocked()).isFalse();

    memory.charge("s1", 100);
    assertThat(memory.fleetUsedMb()).isEqualTo(900);
    assertThat(memory.fleetBlocked()).isTrue();
    assertThat(memory.blocks("s1")).isTrue();

    now += 2 * SECOND;
    memory.report("s1", 600, 1000, now);
    assertThat(memory.fleetUsedMb()).isEqualTo(600);
    assertThat(memory.usedMb("s1")).isEqualTo(600);
    assertThat(memory.fleetBlocked()).isFalse();
  }

  @Test
  void charge_unknownSession_countsTowardsFleet() {
    FleetMemory memory = withFleetLimit(1000);

    memory.charge("s9", 900);

    assertThat(memory.fleetUsedMb()).isEqualTo(900);
    assertThat(memory.fleetBlocked()).isTrue();
  }

  // ---------------------------------------------------------------- per worker

  @Test
  void report_workerNearItsOwnLimit_blocksOnlyThatWorker() {
    FleetMemory memory = withFleetLimit(10_000);
    memory.report("s2", "w2", 1000, 2000, now);
    evaluate(memory);

    memory.report("s1", "w1", 1900, 2000, now);
    PressureChange change = evaluate(memory);

    assertThat(memory.sessionBlocked("s1")).isTrue();
    assertThat(memory.blocks("s1")).isTrue();
    assertThat(memory.blocks("s2")).isFalse();
    assertThat(memory.fleetBlocked()).isFalse();
    assertThat(memory.level()).isEqualTo(PressureLevel.NONE);
    assertThat(memory.level("s1")).isEqualTo(PressureLevel.CRITICAL);
    assertThat(memory.level("s2")).isEqualTo(PressureLevel.NONE);
    assertThat(memory.trigger("s1"))
        .isEqualTo("worker w1 (session s1) 1900/2000 MB = 0.95 >= critical 0.95");
    assertThat(change.from()).isEqualTo(change.to());
    assertThat(change.workers())
        .containsExactly(
            new PressureChange.Worker(
                "s1", "w1", PressureLevel.NONE, PressureLevel.CRITICAL, memory.trigger("s1")));
  }

  @Test
  void report_workerBetweenOffAndOn_keepsItsState() {
    FleetMemory memory = withFleetLimit(100_000);
    memory.report("s1", "w1", 1700, 2000, now);
    assertThat(memory.sessionBlocked("s1")).isTrue();

    memory.report("s1", 1600, 2000, now);
    assertThat(memory.sessionBlocked("s1")).isTrue();

    memory.report("s1", 1500, 2000, now);
    assertThat(memory.sessionBlocked("s1")).isFalse();

    memory.report("s1", 1600, 2000, now);
    assertThat(memory.sessionBlocked("s1")).isFalse();
  }

  @Test
  void report_workerWithoutLimitAndNoFleetLimit_hasNoOwnPressure() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());
    memory.report("s1", "w1", 100, 1000, now);

    memory.report("s2", "w2", 5000, 0, now);

    assertThat(memory.limitMb("s2")).isZero();
    assertThat(memory.sessionBlocked("s2")).isFalse();
    // s2's usage still counts against the fleet limit that s1's limit makes known.
    assertThat(memory.fleetBlocked()).isTrue();
  }

  @Test
  void report_workerWithoutLimit_isMeasuredAgainstConfiguredFleetLimit() {
    FleetMemory memory = withFleetLimit(1000);

    memory.report("s1", "w1", 900, 0, now);

    assertThat(memory.limitMb("s1")).isEqualTo(1000);
    assertThat(memory.sessionBlocked("s1")).isTrue();
  }

  @Test
  void evaluate_forgottenSession_isLeftOutOfWorkerChanges() {
    FleetMemory memory = withFleetLimit(100_000);
    memory.report("s1", "w1", 1900, 2000, now);

    memory.forget("s1");
    PressureChange change = evaluate(memory);

    assertThat(change.workers()).isEmpty();
    assertThat(memory.sessionBlocked("s1")).isFalse();
  }

  // ---------------------------------------------------------------- broker heap

  @Test
  void evaluate_brokerHeapAboveHeapOn_blocksFleetUntilHeapOff() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());

    PressureChange on = memory.evaluate(now, 930 * MB, 1000 * MB);
    assertThat(on.turnedOn()).isTrue();
    assertThat(memory.fleetBlocked()).isTrue();
    assertThat(memory.blocks("anyone")).isTrue();
    assertThat(memory.trigger()).isEqualTo("broker heap 930/1000 MB = 0.93 >= broker_heap_on 0.9");

    assertThat(memory.evaluate(now, 850 * MB, 1000 * MB).changed()).isFalse();
    assertThat(memory.fleetBlocked()).isTrue();

    PressureChange off = memory.evaluate(now, 800 * MB, 1000 * MB);
    assertThat(off.turnedOff()).isTrue();
    assertThat(off.trigger()).isEqualTo("broker heap 800/1000 MB = 0.80 <= broker_heap_off 0.8");
    assertThat(memory.fleetBlocked()).isFalse();
  }

  @Test
  void evaluate_unknownMaxHeap_noHeapPressure() {
    FleetMemory memory = new FleetMemory(MemoryConfig.defaults());

    memory.evaluate(now, 930 * MB, 0);

    assertThat(memory.fleetBlocked()).isFalse();
  }

  @Test
  void trigger_fleetAndHeapBothOn_namesBoth() {
    FleetMemory memory = withFleetLimit(4000);
    memory.report("s1", "w1", 3500, 0, now);

    memory.evaluate(now, 930 * MB, 1000 * MB);

    assertThat(memory.trigger())
        .isEqualTo(
            "fleet 3500/4000 MB = 0.88 >= pressure_on 0.85; "
                + "broker heap 930/1000 MB = 0.93 >= broker_heap_on 0.9");
  }

  // ---------------------------------------------------------------- cleanup

  @Test
  void cleanupTargets_fleetPressure_topUsersShareTheExcessByUsage() {
    FleetMemory memory = withFleetLimit(4000);
    memory.report("a", "wa", 1600, 0, now);
    memory.report("b", "wb", 1000, 0, now);
    memory.report("c", "wc", 400, 0, now);
    memory.report("d", "wd", 500, 0, now);
    // 3500/4000 = 0.875; back to pressure_off needs 3500 - 3000 = 500 MB, from a, b and d
    // (3100 MB between them): 500·1600/3100 = 258.06, 500·1000/3100 = 161.3, 500·500/3100 = 80.6.

    List<CleanupTarget> targets = memory.cleanupTargets(now);

    assertThat(targets)
        .extracting(CleanupTarget::sessionId, CleanupTarget::targetFreeMb)
        .containsExactly(tuple("a", 259L), tuple("b", 162L), tuple("d", 81L));
    assertThat(targets).allSatisfy(t -> assertThat(t.reason()).isEqualTo(memory.trigger()));
  }

  @Test
  void cleanupTargets_calledAgainWithinInterval_skipsSessionsAlreadyAsked() {
    FleetMemory memory = withFleetLimit(4000);
    memory.report("a", "wa", 2000, 0, now);
    memory.report("b", "wb", 1500, 0, now);
    assertThat(memory.cleanupTargets(now)).hasSize(2);

    now += 9 * SECOND;
    assertThat(memory.cleanupTargets(now)).isEmpty();

    memory.report("c", "wc", 100, 0, now);
    assertThat(memory.cleanupTargets(now))
        .extracting(CleanupTarget::sessionId)
        .containsExactly("c");

    now += SECOND;
    assertThat(memory.cleanupTargets(now))
        .extracting(CleanupTarget::sessionId)
        .containsExactly("a", "b");
  }

  @Test
  void cleanupTargets_workerUnderOwnPressure_asksForItsOwnExcess() {
    FleetMemory memory = withFleetLimit(100_000);
    memory.report("s1", "w1", 1900, 2000, now);
    memory.report("s2", "w2", 1000, 2000, now);

    List<CleanupTarget> targets = memory.cleanupTargets(now);

    assertThat(targets).containsExactly(new CleanupTarget("s1", 400, memory.trigger("s1")));
  }

  @Test
  void cleanupTargets_noPressureOrHeapOnly_asksNobody() {
    FleetMemory memory = withFleetLimit(4000);
    memory.report("s1", "w1", 1000, 2000, now);
    assertThat(memory.cleanupTargets(now)).isEmpty();

    memory.evaluate(now, 990 * MB, 1000 * MB);

    assertThat(memory.fleetBlocked()).isTrue();
    assertThat(memory.cleanupTargets(now)).isEmpty();
  }

  @Test
  void cleanupTargets_cleanupSessionsZero_asksOnlyWorkersUnderOwnPressure() {
    FleetMemory memory =
        new FleetMemory(MemoryConfig.newBuilder().fleetLimitMb(4000).cleanupSessions(0).build());
    memory.report("s1", "w1", 3500, 0, now);

    assertThat(memory.fleetBlocked()).isTrue();
    // s1 is measured against the fleet limit too (it reports none), so it owes its own excess.
    assertThat(memory.cleanupTargets(now))
        .containsExactly(new CleanupTarget("s1", 500, memory.trigger("s1")));
  }

  // ---------------------------------------------------------------- reload

  @Test
  void reconfigure_lowerPressureOn_turnsPressureOnAtOnce() {
    FleetMemory memory = withFleetLimit(1000);
    memory.report("s1", "w1", 700, 0, now);
    assertThat(memory.fleetBlocked()).isFalse();

    memory.reconfigure(
        memory.config().toBuilder().pressureOn(0.65).pressureOff(0.5).critical(0.9).build());
    PressureChange change = evaluate(memory);

    assertThat(memory.fleetBlocked()).isTrue();
    assertThat(change.turnedOn()).isTrue();
    assertThat(change.trigger()).isEqualTo("fleet 700/1000 MB = 0.70 >= pressure_on 0.65");
  }
}
