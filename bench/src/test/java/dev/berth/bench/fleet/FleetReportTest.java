package dev.berth.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FleetReportTest {
  private static final long S = 1_000_000_000L;

  /** Three jobs, two hosts: host 0 is the storm host, host 1 a plain one at 3/s. */
  private final Scenario scenario = new Scenario(3, 1, 2, 10 * S, 5 * S, 1);

  private static Observations.Sample sample(long at, int[] wanting, int[] retrying, int[] at2) {
    List<Integer> w = Arrays.stream(wanting).boxed().toList();
    return new Observations.Sample(
        at,
        w,
        List.of(0, 0, 0),
        Arrays.stream(retrying).boxed().toList(),
        Arrays.stream(at2).boxed().toList(),
        0);
  }

  @Test
  void demand_waitersAtAHostUsingItsRate_countedHostBoundTheRestPoolBound() {
    // Host 1 granted 15 pages in the 5 s before the sample: 100 % of 3/s, saturated.
    List<Hold> holds = new ArrayList<>();
    for (int i = 0; i < 15; i++) {
      long t = S + i * S / 3;
      holds.add(new Hold(2, 1, t, t, t + 1, 0));
    }
    // Job 0: 3 wanting, one between a refusal and asking again, one at host 1, two at host 0
    // (the retrying one's host is not told apart). Jobs 1 and 2: one at host 0 each.
    List<Observations.Sample> samples =
        List.of(
            sample(
                6 * S + S / 2,
                new int[] {3, 1, 1},
                new int[] {1, 0, 0},
                new int[] {2, 1, 1, 0, 1, 0}));
    Windows windows = Windows.covering(scenario.warmup(), scenario.duration(), S);
    boolean[] keep = new boolean[windows.count()];
    Arrays.fill(keep, true);

    List<FleetReport.Demand> d = FleetReport.demand(scenario, holds, samples, windows, keep, 3);

    assertThat(d.get(0).wanting()).isCloseTo(3, within(1e-9));
    assertThat(d.get(0).retrying()).isCloseTo(1, within(1e-9));
    assertThat(d.get(0).hostBound()).isCloseTo(1, within(1e-9));
    assertThat(d.get(0).poolBound()).isCloseTo(1, within(1e-9));
    assertThat(d.get(1).hostBound()).isZero();
    assertThat(d.get(1).poolBound()).isCloseTo(1, within(1e-9));
    assertThat(d.get(2).poolBound()).isCloseTo(1, within(1e-9));
  }

  @Test
  void demand_sampleOutsideTheKeptWindows_notCounted() {
    Windows windows = Windows.covering(scenario.warmup(), scenario.duration(), S);
    boolean[] keep = new boolean[windows.count()];
    List<Observations.Sample> samples =
        List.of(sample(6 * S, new int[] {3, 1, 1}, new int[] {0, 0, 0}, new int[6]));

    List<FleetReport.Demand> d = FleetReport.demand(scenario, List.of(), samples, windows, keep, 3);

    assertThat(d).extracting(FleetReport.Demand::wanting).containsOnly(0.0);
  }

  @Test
  void recoveryPass_recoveredWithinTheBound_passesAndLate_fails() {
    assertThat(FleetReport.recoveryPass(3.0, 4.0, 2.0)).isTrue();
    assertThat(FleetReport.recoveryPass(5.0, 4.0, 9.0)).isFalse();
  }

  @Test
  void recoveryPass_notRecovered_failsOnlyWhenTheRunLastedTheBound() {
    assertThat(FleetReport.recoveryPass(Double.NaN, 8.0, 10.0)).isFalse();
    assertThat(FleetReport.recoveryPass(Double.NaN, 8.0, 6.5)).as("too short to tell").isNull();
  }
}
