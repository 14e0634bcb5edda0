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

  @Test
  void tokensAt_sameInstantAfterEachChange_answersForTheStateAsChanged() {
    // tokensAt remembers its last answer; every change of the bucket must make it answer anew.
    HostBucket b = new HostBucket("h", new HostRule("*", 10, 5), T0);
    b.consume(T0);
    b.consume(T0);
    long t = T0 + 100_000_000L; // 0.1 s: one token at 10/s

    assertThat(b.tokensAt(t)).isEqualTo(4.0);
    assertThat(b.nanosUntilToken(t)).isZero();
    b.throttle(429, 0, T0 + 1, RateLimitConfig.defaults()); // rate halved, tokens capped at 1
    assertThat(b.tokensAt(t)).isEqualTo(fresh(b, t));
    b.apply(new HostRule("*", 20, 3), T0 + 2);
    assertThat(b.tokensAt(t)).isEqualTo(fresh(b, t));
    b.recover(1, t + 1_000_000_000_000L);
    assertThat(b.tokensAt(t + 2_000_000_000_000L)).isEqualTo(3.0);
  }

  /** What {@link HostBucket#tokensAt} must answer, computed from the bucket's fields directly. */
  private static double fresh(HostBucket b, long now) {
    long elapsed = now - b.refillFrom;
    return elapsed <= 0 ? b.tokens : Math.min(b.rule.burst(), b.tokens + elapsed * b.rate / 1e9);
  }
}
