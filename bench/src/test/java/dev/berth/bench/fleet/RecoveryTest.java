package dev.berth.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RecoveryTest {
  private static final long S = 1_000_000_000L;

  @Test
  void secondsFrom_halfRateStepHalf_sumsEachRequestsGap() {
    // From 1/s at +0.5 per success to 2/s: gaps 1/1 and 1/1.5.
    assertThat(Recovery.secondsFrom(1, 2, 0.5)).isCloseTo(1 + 1 / 1.5, within(1e-9));
    assertThat(Recovery.expectedSeconds(2, 0.5, 0.5)).isCloseTo(1 + 1 / 1.5, within(1e-9));
  }

  @Test
  void secondsFrom_alreadyAtRate_zero() {
    assertThat(Recovery.secondsFrom(3, 3, 1)).isZero();
  }

  @Test
  void recoveredAfter_rateReachedAfterGap_secondsFromStart() {
    // Silence for 3 s after "from", then 4/s.
    long[] t = new long[40];
    for (int i = 0; i < t.length; i++) {
      t[i] = 3 * S + i * S / 4;
    }
    double after = Recovery.recoveredAfter(t, 0, 4.0, 0.8, 2 * S);
    // 2 s windows need 6.4 requests: the 7th request, at 3 s + 1.5 s.
    assertThat(after).isCloseTo(4.5, within(1e-9));
  }

  @Test
  void recoveredAfter_neverReached_nan() {
    long[] t = {0, 5 * S, 10 * S};
    assertThat(Recovery.recoveredAfter(t, 0, 4.0, 0.8, 2 * S)).isNaN();
  }

  @Test
  void perSecond_binsFromStart_countsEach() {
    long[] t = {S / 2, S + 1, S + 2, 3 * S + 1};
    assertThat(Recovery.perSecond(t, 0, 3 * S)).containsExactly(1, 2, 0);
  }
}
