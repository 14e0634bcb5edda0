package dev.berth.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WindowsTest {
  private static final long S = 1_000_000_000L;

  @Test
  void slotSeconds_leaseAcrossWindows_splitByOverlap() {
    Windows w = Windows.covering(0, 3 * S, S);
    List<Hold> holds = List.of(new Hold(1, 0, 0, S / 2, 2 * S, 0));
    double[][] s = w.slotSeconds(holds, 2);
    assertThat(s[0][1]).isCloseTo(0.5, within(1e-9));
    assertThat(s[1][1]).isCloseTo(1.0, within(1e-9));
    assertThat(s[2][1]).isZero();
    assertThat(s[0][0]).isZero();
  }

  @Test
  void grantShareBlocks_keptWindowsOnly_sharesPerBlock() {
    Windows w = Windows.covering(0, 2 * S, S);
    List<Hold> holds = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      holds.add(new Hold(i % 2, 0, 0, i * S / 8, i * S / 8 + 1, 0)); // window 0: jobs 0,1,0,1
      holds.add(new Hold(0, 0, S, S + i, S + i + 1, 0)); // window 1: job 0 only
    }
    List<double[]> blocks = w.grantShareBlocks(holds, 2, 4, new boolean[] {true, false});
    assertThat(blocks).hasSize(1);
    assertThat(blocks.get(0)).containsExactly(0.5, 0.5);
    assertThat(w.grantShareBlocks(holds, 2, 4, null)).hasSize(2);
  }

  @Test
  void shares_zeroRow_allZero() {
    assertThat(Windows.shares(new double[] {0, 0})).containsExactly(0, 0);
    assertThat(Windows.shares(new double[] {1, 3})).containsExactly(0.25, 0.75);
  }

  @Test
  void maxConcurrent_releaseAtGrantInstant_slotReused() {
    List<Hold> holds =
        List.of(
            new Hold(0, 0, 0, 0, 10, 0), new Hold(0, 0, 0, 10, 20, 0), new Hold(0, 0, 0, 5, 15, 0));
    assertThat(FleetReport.maxConcurrent(holds)).isEqualTo(2);
  }
}
