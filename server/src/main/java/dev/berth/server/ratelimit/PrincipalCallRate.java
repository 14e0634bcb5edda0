package dev.berth.server.ratelimit;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.HashMap;
import java.util.Map;

/**
 * How fast each principal may start calls: a token bucket per principal holding one second's worth
 * of calls and refilling at the configured rate. The rate is passed on every check, so a reload
 * takes effect at the next call; 0 admits everything.
 *
 * <p>The caller reads the clock and passes monotonic nanoseconds in; the decision is a function of
 * them alone. Principals are the configured tokens' names (or the one anonymous principal), so the
 * map stays as small as the configuration.
 *
 * <p>Thread-safe.
 */
public final class PrincipalCallRate {
  /** Admitted: no wait. */
  public static final long ADMITTED = 0;

  private static final double NANOS_PER_SECOND = 1e9;

  private final Object lock = new Object();

  @GuardedBy("lock")
  private final Map<String, Bucket> buckets = new HashMap<>();

  private static final class Bucket {
    double tokens;
    long at;

    Bucket(double tokens, long at) {
      this.tokens = tokens;
      this.at = at;
    }
  }

  /**
   * Takes one call of {@code principal} at {@code nowNanos} under {@code perSecond}.
   *
   * @return {@link #ADMITTED}, or how many nanoseconds until the principal's next token (the call
   *     is refused and costs nothing)
   */
  public long admit(String principal, int perSecond, long nowNanos) {
    if (perSecond <= 0) {
      return ADMITTED;
    }
    synchronized (lock) {
      Bucket bucket = buckets.computeIfAbsent(principal, p -> new Bucket(perSecond, nowNanos));
      double elapsed = Math.max(0, nowNanos - bucket.at) / NANOS_PER_SECOND;
      bucket.tokens = Math.min(perSecond, bucket.tokens + elapsed * perSecond);
      // Callers read the clock before taking the lock, so a later call may bring an earlier
      // instant: moving the bucket back would hand out the same stretch of time twice.
      if (nowNanos - bucket.at > 0) {
        bucket.at = nowNanos;
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return ADMITTED;
      }
      return Math.max(1, (long) Math.ceil((1 - bucket.tokens) / perSecond * NANOS_PER_SECOND));
    }
  }
}
