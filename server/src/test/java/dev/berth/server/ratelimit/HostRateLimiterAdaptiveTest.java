package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a host's rate follows the outcomes workers report, and live configuration changes. */
class HostRateLimiterAdaptiveTest {
  private static final long T0 = 1_000_000_000L;
  private static final long MS = 1_000_000L;
  private static final long S = 1_000_000_000L;
  private static final String HOST = "example.com";

  private final HostRateLimiter limiter = new HostRateLimiter(RateLimitConfig.defaults());

  @Test
  void onOutcome_429WithoutRetryAfter_halvesRateAndPausesForDefaultPause() {
    limiter.consume(HOST, T0);

    limiter.onOutcome(HOST, 429, 0, false, T0);

    assertThat(rate(T0)).isEqualTo(1.0);
    assertThat(limiter.nanosUntilToken(HOST, T0)).isEqualTo(5 * S);
    assertThat(limiter.nanosUntilToken(HOST, T0 + 5 * S - 1)).isEqualTo(1);
    assertThat(limiter.describe(HOST, T0 + 800 * MS))
        .isEqualTo("host example.com: paused 4.2s after HTTP 429 (rate 1.0/s of 2.0/s)");
  }

  @Test
  void onOutcome_afterPause_oneRequestGoesThenTheLoweredRatePaces() {
    limiter.consume(HOST, T0);
    limiter.onOutcome(HOST, 429, 0, false, T0);
    long end = T0 + 5 * S;

    assertThat(limiter.nanosUntilToken(HOST, end)).isZero();
    limiter.consume(HOST, end);

    // 1.0/s now, and the burst saved before the 429 is gone.
    assertThat(limiter.nanosUntilToken(HOST, end)).isEqualTo(S);
    assertThat(limiter.describe(HOST, end))
        .isEqualTo("host example.com: 1.0/s of 2.0/s after HTTP 429, next token in 1.0s");
  }

  @Test
  void onOutcome_503WithSiteRetryAfter_pausesForIt() {
    limiter.consume(HOST, T0);

    limiter.onOutcome(HOST, 503, 30 * S, false, T0);

    assertThat(rate(T0)).isEqualTo(1.0);
    assertThat(limiter.nanosUntilToken(HOST, T0)).isEqualTo(30 * S);
    assertThat(limiter.nanosUntilToken(HOST, T0 + 30 * S)).isZero();
  }

  @Test
  void onOutcome_siteRetryAfterBeyondMaxPause_isCapped() {
    limiter.consume(HOST, T0);

    limiter.onOutcome(HOST, 429, Duration.ofHours(3).toNanos(), false, T0);

    assertThat(limiter.nanosUntilToken(HOST, T0)).isEqualTo(Duration.ofMinutes(10).toNanos());
    assertThat(status(T0).reason()).contains("site Retry-After capped at 10m00s");
  }

  @Test
  void onOutcome_throttlesWhilePaused_lowerOnceButExtendThePause() {
    limiter.consume(HOST, T0);
    limiter.onOutcome(HOST, 429, 0, false, T0);

    limiter.onOutcome(HOST, 429, 0, false, T0 + S);
    limiter.onOutcome(HOST, 429, 2 * S, false, T0 + 2 * S); // ends before the current pause

    assertThat(rate(T0 + 2 * S)).isEqualTo(1.0);
    assertThat(limiter.nanosUntilToken(HOST, T0 + 2 * S)).isEqualTo(4 * S);
  }

  @Test
  void onOutcome_repeatedIncidents_rateStopsAtMinRate() {
    limiter.consume(HOST, T0);
    long now = T0;
    for (int i = 0; i < 20; i++) {
      limiter.onOutcome(HOST, 429, 0, false, now);
      now += 5 * S; // each after the previous pause ended
    }

    assertThat(rate(now)).isEqualTo(0.05);
  }

  @Test
  void onOutcome_hostConfiguredBelowMinRate_floorIsItsOwnRate() {
    HostRateLimiter l =
        new HostRateLimiter(RateLimitConfig.newBuilder().host("slow.org", 0.01, 1).build());
    l.consume("slow.org", T0);

    l.onOutcome("slow.org", 429, 0, false, T0);

    assertThat(l.hottest(1, T0).get(0).ratePerSecond()).isEqualTo(0.01);
  }

