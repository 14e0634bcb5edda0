package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The token bucket itself: refill, burst, exact waits, patterns and bounded memory. */
class HostRateLimiterTest {
  private static final long T0 = 1_000_000_000L;
  private static final long MS = 1_000_000L;
  private static final long S = 1_000_000_000L;

  private final HostRateLimiter limiter = new HostRateLimiter(RateLimitConfig.defaults());

  @Test
  void nanosUntilToken_unknownHost_isZeroAndCreatesNoBucket() {
    assertThat(limiter.nanosUntilToken("example.com", T0)).isZero();
    assertThat(limiter.size()).isZero();
  }

  @Test
  void nanosUntilTaken_tokensTakenOneAfterAnotherByTheWaitersAhead() {
    // Unknown: a full bucket of 4 at 2/s, and no bucket made for asking.
    assertThat(limiter.nanosUntilTaken("a.example", 3, 1, T0)).isZero();
    assertThat(limiter.nanosUntilTaken("a.example", 5, 1, T0)).isEqualTo(S);
    assertThat(limiter.size()).isZero();

    drain("a.example", T0, 4);
    assertThat(limiter.nanosUntilTaken("a.example", 0, 1, T0))
        .isEqualTo(limiter.nanosUntilToken("a.example", T0))
        .isEqualTo(500 * MS);
    assertThat(limiter.nanosUntilTaken("a.example", 2, 1, T0)).isEqualTo(1_500 * MS);
    assertThat(limiter.nanosUntilTaken("a.example", 2, 2, T0 + 250 * MS)).isEqualTo(1_750 * MS);
  }

  @Test
  void nanosUntilTaken_pausedHost_countsFromThePauseEnd() {
    drain("a.example", T0, 4);
    limiter.onOutcome("a.example", 429, 3 * S, false, T0);

    long first = limiter.nanosUntilTaken("a.example", 0, 1, T0);
    assertThat(first).isEqualTo(limiter.nanosUntilToken("a.example", T0)).isGreaterThan(3 * S);
    // Each waiter ahead adds one token's refill at the lowered rate (half of 2/s).
    assertThat(limiter.nanosUntilTaken("a.example", 1, 1, T0)).isEqualTo(first + S);
  }

  /**
   * A broker that starts to lead: known and unknown hosts alike start with no token and refill at
   * their rate, so no host gets a second burst across the change of leader.
   */
  @Test
  void startEmpty_everyHostStartsWithNoTokenAndRefillsAtItsRate() {
    drain("a.example", T0, 2);
    long t = T0 + 10 * MS;

    limiter.startEmpty(t);

    assertThat(limiter.nanosUntilToken("a.example", t)).isEqualTo(500 * MS);
    assertThat(limiter.nanosUntilToken("b.example", t)).isEqualTo(500 * MS);
    assertThat(limiter.nanosUntilToken("c.example", t + S)).isZero();
    drain("c.example", t + S, 2); // two tokens after one second at 2/s, not the burst of 4
    assertThat(limiter.nanosUntilToken("c.example", t + S)).isEqualTo(500 * MS);
    int buckets = limiter.size();
    // First seen once a whole burst had time to refill: full, and it needs no bucket.
    assertThat(limiter.nanosUntilToken("d.example", t + 2 * S)).isZero();
    assertThat(limiter.size()).isEqualTo(buckets);
  }

  /**
   * The emptied start ends once the slowest rule's burst has refilled (here 4 tokens at 0.5/s: 8
   * s), not at the default rule's (2 s): before that a host of the slow rule still starts short.
   */
  @Test
  void startEmpty_endsOnceTheSlowestRuleHasRefilled() {
    HostRateLimiter slow =
        new HostRateLimiter(RateLimitConfig.newBuilder().host("slow.example", 0.5, 4).build());
    slow.startEmpty(T0);

    assertThat(slow.nanosUntilToken("a.example", T0 + 3 * S)).isZero();
    assertThat(slow.emptyAtStart()).isTrue();
    slow.consume("slow.example", T0 + 3 * S); // 1.5 tokens refilled, one taken
    assertThat(slow.nanosUntilToken("slow.example", T0 + 3 * S)).isEqualTo(S);

    assertThat(slow.nanosUntilToken("b.example", T0 + 8 * S)).isZero();
    assertThat(slow.emptyAtStart()).isFalse();
    int buckets = slow.size();
    assertThat(slow.nanosUntilToken("other.slow.example", T0 + 8 * S)).isZero();
    assertThat(slow.size()).isEqualTo(buckets);
  }

  @Test
  void consume_wholeBurst_thenWaitIsOneTokenAtTheRate() {
    for (int i = 0; i < 4; i++) {
      assertThat(limiter.nanosUntilToken("example.com", T0)).isZero();
      limiter.consume("example.com", T0);
    }

    assertThat(limiter.nanosUntilToken("example.com", T0)).isEqualTo(500 * MS);
    assertThat(limiter.size()).isEqualTo(1);
  }

