package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link HostRateLimiter} against a simple reference model: an access-ordered map of buckets with
 * no remembered last bucket, and a wait found by binary search for the first nanosecond at which
 * the plain refill formula reaches the count, with no shortcut; and {@link HostBucket#tokensAt}'s
 * shortcut for a bucket refilled after one grant against that formula. Any sequence of checks,
 * grants, outcomes and rule lookups on a few hosts (more than {@code max_hosts}, so the least
 * recently used are forgotten) gets the same answers from both, to the nanosecond.
 */
class HostRateLimiterProperties {
  private static final long T0 = 1_000_000_000L;
  private static final List<String> HOSTS =
      List.of("a.com", "b.com", "www.slow.org", "api.slow.org", "c.com");

  /** One step: what to do, to which host, with how many tokens, after how long. */
  record Op(int what, int host, int count, long afterNanos, int status) {}

  @Property(tries = 1000)
  void anyOperations_sameAnswersAsReferenceModel(
      @ForAll("configs") RateLimitConfig config, @ForAll("operations") List<Op> ops) {
    HostRateLimiter limiter = new HostRateLimiter(config);
    Reference reference = new Reference(config);
    long now = T0;
    for (Op op : ops) {
      now += op.afterNanos();
      String host = HOSTS.get(op.host());
      switch (op.what()) {
        case 0, 1, 2 ->
            assertThat(limiter.nanosUntilTokens(host, op.count(), now))
                .as("wait of %s for %d at %d", host, op.count(), now)
                .isEqualTo(reference.wait(host, op.count(), now));
        case 3, 4 -> {
          limiter.consume(host, now);
          reference.consume(host, now);
        }
        case 5 -> {
          limiter.onOutcome(host, op.status(), 0, false, now);
          reference.outcome(host, op.status(), now);
        }
        default -> assertThat(limiter.ruleKey(host)).isEqualTo(reference.ruleKey(host));
      }
      assertThat(limiter.size()).isEqualTo(reference.buckets.size());
    }
    for (String host : HOSTS) {
      assertThat(limiter.nanosUntilToken(host, now)).isEqualTo(reference.wait(host, 1, now));
    }
  }

  /**
   * A bucket granted again and again, at intervals around the time one token takes (where its
   * full-again shortcut starts to apply), answers exactly what the formula does at every instant.
   */
  @Property(tries = 2000)
  void tokensAt_afterGrantsAtAnyPace_equalsPlainFormula(
      @ForAll("rates") double rate,
      @ForAll @net.jqwik.api.constraints.IntRange(min = 1, max = 1_000_000) int burst,
      @ForAll("offsets") List<Long> offsets) {
    HostBucket b = new HostBucket("h", new HostRule("*", rate, burst), T0);
    long perToken = (long) Math.min(1e15, Math.ceil(1e9 / rate));
    long now = T0;
    for (long offset : offsets) {
      long t = Math.max(now, now + perToken + offset);
      for (long probe = t - 2; probe <= t + 2; probe++) {
        assertThat(b.tokensAt(probe))
            .as("tokens at %d after %d", probe, now)
            .isEqualTo(plainTokensAt(b, probe));
      }
      now = t;
      b.consume(now);
    }
  }

  /**
   * The shortcut stays exact when the rate or the rule changes under it: a bucket granted,
   * throttled (429), recovering and given new rules in any order answers what the formula does at
   * every instant around each step.
   */
  @Property(tries = 2000)
  void tokensAt_throughThrottlesRecoveriesAndNewRules_equalsPlainFormula(
      @ForAll("rates") double rate,
      @ForAll @net.jqwik.api.constraints.IntRange(min = 1, max = 1_000) int burst,
      @ForAll("rateSteps") List<Integer> steps,
      @ForAll("offsets") List<Long> offsets) {
    RateLimitConfig config = RateLimitConfig.newBuilder().build();
    HostBucket b = new HostBucket("h", new HostRule("*", rate, burst), T0);
    long now = T0;
    for (int i = 0; i < steps.size(); i++) {
      long perToken = (long) Math.min(1e15, Math.ceil(1e9 / b.rate));
      long offset = offsets.isEmpty() ? 0 : offsets.get(i % offsets.size());
      now = Math.max(now, now + perToken + offset);
      switch (steps.get(i)) {
        case 0 -> b.throttle(429, config.defaultPause().toNanos(), now, false, false, now, config);
        case 1 -> b.recover(b.rate, now);
        case 2 -> b.apply(new HostRule("*", rate * 3, burst + 1), now);
        case 3 -> b.apply(new HostRule("*", rate, burst), now);
        default -> b.consume(Math.max(now, b.refillFrom));
      }
      long at = Math.max(now, b.refillFrom) + perToken;
      for (long probe = at - 2; probe <= at + 2; probe++) {
        assertThat(b.tokensAt(probe))
            .as("tokens at %d after step %d", probe, i)
            .isEqualTo(plainTokensAt(b, probe));
      }
    }
  }

  @Provide
  Arbitrary<List<Integer>> rateSteps() {
    return Arbitraries.integers().between(0, 6).list().ofMaxSize(30);
  }

  @Provide
  Arbitrary<Double> rates() {
    return Arbitraries.oneOf(
        Arbitraries.doubles().between(0.05, 1e9),
        Arbitraries.doubles().between(0.05, 100),
        Arbitraries.integers().between(1, 100_000).map(n -> 1e9 / n),
        Arbitraries.of(1.0, 2.0, 3.0, 7.0, 1e9, 1e9 / 218, 0.1, 1e-6));
  }

  @Provide
  Arbitrary<List<Long>> offsets() {
    return Arbitraries.oneOf(
            Arbitraries.longs().between(-3, 3),
            Arbitraries.longs().between(-1_000_000, 1_000_000),
            Arbitraries.just(0L))
        .list()
        .ofMaxSize(20);
  }

  /** The refill formula with no shortcut: what {@link HostBucket#tokensAt} must answer. */
  static double plainTokensAt(HostBucket b, long now) {
    long elapsed = now - b.refillFrom;
    if (elapsed <= 0) {
      return b.tokens;
    }
    return Math.min(b.rule.burst(), b.tokens + elapsed * b.rate / 1e9);
  }

  @Provide
  Arbitrary<RateLimitConfig> configs() {
    return Combinators.combine(
            Arbitraries.doubles().between(0.5, 50),
            Arbitraries.integers().between(1, 4),
            Arbitraries.doubles().between(0.1, 5),
            Arbitraries.integers().between(1, 3),
            Arbitraries.integers().between(1, 6))
        .as(
            (rate, burst, slowRate, slowBurst, maxHosts) ->
                RateLimitConfig.newBuilder()
                    .defaultRate(rate)
                    .defaultBurst(burst)
                    .host("*.slow.org", slowRate, slowBurst)
                    .maxHosts(maxHosts)
                    .build());
  }

  @Provide
  Arbitrary<List<Op>> operations() {
    Arbitrary<Op> op =
        Combinators.combine(
                Arbitraries.integers().between(0, 6),
                Arbitraries.integers().between(0, HOSTS.size() - 1),
                Arbitraries.integers().between(1, 3),
                Arbitraries.oneOf(
                    Arbitraries.just(0L),
                    Arbitraries.longs().between(1, 1_000),
                    Arbitraries.longs().between(1, 500_000_000L)),
                Arbitraries.of(200, 429, 503, 404))
            .as(Op::new);
    return op.list().ofMaxSize(120);
  }

  /** The plain model: every use a map lookup, every wait searched for with no shortcut. */
  private static final class Reference {
    final RateLimitConfig config;
    final Map<String, HostBucket> buckets;

    Reference(RateLimitConfig config) {
      this.config = config;
      this.buckets =
          new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, HostBucket> eldest) {
              return size() > config.maxHosts();
            }
          };
    }

    long wait(String host, int count, long now) {
      HostBucket b = buckets.get(host);
      if (b == null) {
        return count <= config.ruleFor(host).burst() ? 0 : HostBucket.LONGEST_WAIT_NANOS;
      }
      if (count > b.rule.burst()) {
        return HostBucket.LONGEST_WAIT_NANOS;
      }
      long from = b.paused(now) ? b.pausedUntil : now;
      // tokensAt never falls as time goes on: the first instant it reaches count, by bisection.
      long lo = from;
      long hi = from + HostBucket.LONGEST_WAIT_NANOS;
      if (plainTokensAt(b, hi) < count) {
        return HostBucket.LONGEST_WAIT_NANOS;
      }
      while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (plainTokensAt(b, mid) >= count) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      return lo - now;
    }

    void consume(String host, long now) {
      HostBucket b = buckets.get(host);
      if (b == null) {
        b = new HostBucket(host, config.ruleFor(host), now);
        buckets.put(host, b);
      }
      b.consume(now);
    }

    void outcome(String host, int status, long now) {
      HostBucket b = buckets.get(host);
      if (status == 429 || status == 503) {
        if (b == null) {
          // The site's answer slows its host even when the host has no bucket yet.
          b = new HostBucket(host, config.ruleFor(host), now);
          buckets.put(host, b);
        }
        b.throttle(status, config.defaultPause().toNanos(), now, false, false, now, config);
      } else if (b != null && status >= 200 && status < 400) {
        b.recover(config.recoveryStepFor(b.rule.rate()), now);
      }
    }

    String ruleKey(String host) {
      HostBucket b = buckets.get(host);
      HostRule rule = b == null ? config.ruleFor(host) : b.rule;
      return rule.isDefault()
          ? RateLimitConfig.Keys.DEFAULT_RATE
          : RateLimitConfig.Keys.HOSTS + "['" + rule.pattern() + "'].rate";
    }
  }
}
