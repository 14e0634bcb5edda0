package dev.berth.server.ratelimit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Supplier;

/**
 * Per-host politeness: a token bucket per host, adapted by the outcomes workers report. Checking
 * ({@link #nanosUntilToken}) and taking a token ({@link #consume}) are separate so the broker can
 * take the host token only when it grants the lease: a refusal for a full pool or memory pressure
 * costs the host nothing.
 *
 * <p>This class is <b>not</b> thread-safe: the broker calls it under its single lock. It never
 * reads a clock; every method takes monotonic nanoseconds from the caller.
 *
 * <p>Memory stays bounded: a host that has only been checked has no bucket (an unknown host has a
 * full one by definition); buckets idle for {@code idle_eviction} and back in their default state
 * are forgotten; and at most {@code max_hosts} are kept, the least recently used going first. A
 * host forgotten that way, even one that was paused or slowed, starts again with a full burst at
 * its configured rate — the price of a hard memory bound. Both evictions cost amortised O(1) per
 * operation: the buckets form a least-recently-used list, so only its head is ever examined.
 *
 * <p>Adaptation is AIMD: a 429 or 503 multiplies the host's rate by {@code decrease_factor} (not
 * below {@code min_rate}) and pauses it for the site's Retry-After (capped at {@code max_pause}) or
 * {@code default_pause}; each later success adds {@code recovery_step} back, up to exactly the
 * configured rate. After a pause, one request may go at once and the lowered rate paces the rest.
 */
public final class HostRateLimiter {
  private RateLimitConfig config;
  private final Buckets buckets;

  /**
   * The bucket touched last, or null: the tail of the least-recently-used list already, so finding
   * it again needs no map lookup and no relink. An acquire checks its host and, when granted, takes
   * the token at once, under the same lock: one lookup serves both. Cleared whenever the list
   * changes other than by a touch.
   */
  private HostBucket last;

  /**
   * Set by {@link #startEmpty}: from {@link #emptySince} on, a host without a bucket is empty, not
   * full, until its rule's burst has had time to refill. Cleared once every rule's burst has (after
   * {@link #refillAllNanos}), so that from then on a host without a bucket costs one lookup again.
   */
  private boolean startedEmpty;

  private long emptySince;

  /** The longest time any rule of the configuration takes to refill its whole burst, in nanos. */
  private double refillAllNanos;

  public HostRateLimiter(RateLimitConfig config) {
    this.config = config;
    this.buckets = new Buckets(config.maxHosts());
  }

  /** The hosts' buckets, least recently touched first, never more than {@code maxHosts}. */
  private static final class Buckets extends LinkedHashMap<String, HostBucket> {
    private static final long serialVersionUID = 1L;

    private int maxHosts;

    Buckets(int maxHosts) {
      super(16, 0.75f, true);
      this.maxHosts = maxHosts;
    }

    @Override
    protected boolean removeEldestEntry(Map.Entry<String, HostBucket> eldest) {
      return size() > maxHosts;
    }
  }

  /**
   * The bucket of {@code host}, or null, moved to the tail of the least-recently-used list (as
   * {@link LinkedHashMap#get} in access order does).
   */
  private HostBucket find(String host) {
    HostBucket b = last;
    if (b != null && b.host.equals(host)) {
      return b;
    }
    b = buckets.get(host);
    if (b != null) {
      last = b;
    }
    return b;
  }

  /** The configuration in force. */
  public RateLimitConfig config() {
    return config;
  }

  /**
   * Nanoseconds until {@code host} has a token: 0 when it has one now; otherwise the exact wait (a
   * pause included), rounded up to the nanosecond, so a check made that much later returns 0 unless
   * another grant took the token in between. Consumes nothing and creates no bucket, but for a host
   * still refilling after {@link #startEmpty}.
   */
  public long nanosUntilToken(String host, long nowNanos) {
    HostBucket b = touch(host, nowNanos);
    return b == null ? 0 : b.nanosUntilToken(nowNanos);
  }

