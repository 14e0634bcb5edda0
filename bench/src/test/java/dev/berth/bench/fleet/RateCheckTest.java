package dev.berth.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RateCheckTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1_000_000_000L;

  @Test
  void check_burstThenPaced_noViolation() {
    // Burst 3 at once, then one every 500 ms at 2/s: exactly what the bucket admits.
    long[] t = {0, 0, 0, 500 * MS, 1000 * MS, 1500 * MS, 2000 * MS};
    RateCheck.Result r = RateCheck.check(t, 2.0, 3, 0, S);
    assertThat(r.violations()).isZero();
    assertThat(r.requests()).isEqualTo(7);
    assertThat(r.worstExcess()).isEqualTo(3.0);
  }

  @Test
  void check_oneRequestBeyondBurst_countsViolation() {
    long[] t = {0, 1 * MS, 2 * MS, 3 * MS};
    RateCheck.Result r = RateCheck.check(t, 2.0, 3, 0, S);
    assertThat(r.violations()).isEqualTo(1);
    assertThat(r.worstExcess()).isGreaterThan(3.9);
  }

  @Test
  void check_closeTogetherWithinTolerance_noViolation() {
    // Paced at 1/s but delivered up to 100 ms apart from their grant: within tolerance.
    long[] t = {0, 900 * MS, 1800 * MS, 2700 * MS};
    assertThat(RateCheck.check(t, 1.0, 1, 0, S).violations()).isPositive();
    assertThat(RateCheck.check(t, 1.0, 1, 300 * MS, S).violations()).isZero();
  }

  @Test
  void check_unsortedTimes_sameAsSorted() {
    long[] t = {2 * S, 0, S};
    assertThat(RateCheck.check(t, 1.0, 1, 0, S))
        .isEqualTo(RateCheck.check(new long[] {0, S, 2 * S}, 1.0, 1, 0, S));
  }

  @Test
  void check_peakWindow_countsMostRequestsInWindow() {
    long[] t = {0, 100 * MS, 200 * MS, 5 * S};
    assertThat(RateCheck.check(t, 10.0, 5, 0, S).peakRate()).isEqualTo(3.0);
  }

  @Test
  void check_nonPositiveRate_throwsNamingRule() {
    assertThatThrownBy(() -> RateCheck.check(new long[0], 0, 1, 0, S))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rate > 0");
  }
}
