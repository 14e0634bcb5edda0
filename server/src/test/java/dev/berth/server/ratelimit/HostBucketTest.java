package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.function.LongPredicate;
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

    // That the search gets here in a few dozen evaluations, not a nanosecond walk, is checked by
    // counting them (least_guessFarOff_fewEvaluations), not by a clock.
    long wait = b.nanosUntilTokens(now, 1_000_000);

    assertThat(wait).isBetween(900_000_000_000_000L, 1_100_000_000_000_000L);
    assertFirstInstantWith(b, now + wait, 1_000_000);
  }

  /**
   * The search that corrects a wait's estimate finds the exact first instant in a few dozen
   * evaluations of the bucket's arithmetic, from either side of a guess 6e8 ns off (as above), or
   * 1e15 ns off: never one evaluation per nanosecond, which under the broker's lock was seconds.
   * Counted, so that no clock, and no loaded machine, decides the test.
   */
  @Test
  void least_guessFarOff_fewEvaluations() throws Exception {
    long[][] cases = {
      {1_000_000_000L, 1_000_000_000L + 600_000_000L}, // the guess is short
      {1_000_000_000L + 600_000_000L, 1_000_000_000L}, // the guess is long
      {0, 1_000_000_000_000_000L},
      {1_000_000_000_000_000L, 1},
      {219, 219},
    };
    for (long[] c : cases) {
      long guess = c[0];
      long first = c[1];
      // Twice the bits of the distance (out in doubling steps, then halving back), and a few more.
      int most = 2 * (64 - Long.numberOfLeadingZeros(Math.abs(first - guess))) + 3;
      int[] evaluations = {0};

      long found =
          least(
              guess,
              d -> {
                // Stops a walk at once rather than letting it run for days.
                if (++evaluations[0] > most) {
                  throw new AssertionError(
                      "more than " + most + " evaluations from guess " + guess + " to " + first);
                }
                return d >= first;
              });

      assertThat(found).as("guess %d, first %d", guess, first).isEqualTo(first);
    }
  }

  /** HostBucket's private search: the one place where a wait's estimate is corrected. */
  private static long least(long guess, LongPredicate reached) throws ReflectiveOperationException {
    Method least = HostBucket.class.getDeclaredMethod("least", long.class, LongPredicate.class);
    least.setAccessible(true);
    try {
      return (long) least.invoke(null, guess, reached);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof AssertionError failed) {
        throw failed;
      }
      throw e;
    }
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
