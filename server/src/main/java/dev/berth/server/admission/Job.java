package dev.berth.server.admission;

import dev.berth.server.jobs.JobSettings;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.HostRateLimiter;
import dev.berth.server.ratelimit.RateLimitConfig;

/**
 * One crawl job's standing at the broker: its settings, what its sessions hold and wait for per
 * kind, its virtual time in each kind's {@link FairQueue}, its own per-host token buckets, and what
 * it was granted and refused. Counts are kept by the broker as leases are granted and end, so a
 * quota check reads one number.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 */
public final class Job {
  private static final int KINDS = ResourceKind.COUNT;

  private JobSettings settings;
  private final int[] held = new int[KINDS];
  private final int[] waiting = new int[KINDS];
  private final long[] tags = new long[KINDS];
  private final long[] grants = new long[KINDS];
  private final int[] guaranteed = new int[KINDS];
  private long refusals;
  private int places;
  private HostRateLimiter hostRates;

  Job(JobSettings settings) {
    settings(settings, 0);
  }

  public String name() {
    return settings.name();
  }

  public JobSettings settings() {
    return settings;
  }

  /**
   * Takes new settings live; its own host buckets are kept when its host rules did not change. Its
   * guaranteed mins are its new {@code min}s until {@link Jobs#guarantee} scales them.
   */
  void settings(JobSettings value, long nowNanos) {
    RateLimitConfig rates = value.hostRates();
    if (rates == null) {
      hostRates = null;
    } else if (hostRates == null) {
      hostRates = new HostRateLimiter(rates);
    } else if (!value.hosts().equals(settings.hosts())) {
      hostRates.update(rates, nowNanos);
    }
    settings = value;
    for (ResourceKind kind : ResourceKind.values()) {
      guaranteed[kind.index()] = value.min(kind);
    }
  }

  /** The job's own host buckets, or null when it has no host rules. */
  public HostRateLimiter hostRates() {
    return hostRates;
  }

  /** Leases of {@code kind} its sessions hold now. */
  public int held(ResourceKind kind) {
    return held[kind.index()];
  }

  /**
   * Whether it holds fewer leases of {@code kind} than its guaranteed min: then it is served first.
   */
  public boolean belowMin(ResourceKind kind) {
    return held[kind.index()] < guaranteed[kind.index()];
  }

  /**
   * Its guaranteed min of {@code kind}: its {@code min}, scaled to the pool's usable part while
   * that is below the configured limit — the effective limit (lowered while degraded) less the
   * slots a new cluster leader holds back ({@link ScaledMins}) — as {@link Jobs#guarantee} last set
   * it.
   */
  public int guaranteedMin(ResourceKind kind) {
    return guaranteed[kind.index()];
  }

  void guaranteedMin(ResourceKind kind, int value) {
    guaranteed[kind.index()] = value;
  }

  public void leaseGranted(ResourceKind kind) {
    held[kind.index()]++;
    grants[kind.index()]++;
  }

  public void leaseEnded(ResourceKind kind) {
    held[kind.index()]--;
  }

  /** A lease re-counted after a reload moved sessions between jobs; not a new grant. */
  public void leaseCounted(ResourceKind kind) {
    held[kind.index()]++;
  }

  /** Forgets what it holds and waits for, before a reload counts them again. */
  void resetCounts() {
    java.util.Arrays.fill(held, 0);
    java.util.Arrays.fill(waiting, 0);
    places = 0;
  }

  /** Requests waiting, each once (a bundle takes one place, whatever it asks for). */
  public int places() {
    return places;
  }

  public void placeTaken() {
    places++;
  }

  public void placeFreed() {
    places--;
  }

  /** Requests of {@code kind} waiting (a bundle counts in each kind it asks for). */
  public int waiting(ResourceKind kind) {
    return waiting[kind.index()];
  }

  void enqueued(ResourceKind kind) {
    waiting[kind.index()]++;
  }

  void dequeued(ResourceKind kind) {
    waiting[kind.index()]--;
  }

  /** Leases of {@code kind} granted since the broker started (or the job was configured). */
  public long grants(ResourceKind kind) {
    return grants[kind.index()];
  }

  /** Requests refused (every reason, a timeout included). */
  public long refusals() {
    return refusals;
  }

  public void refused() {
    refusals++;
  }

  /** Its virtual time in {@code kind}'s fair queue. */
  long tag(ResourceKind kind) {
    return tags[kind.index()];
  }

  void tag(ResourceKind kind, long value) {
    tags[kind.index()] = value;
  }

  @Override
  public String toString() {
    return name();
  }
}