  @Test
  void onOutcome_successes_restoreAdditivelyToExactlyTheConfiguredRate() {
    limiter.consume(HOST, T0);
    limiter.onOutcome(HOST, 429, 0, false, T0);
    long now = T0 + 5 * S;

    limiter.onOutcome(HOST, 200, 0, true, now);
    assertThat(rate(now)).isCloseTo(1.2, offset(1e-12));
    for (int i = 0; i < 3; i++) {
      limiter.onOutcome(HOST, 204, 0, true, now);
    }
    assertThat(rate(now)).isCloseTo(1.8, offset(1e-12));
    assertThat(status(now).reason()).contains("recovering +0.2/s per success");

    limiter.onOutcome(HOST, 301, 0, false, now); // a 3xx counts as success
    assertThat(rate(now)).isEqualTo(2.0); // 1.0 + 5 x 0.2, despite floating-point drift
    for (int i = 0; i < 10; i++) {
      limiter.onOutcome(HOST, 200, 0, true, now);
    }
    assertThat(rate(now)).isEqualTo(2.0);
    assertThat(status(now).reason()).isEmpty();
  }

  @Test
  void onOutcome_stepThatDoesNotDivideEvenly_neverOvershoots() {
    HostRateLimiter l =
        new HostRateLimiter(
            RateLimitConfig.newBuilder().defaultRate(0.7).recoveryStep(0.3).build());
    l.consume(HOST, T0);
    l.onOutcome(HOST, 503, 0, false, T0);
    long now = T0 + 5 * S;

    l.onOutcome(HOST, 0, 0, true, now); // 0.35 + 0.3
    l.onOutcome(HOST, 0, 0, true, now); // capped at 0.7

    assertThat(l.hottest(1, now).get(0).ratePerSecond()).isEqualTo(0.7);
  }

  @Test
  void onOutcome_successWhilePaused_doesNotRecover() {
    limiter.consume(HOST, T0);
    limiter.onOutcome(HOST, 429, 0, false, T0);

    limiter.onOutcome(HOST, 200, 0, true, T0 + S);

    assertThat(rate(T0 + S)).isEqualTo(1.0);
  }

  @Test
  void onOutcome_otherFailures_changeNothing() {
    limiter.consume(HOST, T0);

    limiter.onOutcome(HOST, 500, 0, false, T0);
    limiter.onOutcome(HOST, 404, 0, false, T0);
    limiter.onOutcome(HOST, 0, 0, false, T0);

    assertThat(rate(T0)).isEqualTo(2.0);
    assertThat(limiter.nanosUntilToken(HOST, T0)).isZero();
  }

  @Test
  void onOutcome_429ForAHostWithoutABucket_createsItAndThrottles() {
    // The host's bucket went (eviction, restart, new leader) while its lease was out.
    limiter.onOutcome(HOST, 429, 10 * S, false, T0);

    assertThat(limiter.size()).isEqualTo(1);
    assertThat(rate(T0)).isEqualTo(1.0);
    assertThat(limiter.nanosUntilToken(HOST, T0)).isEqualTo(10 * S);
    assertThat(limiter.nanosUntilTokens(HOST, 2, T0 + 10 * S)).isEqualTo(S);
  }

  @Test
  void carried_pauseStillRunning_pausesForWhatIsLeftAndLowersTheRate() {
    limiter.carried(HOST, 429, 30 * S, 10 * S, T0);
    limiter.carried("other.com", 503, 0, 2 * S, T0);

    assertThat(limiter.nanosUntilToken(HOST, T0)).isEqualTo(20 * S);
    assertThat(rate(T0)).isEqualTo(1.0);
    // Without a Retry-After the pause was default_pause (5s), 2s of which are over.
    assertThat(limiter.nanosUntilToken("other.com", T0)).isEqualTo(3 * S);
  }

  @Test
  void carried_pauseOver_lowersTheRateOnceWithoutPausingAgain() {
    limiter.carried(HOST, 429, 30 * S, 60 * S, T0);
    limiter.carried("other.com", 429, 0, 5 * S, T0);

    assertThat(limiter.nanosUntilToken(HOST, T0)).isZero();
    assertThat(limiter.nanosUntilToken("other.com", T0)).isZero();
    assertThat(rate(T0)).isEqualTo(1.0);
    assertThat(limiter.describe(HOST, T0))
        .isEqualTo("host example.com: 1.0/s of 2.0/s after HTTP 429, 1.0 of 4 tokens");
  }

  @Test
  void onOutcome_successOrOtherFailureForAHostWithoutABucket_createsNothing() {
    limiter.onOutcome(HOST, 200, 0, true, T0);
    limiter.onOutcome(HOST, 500, 0, false, T0);

    assertThat(limiter.size()).isZero();
    assertThat(limiter.nanosUntilToken(HOST, T0)).isZero();
  }

  @Test
  void evictIdle_slowedHost_keptUntilRecovered() {
    limiter.consume(HOST, T0);
    limiter.onOutcome(HOST, 429, 0, false, T0);
    long idle = limiter.config().idleEviction().toNanos();

    limiter.evictIdle(T0 + idle);
    assertThat(limiter.size()).isEqualTo(1);

    for (int i = 0; i < 5; i++) {
      limiter.onOutcome(HOST, 200, 0, true, T0 + idle + 1);
    }
    limiter.evictIdle(T0 + 2 * idle + 1);
    assertThat(limiter.size()).isZero();
  }