  @Test
  void nanosUntilToken_afterPartialRefill_countsOnlyTheRest() {
    drain("example.com", T0, 4);

    assertThat(limiter.nanosUntilToken("example.com", T0 + 340 * MS)).isEqualTo(160 * MS);
  }

  @Test
  void nanosUntilToken_longIdle_refillCappedAtBurst() {
    drain("example.com", T0, 4);
    long later = T0 + Duration.ofMinutes(5).toNanos();

    drain("example.com", later, 4);

    assertThat(limiter.nanosUntilToken("example.com", later)).isEqualTo(500 * MS);
  }

  @Test
  void nanosUntilToken_waitExactlyRetryAfter_findsTokenAndOneNanoLessDoesNot() {
    // Rates whose token interval is not a whole number of nanoseconds, and ragged check times.
    // For 1e9/218 from an empty bucket a plain ceil((1 - tokens) * 1e9 / rate) is one nano short;
    // for 1/3 and 2/7 with some fractional token counts it is one nano long.
    double[] rates = {
      3,
      7,
      0.3,
      1.0 / 3,
      2.0 / 7,
      1.0 / 7,
      0.001,
      13.7,
      1e9 / 7,
      1e9 / 218,
      1e9 / 365,
      1e9 / 743,
      123_456.789,
      0.05
    };
    SplittableRandom random = new SplittableRandom(42);
    for (double rate : rates) {
      HostRateLimiter l =
          new HostRateLimiter(RateLimitConfig.newBuilder().defaultRate(rate).build());
      long now = T0;
      for (int round = 0; round < 2_000; round++) {
        long wait = l.nanosUntilToken("h", now);
        if (wait > 0) {
          assertThat(l.nanosUntilToken("h", now + wait - 1)).as("rate %s", rate).isPositive();
          assertThat(l.nanosUntilToken("h", now + wait)).as("rate %s", rate).isZero();
          now += wait;
        }
        l.consume("h", now);
        now += random.nextLong(0, (long) (2e9 / rate) + 2);
      }
    }
  }

  @Test
  void nanosUntilToken_manyChecksInBetween_doNotMoveTheAnswer() {
    HostRateLimiter l = new HostRateLimiter(RateLimitConfig.newBuilder().defaultRate(3).build());
    drain(l, "h", T0, 4);
    long wait = l.nanosUntilToken("h", T0);

    for (long t = T0; t < T0 + wait; t += 7_777_777L) {
      assertThat(l.nanosUntilToken("h", t)).isEqualTo(T0 + wait - t);
    }

    assertThat(l.nanosUntilToken("h", T0 + wait - 1)).isEqualTo(1);
    assertThat(l.nanosUntilToken("h", T0 + wait)).isZero();
  }

  @Test
  void nanosUntilToken_repeatedChecks_consumeNothing() {
    limiter.consume("example.com", T0);
    for (int i = 0; i < 10_000; i++) {
      assertThat(limiter.nanosUntilToken("example.com", T0)).isZero();
    }

    drain("example.com", T0, 3);

    assertThat(limiter.nanosUntilToken("example.com", T0)).isPositive();
  }

  @Test
  void consume_withoutToken_putsHostInDebt() {
    drain("example.com", T0, 4);

    limiter.consume("example.com", T0); // a caller that did not check

    assertThat(limiter.nanosUntilToken("example.com", T0)).isEqualTo(S);
  }

  @Test
  void consume_hostsAreIndependent() {
    drain("a.com", T0, 4);

    assertThat(limiter.nanosUntilToken("b.com", T0)).isZero();
    assertThat(limiter.nanosUntilToken("a.com", T0)).isPositive();
  }

  @Test
  void consume_patternOverrides_mostSpecificRuleDecides() {
    HostRateLimiter l =
        new HostRateLimiter(
            RateLimitConfig.newBuilder()
                .host("*.example.com", 10, 1)
                .host("api.example.com", 1, 2)
                .build());

    drain(l, "www.example.com", T0, 1);
    drain(l, "api.example.com", T0, 2);
    drain(l, "other.org", T0, 4);

    assertThat(l.nanosUntilToken("www.example.com", T0)).isEqualTo(100 * MS);
    assertThat(l.nanosUntilToken("api.example.com", T0)).isEqualTo(S);
    assertThat(l.nanosUntilToken("other.org", T0)).isEqualTo(500 * MS);
    assertThat(l.describe("www.example.com", T0))
        .isEqualTo("host www.example.com (*.example.com): 10.0/s, next token in 100ms");
    assertThat(l.describe("other.org", T0)).isEqualTo("host other.org: 2.0/s, next token in 500ms");
    // A rule for the host itself is not named twice: its key is the refusal's rule.
    assertThat(l.describe("api.example.com", T0))
        .isEqualTo("host api.example.com: 1.0/s, next token in 1.0s");
  }