  /**
   * Nanoseconds until {@code host} has {@code count} tokens at once, as {@link #nanosUntilToken}
   * for one: what a bundle with {@code count} leases for the host needs. {@link
   * #LONGEST_WAIT_NANOS} when the host's burst is smaller than {@code count}.
   */
  public long nanosUntilTokens(String host, int count, long nowNanos) {
    if (count == 1) {
      return nanosUntilToken(host, nowNanos);
    }
    HostBucket b = touch(host, nowNanos);
    if (b == null) {
      return count <= config.ruleFor(host).burst() ? 0 : LONGEST_WAIT_NANOS;
    }
    return b.nanosUntilTokens(nowNanos, count);
  }

  /**
   * Nanoseconds until {@code host} has given out {@code ahead} tokens to others and {@code count}
   * more, taken one after another as they come at the host's current rate: when a request queued
   * behind {@code ahead} tokens' worth of waiters could expect its own. An estimate (see {@link
   * HostBucket#nanosUntilTaken}); {@link #LONGEST_WAIT_NANOS} at most. Creates no bucket.
   */
  public long nanosUntilTaken(String host, int ahead, int count, long nowNanos) {
    int total = ahead + count;
    HostBucket b = touch(host, nowNanos);
    if (b != null) {
      return b.nanosUntilTaken(nowNanos, total);
    }
    HostRule rule = config.ruleFor(host); // a full bucket at the rule's rate
    double missing = total - rule.burst();
    if (missing <= 0) {
      return 0;
    }
    double nanos = Math.ceil(missing * 1e9 / rule.rate());
    return nanos < LONGEST_WAIT_NANOS ? (long) nanos : LONGEST_WAIT_NANOS;
  }

  /** The longest wait reported, for a token that will never come (about 115 days). */
  public static final long LONGEST_WAIT_NANOS = HostBucket.LONGEST_WAIT_NANOS;

  /**
   * Whether a configured pattern (not the default rule) covers {@code host}: a job's own host
   * buckets apply only there.
   */
  public boolean covers(String host) {
    return !config.ruleFor(host).isDefault();
  }

  /**
   * The key of the rule that governs {@code host}, as a refusal names it: {@code
   * rate_limit.default_rate} or {@code rate_limit.hosts['PATTERN'].rate}.
   */
  public String ruleKey(String host) {
    HostRule rule = ruleOf(host);
    return rule.isDefault()
        ? RateLimitConfig.Keys.DEFAULT_RATE
        : RateLimitConfig.Keys.HOSTS + "['" + rule.pattern() + "'].rate";
  }

  /**
   * The key of the burst that governs {@code host}: {@code rate_limit.default_burst} or {@code
   * rate_limit.hosts['PATTERN'].burst}, which a bundle needing more tokens at once exceeds.
   */
  public String burstKey(String host) {
    HostRule rule = ruleOf(host);
    return rule.isDefault()
        ? RateLimitConfig.Keys.DEFAULT_BURST
        : RateLimitConfig.Keys.HOSTS + "['" + rule.pattern() + "'].burst";
  }

  /** The pattern of the rule that governs {@code host}, {@code *} for the default. */
  public String patternOf(String host) {
    return ruleOf(host).pattern();
  }

  /** The rule that governs {@code host} now: its bucket's, else the configured one. */
  public HostRule ruleOf(String host) {
    HostBucket b = find(host);
    return b == null ? config.ruleFor(host) : b.rule;
  }

  /**
   * Takes one token from {@code host}; call it only when the lease is granted. A caller that
   * consumes without a token available puts the host in debt: its next token comes later.
   */
  public void consume(String host, long nowNanos) {
    HostBucket b = touch(host, nowNanos);
    if (b == null) {
      b = create(host, nowNanos);
    }
    b.consume(nowNanos);
  }

  /** A full bucket for {@code host}, which has none, kept from now on. */
  private HostBucket create(String host, long nowNanos) {
    evictIdle(nowNanos);
    HostBucket b = new HostBucket(host, config.ruleFor(host), nowNanos);
    last = null; // the put may evict the eldest
    buckets.put(host, b);
    last = b;
    return b;
  }

