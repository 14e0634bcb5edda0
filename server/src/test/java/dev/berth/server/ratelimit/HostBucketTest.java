package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
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
    assertFirstInstantWith(b, T0 + wait, 1);
  }

  @Test
  void nanosUntilTokens_tinyRateAndLargeBurst_exactWithoutCountingNanoseconds() {
    // Near a burst of a million a double resolves about 1e-10 of a token, so the first estimate
    // of the wait below is some 6e8 ns off: corrected one nanosecond at a time, seconds of work.
    long now = T0 + 999_900_000L;
    HostBucket b = new HostBucket("h", new HostRule("*", 1.0, 1_000_000), T0);
    b.consume(T0);
    b.apply(new HostRule("*", 1e-10, 1_000_000), now); // a live update: 0.9999 of a token back

    // A guard against the nanosecond walk (seconds under the broker's lock), not a measurement:
    // the search takes microseconds.
    long wait =
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> b.nanosUntilTokens(now, 1_000_000));

    assertThat(wait).isBetween(900_000_000_000_000L, 1_100_000_000_000_000L);
    assertFirstInstantWith(b, now + wait, 1_000_000);
  }

  @Test
  void rateChanged_smallRateAndLargeBurst_refillShortcutStaysExact() {
    // The shortcut's full-again time, found by the same search, starts some 6e5 ns off here.
    HostBucket b = new HostBucket("h", new HostRule("*", 1.01e-7, 1_000_000), T0);
    b.consume(T0);

    assertFirstInstantWith(b, T0 + b.nanosUntilTokens(T0, 1_000_000), 1_000_000);
  }

  /** {@code at} is the first instant {@code b} holds {@code tokens}. */
  private static void assertFirstInstantWith(HostBucket b, long at, double tokens) {
    assertThat(b.tokensAt(at)).isGreaterThanOrEqualTo(tokens);
    assertThat(b.tokensAt(at - 1)).isLessThan(tokens);
  }

  @Test
  void nanosUntilToken_beyondLongestWait_isClamped() {
    HostBucket b = new HostBucket("h", new HostRule("*", 1e-12, 1), T0);
    b.consume(T0);

    assertThat(b.nanosUntilToken(T0)).isEqualTo(HostBucket.LONGEST_WAIT_NANOS);
  }
}