  @Test
  void describe_tokenAvailable_saysHowMany() {
    limiter.consume("example.com", T0);

    assertThat(limiter.describe("example.com", T0))
        .isEqualTo("host example.com: 2.0/s, 3.0 of 4 tokens");
    assertThat(limiter.describe("unseen.com", T0))
        .isEqualTo("host unseen.com: 2.0/s, 4 of 4 tokens");
  }

  @Test
  void consume_millionDistinctHosts_sizeNeverExceedsMaxHosts() {
    int max = limiter.config().maxHosts();
    long now = T0;
    for (int i = 0; i < 1_000_000; i++) {
      String host = "h" + i + ".example";
      assertThat(limiter.nanosUntilToken(host, now)).isZero();
      limiter.consume(host, now);
      if (limiter.size() > max) {
        throw new AssertionError("size " + limiter.size() + " > " + max + " after host " + i);
      }
      now += 1_000;
    }

    assertThat(limiter.size()).isEqualTo(max);
    // The most recent hosts are still tracked; the oldest were forgotten.
    assertThat(limiter.describe("h999999.example", now)).contains("3.0 of 4 tokens");
    assertThat(limiter.describe("h0.example", now)).contains("4 of 4 tokens");
  }

  @Test
  void consume_overMaxHosts_forgetsLeastRecentlyUsed() {
    HostRateLimiter l = new HostRateLimiter(RateLimitConfig.newBuilder().maxHosts(2).build());
    drain(l, "a.com", T0, 4);
    drain(l, "b.com", T0, 4);
    l.nanosUntilToken("a.com", T0 + 1); // a check is a use: b.com is now the eldest

    l.consume("c.com", T0 + 2);

    assertThat(l.size()).isEqualTo(2);
    assertThat(l.nanosUntilToken("a.com", T0 + 2)).isPositive();
    // b.com was forgotten and starts again with a full burst (documented trade-off).
    assertThat(l.nanosUntilToken("b.com", T0 + 2)).isZero();
  }

  @Test
  void consume_overMaxHosts_repeatedUseOfOneHostThenAnother_forgetsTheOneUsedBefore() {
    HostRateLimiter l = new HostRateLimiter(RateLimitConfig.newBuilder().maxHosts(2).build());
    drain(l, "b.com", T0, 4);
    drain(l, "a.com", T0, 4); // a.com used again and again: the newest
    l.nanosUntilToken("x.com", T0 + 1); // a host without a bucket changes no order
    l.nanosUntilToken("a.com", T0 + 1);
    l.ruleKey("b.com"); // a rule lookup is a use too: now a.com is the eldest

    l.consume("c.com", T0 + 2);

    assertThat(l.size()).isEqualTo(2);
    assertThat(l.nanosUntilToken("b.com", T0 + 2)).isPositive();
    assertThat(l.nanosUntilToken("a.com", T0 + 2)).isZero(); // forgotten: a full burst again
  }

  @Test
  void evictIdle_idleFullBuckets_forgotten() {
    limiter.consume("a.com", T0);
    limiter.consume("b.com", T0 + 5 * S);
    long idle = limiter.config().idleEviction().toNanos();

    limiter.evictIdle(T0 + idle - 1);
    assertThat(limiter.size()).isEqualTo(2);

    limiter.evictIdle(T0 + idle);
    assertThat(limiter.size()).isEqualTo(1);

    limiter.evictIdle(T0 + 5 * S + idle);
    assertThat(limiter.size()).isZero();
  }

  @Test
  void evictIdle_recentlyCheckedHost_kept() {
    limiter.consume("a.com", T0);
    long idle = limiter.config().idleEviction().toNanos();
    limiter.nanosUntilToken("a.com", T0 + idle / 2);

    limiter.evictIdle(T0 + idle);

    assertThat(limiter.size()).isEqualTo(1);
  }

  @Test
  void evictIdle_bucketNotYetRefilled_keptUntilFull() {
    // 0.001/s refills a token in 1000 s, longer than the 10 min idle period.
    HostRateLimiter l =
        new HostRateLimiter(RateLimitConfig.newBuilder().defaultRate(0.001).build());
    l.consume("slow.com", T0);
    long idle = l.config().idleEviction().toNanos();

    l.evictIdle(T0 + idle);
    assertThat(l.size()).isEqualTo(1);

    l.evictIdle(T0 + 2 * idle);
    assertThat(l.size()).isZero();
  }

  @Test
  void consume_newHost_evictsIdleOnesOnTheWay() {
    limiter.consume("a.com", T0);
    long idle = limiter.config().idleEviction().toNanos();

    limiter.consume("b.com", T0 + idle);

    assertThat(limiter.size()).isEqualTo(1);
  }

  private void drain(String host, long now, int n) {
    drain(limiter, host, now, n);
  }

  private static void drain(HostRateLimiter l, String host, long now, int n) {
    for (int i = 0; i < n; i++) {
      assertThat(l.nanosUntilToken(host, now)).as("token %d of %s", i, host).isZero();
      l.consume(host, now);
    }
  }
}
