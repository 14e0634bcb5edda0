package dev.berth.server.ratelimit;

import java.util.function.LongPredicate;

/**
 * One host's token bucket and its adaptive state. Tokens are a pure function of the time asked
 * about ({@link #tokensAt}); only {@link #settle} writes them back, so any number of checks between
 * two grants give the same answers, to the nanosecond. Not thread-safe; owned by {@link
 * HostRateLimiter}.
 */
final class HostBucket {
  /** Waits beyond this (about 115 days) are reported as this, so arithmetic cannot overflow. */
  static final long LONGEST_WAIT_NANOS = 10_000_000_000_000_000L;

  private static final double NANOS_PER_SECOND = 1e9;

  /** A recovered rate within this fraction of the configured one is the configured one. */
  private static final double RECOVERY_SNAP = 1e-9;

  final String host;
  HostRule rule;

  /** The current rate: the rule's, or lower after a 429/503 until successes restore it. */
  double rate;

  /** Tokens at {@link #refillFrom}; below zero only when a caller consumed without a token. */
  double tokens;

  /** Tokens accrue from this instant; it lies in the future while the host is paused. */
  long refillFrom;

  /** Whether {@link #pausedUntil} has ever been set (any long is a valid monotonic instant). */
  boolean pauseSet;

  long pausedUntil;

  /** The last throttling answer (429/503), 0 when none; kept to explain a lowered rate. */
  int throttleStatus;

  long throttledAt;
  long pauseNanos;
  boolean pauseFromSite;
  boolean pauseCapped;

  /** Last grant, for ordering the status by recent use. */
  long lastUsed;

  /** Last access of any kind; orders the least-recently-used list and decides idleness. */
  long lastTouched;

  long refusals;

  HostBucket(String host, HostRule rule, long nowNanos) {
    this.host = host;
    this.rule = rule;
    this.rate = rule.rate();
    this.tokens = rule.burst();
    this.refillFrom = nowNanos;
    this.lastUsed = nowNanos;
    this.lastTouched = nowNanos;
    rateChanged();
  }

  /** The rule's burst, read on every grant (a field of its own saves a load through the rule). */
  private int burst;

  /**
   * The least elapsed time after which a bucket one token short of its burst is full again, by the
   * very arithmetic of {@link #tokensAt}; {@code Long.MAX_VALUE} when that is beyond {@link
   * #LONGEST_WAIT_NANOS}. Kept current by {@link #rateChanged}, so the grant path only reads it.
   */
  private long refillOneNanos;

  /** Tokens available at {@code now}: refilled at the current rate and capped at the burst. */
  double tokensAt(long now) {
    long elapsed = now - refillFrom;
    if (elapsed <= 0) {
      return tokens;
    }
    int burst = this.burst;
    if (tokens == burst - 1 && elapsed >= refillOneNanos) {
      // The common case of a host granted less often than its rate: the last grant took one token
      // from a full bucket, and it is full again. The formula below gives the burst too, since it
      // never falls as time goes on, but with a division.
      return burst;
    }
    return Math.min(burst, tokens + elapsed * rate / NANOS_PER_SECOND);
  }

  /**
   * Recomputes what depends on the rate and the rule ({@link #burst}, {@link #refillOneNanos}):
   * called by every method that changes either, so {@link #tokensAt} never checks them. A division
   * and a few probes, once per change of rate.
   */
  private void rateChanged() {
    burst = rule.burst();
    double from = burst - 1;
    double estimate = Math.ceil(NANOS_PER_SECOND / rate);
    long e;
    if (estimate < LONGEST_WAIT_NANOS) {
      // The estimate may be off either way (by a nanosecond, or by many when a large burst leaves
      // few bits for the fraction): correct it with the formula itself.
      long d =
          least(
              Math.max(1, (long) estimate) - 1,
              x -> from + (x + 1) * rate / NANOS_PER_SECOND >= burst);
      e = d < LONGEST_WAIT_NANOS ? d + 1 : Long.MAX_VALUE;
    } else {
      e = Long.MAX_VALUE;
    }
    refillOneNanos = e;
  }

  boolean paused(long now) {
    return pauseSet && pausedUntil - now > 0;
  }

  /**
   * Nanoseconds from {@code now} until a token is available: 0 when one is, otherwise the least
   * wait after which {@link #tokensAt} reaches 1 (found by estimate, then corrected by evaluating
   * the very function a later check uses, so waiting exactly this long always finds the token).
   */
  long nanosUntilToken(long now) {
    if (tokens >= 1 && !paused(now)) {
      // As in nanosUntilTokens: a token now (and tokens >= 1 implies a burst of at least 1).
      return 0;
    }
    return nanosUntilTokens(now, 1);
  }

  /**
   * Nanoseconds from {@code now} until {@code count} tokens are available at once (a bundle with
   * several leases for this host); {@link #LONGEST_WAIT_NANOS} when the burst is smaller than
   * {@code count}, since they never will be.
   */
  long nanosUntilTokens(long now, int count) {
    if (count > rule.burst()) {
      return LONGEST_WAIT_NANOS;
    }
    boolean paused = paused(now);
    if (!paused && tokens >= count) {
      // What tokensAt(now) would answer, without its division: refilling never lowers the tokens
      // and the cap is at least count, so min(burst, tokens + accrued) >= count too.
      return 0;
    }
    long from = paused ? pausedUntil : now;
    if (tokensAt(from) >= count) {
      return from - now;
    }
    // tokensAt(from) < count <= burst means the cap is not binding, so the line tokens + e * rate
    // holds.
    double estimate = Math.ceil((count - tokens) * NANOS_PER_SECOND / rate);
    if (!(estimate < LONGEST_WAIT_NANOS)) {
      return LONGEST_WAIT_NANOS;
    }
    long guess = Math.max(0, refillFrom + (long) estimate - from);
    long wait = from - now + least(guess, d -> tokensAt(from + d) >= count);
    return Math.min(wait, LONGEST_WAIT_NANOS);
  }