  /**
   * Adapts {@code host}'s rate to a released lease's outcome. HTTP 429 or 503 lowers the rate and
   * pauses the host; a success (2xx/3xx, or {@code success} with any other status) restores some of
   * a lowered rate; anything else changes nothing. A 429/503 for a host without a bucket creates
   * one: the host may have lost its bucket to eviction, a restart or a change of leader while its
   * lease was out, and the site's answer must still slow the fleet. (Memory stays bounded: an
   * outcome comes with a lease of its host.) A success for such a host changes nothing, as it is at
   * its configured rate already.
   *
   * @param httpStatus the site's status, 0 when unknown
   * @param siteRetryAfterNanos the site's Retry-After, 0 when none
   */
  public void onOutcome(
      String host, int httpStatus, long siteRetryAfterNanos, boolean success, long nowNanos) {
    HostBucket b = touch(host, nowNanos);
    if (httpStatus == 429 || httpStatus == 503) {
      throttle(host, b, httpStatus, siteRetryAfterNanos, nowNanos, nowNanos);
    } else if (b != null && (success || (httpStatus >= 200 && httpStatus < 400))) {
      b.recover(config.recoveryStepFor(b.rule.rate()), nowNanos);
    }
  }

  /**
   * A 429 or 503 for {@code host} that another broker saw {@code ageNanos} ago (the cluster's
   * previous leader, or this broker's previous run): the host's rate is lowered once, and it is
   * paused for what is left of the pause that answer earned ({@link #onOutcome}'s rule), if
   * anything is. A pause already over is not paused again: the lower rate alone carries, since the
   * broker that saw the answer may not have restored it yet, and successes restore it here as
   * there.
   *
   * @param siteRetryAfterNanos the site's Retry-After, 0 when none
   */
  public void carried(
      String host, int httpStatus, long siteRetryAfterNanos, long ageNanos, long nowNanos) {
    long seenAt = nowNanos - Math.max(0, ageNanos);
    throttle(host, touch(host, nowNanos), httpStatus, siteRetryAfterNanos, seenAt, nowNanos);
  }

  /**
   * Throttles {@code host} (its bucket {@code b}, created when null) for a 429/503 seen at {@code
   * seenAt}: the pause is the site's Retry-After capped at {@code max_pause}, or {@code
   * default_pause} without one (a Retry-After of 0 is none), from then.
   */
  private void throttle(
      String host, HostBucket b, int status, long siteRetryAfterNanos, long seenAt, long now) {
    if (b == null) {
      b = create(host, now);
    }
    long maxPause = config.maxPause().toNanos();
    boolean fromSite = siteRetryAfterNanos > 0;
    long pause =
        fromSite ? Math.min(siteRetryAfterNanos, maxPause) : config.defaultPause().toNanos();
    b.throttle(status, pause, seenAt, fromSite, siteRetryAfterNanos > maxPause, now, config);
  }

  /** Counts a RATE_LIMITED refusal of {@code host}, for status. */
  public void refused(String host, long nowNanos) {
    HostBucket b = touch(host, nowNanos);
    if (b != null) {
      b.refusals++;
    }
  }

  /**
   * {@code host}'s state in one line naming the rule that decides, e.g. {@code host example.com:
   * 2.0/s, next token in 340ms}, {@code host www.example.com (*.example.com): 10.0/s, 3.5 of 20
   * tokens} or {@code host example.com: paused 4.2s after HTTP 429 (rate 1.0/s of 2.0/s)}.
   */
  public String describe(String host, long nowNanos) {
    return capture(host, nowNanos).get();
  }

  /**
   * {@code host}'s state as {@link #describe} reads it, captured now and written as text when the
   * returned supplier is called: the broker captures under its lock and writes a refusal's detail
   * after releasing it. The supplier holds only values, so it may run later, on any thread.
   */
  public Supplier<String> capture(String host, long nowNanos) {
    HostBucket b = touch(host, nowNanos);
    HostRule rule = b == null ? config.ruleFor(host) : b.rule;
    if (b == null) {
      return new Captured(host, rule, false, 0, 0, 0, false, 0, rule.burst());
    }
    if (b.paused(nowNanos)) {
      return new Captured(
          host, rule, true, b.pausedUntil - nowNanos, b.throttleStatus, b.rate, false, 0, 0);
    }
    long wait = b.nanosUntilToken(nowNanos);
    return new Captured(
        host,
        rule,
        true,
        0,
        b.throttleStatus,
        b.rate,
        b.lowered(),
        wait,
        wait > 0 ? 0 : b.tokensAt(nowNanos));
  }