  @Test
  void hottest_orderedByRefusalsThenRecentUse() {
    limiter.consume("quiet.com", T0);
    limiter.consume("recent.com", T0 + S);
    limiter.consume("busy.com", T0);
    limiter.refused("busy.com", T0);
    limiter.refused("busy.com", T0);
    limiter.consume("throttled.com", T0);
    limiter.onOutcome("throttled.com", 429, 0, false, T0);
    limiter.refused("throttled.com", T0);

    List<HostStatus> hot = limiter.hottest(3, T0 + 2 * S);

    assertThat(hot)
        .extracting(HostStatus::host)
        .containsExactly("busy.com", "throttled.com", "recent.com");
    assertThat(hot.get(0).reason()).isEmpty();
    assertThat(hot.get(0).refusals()).isEqualTo(2);
    assertThat(hot.get(1).ratePerSecond()).isEqualTo(1.0);
    assertThat(hot.get(1).configuredRate()).isEqualTo(2.0);
    assertThat(hot.get(1).reason())
        .isEqualTo(
            "HTTP 429 2.0s ago, paused 3.0s more (default pause 5.0s);"
                + " rate 1.0/s of 2.0/s, recovering +0.2/s per success");
    assertThat(limiter.hottest(0, T0)).isEmpty();
  }

  @Test
  void update_newRates_applyToExistingBucketsAtOnce() {
    drain(HOST, T0, 4);
    assertThat(limiter.nanosUntilToken(HOST, T0)).isEqualTo(500 * MS);

    limiter.update(RateLimitConfig.newBuilder().defaultRate(10).defaultBurst(4).build(), T0);

    assertThat(limiter.nanosUntilToken(HOST, T0)).isEqualTo(100 * MS);
  }

  @Test
  void update_smallerBurst_capsSavedTokens() {
    limiter.consume(HOST, T0); // 3 left

    limiter.update(RateLimitConfig.newBuilder().defaultBurst(1).build(), T0);

    drain(HOST, T0, 1);
    assertThat(limiter.nanosUntilToken(HOST, T0)).isPositive();
  }

  @Test
  void update_newPatternOverride_takesOverExistingHost() {
    drain("www.example.com", T0, 4);

    limiter.update(RateLimitConfig.newBuilder().host("*.example.com", 1, 4).build(), T0);

    assertThat(limiter.nanosUntilToken("www.example.com", T0)).isEqualTo(S);
    assertThat(limiter.describe("www.example.com", T0)).contains("(*.example.com)");
  }

  @Test
  void update_loweredRate_keptButCappedAtTheNewRate() {
    limiter.consume("a.com", T0);
    limiter.onOutcome("a.com", 429, 0, false, T0); // 1.0 of 2.0
    limiter.consume("b.com", T0);
    limiter.onOutcome("b.com", 429, 0, false, T0); // 1.0 of 2.0

    limiter.update(RateLimitConfig.newBuilder().defaultRate(10).host("b.com", 0.5).build(), T0 + S);

    assertThat(rateOf("a.com", T0 + S)).isEqualTo(1.0); // still lowered, recovers toward 10
    assertThat(rateOf("b.com", T0 + S)).isEqualTo(0.5); // capped at its new rate
    assertThat(limiter.nanosUntilToken("a.com", T0 + S)).isEqualTo(4 * S); // pause continues
  }

  @Test
  void update_smallerMaxHosts_forgetsLeastRecentlyUsed() {
    for (int i = 0; i < 10; i++) {
      limiter.consume("h" + i + ".com", T0 + i);
    }

    limiter.update(RateLimitConfig.newBuilder().maxHosts(3).build(), T0 + 10);

    assertThat(limiter.size()).isEqualTo(3);
    assertThat(limiter.hottest(10, T0 + 10))
        .extracting(HostStatus::host)
        .containsExactly("h9.com", "h8.com", "h7.com");
  }

  private double rate(long now) {
    return rateOf(HOST, now);
  }

  private double rateOf(String host, long now) {
    return limiter.hottest(limiter.size(), now).stream()
        .filter(s -> s.host().equals(host))
        .findFirst()
        .orElseThrow()
        .ratePerSecond();
  }

  private HostStatus status(long now) {
    return limiter.hottest(1, now).get(0);
  }

  private void drain(String host, long now, int n) {
    for (int i = 0; i < n; i++) {
      assertThat(limiter.nanosUntilToken(host, now)).isZero();
      limiter.consume(host, now);
    }
  }
}