  /**
   * Nanoseconds from {@code now} until this bucket has made {@code total} tokens available one
   * after another, each taken as it comes (waiters ahead taking theirs first), at the current rate:
   * the pause, then what the bucket holds, then the refill. An estimate for a queue, not a promise
   * (a recovering rate makes it sooner, a new 429 later); {@link #LONGEST_WAIT_NANOS} at most.
   */
  long nanosUntilTaken(long now, int total) {
    long from = paused(now) ? pausedUntil : now;
    double missing = total - tokensAt(from);
    if (missing <= 0) {
      return from - now;
    }
    double refill = Math.ceil(missing * NANOS_PER_SECOND / rate);
    long wait = from - now;
    if (!(refill < LONGEST_WAIT_NANOS - wait)) {
      return LONGEST_WAIT_NANOS;
    }
    return wait + (long) refill;
  }

  /**
   * The least {@code d} in {@code [0, LONGEST_WAIT_NANOS]} for which {@code reached} holds, or
   * {@code LONGEST_WAIT_NANOS} when none does; {@code reached} must never turn false again as
   * {@code d} grows. Searches outwards from {@code guess} in doubling steps, then halves the gap: a
   * guess a step away costs two or three evaluations, and one far off (floating point near a large
   * burst can put it millions of nanoseconds away) a few dozen, never one per nanosecond.
   */
  private static long least(long guess, LongPredicate reached) {
    long lo; // reached(lo) is false, or lo is -1
    long hi; // reached(hi) is true
    if (reached.test(guess)) {
      hi = guess;
      lo = guess - 1;
      for (long step = 1; lo >= 0 && reached.test(lo); ) {
        hi = lo;
        step <<= 1;
        lo = Math.max(-1, guess - step);
      }
    } else {
      lo = guess;
      hi = guess + 1;
      for (long step = 1; !reached.test(hi); ) {
        if (hi >= LONGEST_WAIT_NANOS) {
          return LONGEST_WAIT_NANOS;
        }
        lo = hi;
        step <<= 1;
        hi = Math.min(LONGEST_WAIT_NANOS, guess + step);
      }
    }
    while (hi - lo > 1) {
      long mid = lo + (hi - lo) / 2;
      if (reached.test(mid)) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return hi;
  }

  /** Writes the tokens accrued up to {@code now} back, before the rate or the tokens change. */
  void settle(long now) {
    if (now - refillFrom > 0) {
      tokens = tokensAt(now);
      refillFrom = now;
    }
  }

  void consume(long now) {
    settle(now);
    tokens -= 1;
    lastUsed = now;
  }

  /**
   * A 429/503 seen at {@code seenAt} (now, or earlier for one another broker saw): lower the rate
   * once and pause until {@code seenAt + pause}; a pause over by now is none, only the lower rate.
   * Throttles reported while the host is still paused only lengthen the pause: they are usually
   * answers to requests sent before the first one was seen, and counting each would collapse the
   * rate for one incident.
   *
   * @param pause the whole pause the answer earned, from {@code seenAt}
   * @param fromSite the pause is the site's Retry-After (else {@code default_pause})
   * @param capped the site asked for longer and {@code max_pause} cut it
   */
  void throttle(
      int status,
      long pause,
      long seenAt,
      boolean fromSite,
      boolean capped,
      long now,
      RateLimitConfig config) {
    settle(now);
    boolean again = paused(now);
    if (!again) {
      double floor = Math.min(config.minRate(), rule.rate());
      rate = Math.min(rate, Math.max(floor, rate * config.decreaseFactor()));
      rateChanged();
    }
    long until = seenAt + pause;
    if (until - now < 0) {
      until = now;
    }
    if (!again || until - pausedUntil > 0) {
      pausedUntil = until;
      pauseNanos = pause;
      pauseFromSite = fromSite;
      pauseCapped = capped;
    }
    pauseSet = true;
    // One request may go when the pause ends, then the lowered rate paces the rest: a burst
    // saved up before the throttle must not hit a site that just asked us to back off.
    tokens = Math.min(tokens, 1);
    refillFrom = pausedUntil;
    throttleStatus = status;
    if (!again || seenAt - throttledAt > 0) {
      throttledAt = seenAt;
    }
  }

  /** A success: add {@code step} back to a lowered rate, never above the rule's rate. */
  void recover(double step, long now) {
    if (paused(now) || rate >= rule.rate()) {
      return;
    }
    settle(now);
    double next = rate + step;
    // Snap the last step: n steps of 0.2 from 1.0 sum to 1.9999999999999998, not 2.0.
    rate = next >= rule.rate() * (1 - RECOVERY_SNAP) ? rule.rate() : next;
    rateChanged();
  }

  /**
   * Takes a new rule live: the configured rate and burst apply at once; a rate lowered by
   * throttling stays lowered but never above the new rate.
   */
  void apply(HostRule newRule, long now) {
    settle(now);
    boolean lowered = rate < rule.rate();
    rule = newRule;
    rate = lowered ? Math.min(rate, newRule.rate()) : newRule.rate();
    tokens = Math.min(tokens, newRule.burst());
    rateChanged();
  }

  boolean lowered() {
    return rate < rule.rate();
  }

  /** Indistinguishable from a fresh bucket, so forgetting it loses nothing. */
  boolean isDefault(long now) {
    return !paused(now) && !lowered() && tokensAt(now) >= rule.burst();
  }
}