  /**
   * The facts of one host's line in {@link #describe}.
   *
   * @param known the host has a bucket (else it is unknown: a full one)
   * @param pausedFor nanoseconds its pause has left; 0 when it is not paused
   * @param tokenIn nanoseconds until its next token; 0 when it has one
   * @param tokens tokens it has, when {@code tokenIn} is 0
   */
  private record Captured(
      String host,
      HostRule rule,
      boolean known,
      long pausedFor,
      int throttleStatus,
      double rate,
      boolean lowered,
      long tokenIn,
      double tokens)
      implements Supplier<String> {
    @Override
    public String get() {
      StringBuilder s = new StringBuilder("host ").append(host);
      // A wildcard that matched is named; a rule for the host itself would only repeat it.
      if (!rule.isDefault() && !rule.pattern().equals(host)) {
        s.append(" (").append(rule.pattern()).append(')');
      }
      s.append(": ");
      if (!known) {
        return s.append(RateText.rate(rule.rate()))
            .append(", ")
            .append(rule.burst())
            .append(" of ")
            .append(rule.burst())
            .append(" tokens")
            .toString();
      }
      if (pausedFor > 0) {
        return s.append("paused ")
            .append(RateText.duration(pausedFor))
            .append(" after HTTP ")
            .append(throttleStatus)
            .append(" (rate ")
            .append(RateText.rate(rate))
            .append(" of ")
            .append(RateText.rate(rule.rate()))
            .append(')')
            .toString();
      }
      s.append(RateText.rate(rate));
      if (lowered) {
        s.append(" of ")
            .append(RateText.rate(rule.rate()))
            .append(" after HTTP ")
            .append(throttleStatus);
      }
      if (tokenIn > 0) {
        return s.append(", next token in ").append(RateText.duration(tokenIn)).toString();
      }
      return s.append(", ")
          .append(RateText.number(tokens))
          .append(" of ")
          .append(rule.burst())
          .append(" tokens")
          .toString();
    }
  }

  /**
   * The {@code n} hosts most worth an operator's look: most refusals first, then most recently
   * granted. Scans every bucket (status is rare; the hot path never does).
   */
  public List<HostStatus> hottest(int n, long nowNanos) {
    if (n <= 0) {
      return List.of();
    }
    Comparator<HostBucket> hotter =
        Comparator.<HostBucket>comparingLong(b -> b.refusals)
            .thenComparing((x, y) -> Long.signum(x.lastUsed - y.lastUsed));
    PriorityQueue<HostBucket> top = new PriorityQueue<>(hotter);
    for (HostBucket b : buckets.values()) {
      if (top.size() < n) {
        top.add(b);
      } else if (hotter.compare(b, top.peek()) > 0) {
        top.poll();
        top.add(b);
      }
    }
    List<HostStatus> out = new ArrayList<>(top.size());
    while (!top.isEmpty()) {
      HostBucket b = top.poll();
      out.add(
          new HostStatus(
              b.host,
              b.rule.pattern(),
              b.rate,
              b.rule.rate(),
              b.tokensAt(nowNanos),
              b.refusals,
              reason(b, nowNanos)));
    }
    Collections.reverse(out);
    return out;
  }

  /**
   * Forgets buckets idle for {@code idle_eviction} that are back in their default state. Idle
   * buckets still slowed or paused are kept and looked at again one idle period later. Examines
   * only the head of the least-recently-used list, so it is cheap to call often; {@link #consume}
   * calls it whenever it adds a host.
   */
  public void evictIdle(long nowNanos) {
    last = null;
    long idle = config.idleEviction().toNanos();
    List<HostBucket> kept = null;
    Iterator<HostBucket> it = buckets.values().iterator();
    while (it.hasNext()) {
      HostBucket b = it.next();
      if (nowNanos - b.lastTouched < idle) {
        break;
      }
      it.remove();
      if (!b.isDefault(nowNanos)) {
        if (kept == null) {
          kept = new ArrayList<>();
        }
        kept.add(b);
      }
    }
    if (kept != null) {
      for (HostBucket b : kept) {
        b.lastTouched = nowNanos;
        buckets.put(b.host, b);
      }
    }
  }

  /** Hosts with a bucket. */
  public int size() {
    return buckets.size();
  }

