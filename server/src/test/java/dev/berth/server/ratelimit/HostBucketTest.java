package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The bucket's arithmetic where floating point would otherwise be a nanosecond off. */
class HostBucketTest {
  private static final long T0 = 1_000_000_000L;

  @Test
  void nanosUntilToken_rateWherePlainCeilIsShort_pointsAtAWholeToken() {
    // ceil(1e9 / (1e9 / 218)) is 218, but 218 * rate / 1e9 is 0.9999999999999999.
    HostBucket b = new HostBucket("h", new HostRule("*", 1e9 / 218, 4), T0);
    for (int i = 0; i < 4; i++) {
      b.consume(T0);
    }

    long wait = b.nanosUntilToken(T0);

    assertThat(wait).isEqualTo(219);
    assertThat(b.tokensAt(T0 + wait)).isGreaterThanOrEqualTo(1.0);
    assertThat(b.tokensAt(T0 + wait - 1)).isLessThan(1.0);
  }

  @Test
  void nanosUntilToken_beyondLongestWait_isClamped() {
    HostBucket b = new HostBucket("h", new HostRule("*", 1e-12, 1), T0);
    b.consume(T0);

    assertThat(b.nanosUntilToken(T0)).isEqualTo(HostBucket.LONGEST_WAIT_NANOS);
  }
}