  /**
   * Applies a new configuration live: every bucket takes its (possibly new) rule's rate and burst
   * at once; a rate lowered by throttling stays lowered, capped at the new rate; pauses continue.
   * When {@code max_hosts} shrank, the least recently used hosts are forgotten. O(hosts).
   */
  public void update(RateLimitConfig newConfig, long nowNanos) {
    this.config = newConfig;
    last = null;
    refillAllNanos = refillAllNanos(newConfig);
    buckets.maxHosts = newConfig.maxHosts();
    for (HostBucket b : buckets.values()) {
      b.apply(newConfig.ruleFor(b.host), nowNanos);
    }
    Iterator<HostBucket> it = buckets.values().iterator();
    while (buckets.size() > buckets.maxHosts && it.hasNext()) {
      it.next();
      it.remove();
    }
  }

  private HostBucket touch(String host, long nowNanos) {
    HostBucket b = find(host);
    if (b == null && startedEmpty) {
      b = emptiedBucket(host, nowNanos);
    }
    if (b != null) {
      b.lastTouched = nowNanos;
    }
    return b;
  }

  /**
   * Every host empty at {@code nowNanos}: no token, refilling at its rule's rate from then on.
   * Called by a broker that starts to lead its cluster: the buckets of its predecessor are not
   * handed over, and a host its predecessor drained a moment ago must not get a second burst. So in
   * any window across the change of leader a host is granted at most {@code burst + rate × window},
   * as on one broker. A 429/503 penalty carried over applies after this.
   */
  public void startEmpty(long nowNanos) {
    last = null;
    buckets.clear();
    startedEmpty = true;
    emptySince = nowNanos;
    refillAllNanos = refillAllNanos(config);
  }

  /** Whether hosts without a bucket still count as emptied by {@link #startEmpty} (tests). */
  boolean emptyAtStart() {
    return startedEmpty;
  }

  private static double refillAllNanos(RateLimitConfig config) {
    double longest = refillNanos(config.defaultRule());
    for (HostRule rule : config.hosts().values()) {
      longest = Math.max(longest, refillNanos(rule));
    }
    return longest;
  }

  private static double refillNanos(HostRule rule) {
    return rule.burst() * 1e9 / rule.rate();
  }

  /**
   * The bucket of {@code host}, which has none, after {@link #startEmpty}: empty then and refilled
   * since, kept from now on; null once it would be full again (a full bucket needs none).
   */
  private HostBucket emptiedBucket(String host, long nowNanos) {
    // Out of touch(), which stays small enough for the JIT to inline on the hot path.
    if (nowNanos - emptySince >= refillAllNanos) {
      startedEmpty = false; // every rule's burst has refilled: no host is short of it any more
      return null;
    }
    HostRule rule = config.ruleFor(host);
    if (!(nowNanos - emptySince < refillNanos(rule))) {
      return null;
    }
    HostBucket b = new HostBucket(host, rule, emptySince);
    b.tokens = 0;
    last = null; // the put may evict the eldest
    buckets.put(host, b);
    last = b;
    return b;
  }

  /** Why {@code b}'s rate is not the configured one, or "" when it is and it is not paused. */
  private String reason(HostBucket b, long now) {
    boolean paused = b.paused(now);
    if (!paused && !b.lowered()) {
      return "";
    }
    StringBuilder s =
        new StringBuilder("HTTP ")
            .append(b.throttleStatus)
            .append(' ')
            .append(RateText.duration(now - b.throttledAt))
            .append(" ago");
    if (paused) {
      s.append(", paused ").append(RateText.duration(b.pausedUntil - now)).append(" more (");
      if (b.pauseCapped) {
        s.append("site Retry-After capped at ").append(RateText.duration(b.pauseNanos));
      } else if (b.pauseFromSite) {
        s.append("site Retry-After ").append(RateText.duration(b.pauseNanos));
      } else {
        s.append("default pause ").append(RateText.duration(b.pauseNanos));
      }
      s.append(')');
    }
    if (b.lowered()) {
      s.append("; rate ")
          .append(RateText.rate(b.rate))
          .append(" of ")
          .append(RateText.rate(b.rule.rate()))
          .append(", recovering +")
          .append(RateText.rate(config.recoveryStepFor(b.rule.rate())))
          .append(" per success");
    }
    return s.toString();
  }
}
