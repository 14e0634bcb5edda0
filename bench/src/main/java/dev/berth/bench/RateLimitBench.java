package dev.berth.bench;

import com.google.common.util.concurrent.RateLimiter;
import dev.berth.server.ratelimit.HostRateLimiter;
import dev.berth.server.ratelimit.RateLimitConfig;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One admission's rate-limit work — check a host, then take its token — against Guava's {@code
 * RateLimiter.tryAcquire()}, single-threaded. Rates are huge so every call grants: we measure the
 * bookkeeping, not waiting. Each call reads {@code System.nanoTime()} as Guava's does internally.
 * Run with {@code bin/bench-jmh}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class RateLimitBench {
  static final int ROTATING_HOSTS = 10_000;
  private static final String HOT_HOST = "www.example.com";

  private HostRateLimiter hot;
  private HostRateLimiter rotating;
  private String[] hosts;
  private int next;
  private RateLimiter guava;
  private final Object brokerLock = new Object();
  private long refused;

  /** A configuration under which no call in a benchmark can be refused. */
  static RateLimitConfig alwaysGrants() {
    return RateLimitConfig.newBuilder()
        .defaultRate(RateLimitConfig.MAX_RATE)
        .defaultBurst(RateLimitConfig.MAX_BURST)
        .build();
  }

  static String[] hostNames(int n) {
    String[] names = new String[n];
    for (int i = 0; i < n; i++) {
      names[i] = "host-" + i + ".example.org";
    }
    return names;
  }

  @Setup(Level.Trial)
  public void setUp() {
    hot = new HostRateLimiter(alwaysGrants());
    rotating = new HostRateLimiter(alwaysGrants());
    hosts = hostNames(ROTATING_HOSTS);
    long now = System.nanoTime();
    for (String host : hosts) {
      rotating.consume(host, now); // every bucket exists before measuring
    }
    guava = RateLimiter.create(RateLimitConfig.MAX_RATE);
  }

  /** A benchmark that was refused measured the wrong thing; fail the run rather than report it. */
  @TearDown(Level.Trial)
  public void checkNothingRefused() {
    if (refused > 0) {
      throw new IllegalStateException(refused + " calls were refused; the numbers are invalid");
    }
  }

  /** Ours: one hot host, check then consume. */
  @Benchmark
  public boolean hostRateLimiterHotHost() {
    return checkAndConsume(hot, HOT_HOST);
  }

  /** Ours: 10,000 hosts in turn, so each call misses the CPU caches a hot host enjoys. */
  @Benchmark
  public boolean hostRateLimiterRotatingHosts() {
    String host = hosts[next];
    if (++next == hosts.length) {
      next = 0;
    }
    return checkAndConsume(rotating, host);
  }

  /**
   * Ours as the broker runs it, under a lock: Guava takes its own monitor on every call, so this is
   * the like-for-like comparison.
   */
  @Benchmark
  public boolean hostRateLimiterHotHostLocked() {
    synchronized (brokerLock) {
      return checkAndConsume(hot, HOT_HOST);
    }
  }

  /** The baseline: Guava's smooth-bursty limiter, one permit. */
  @Benchmark
  public boolean guavaTryAcquire() {
    if (guava.tryAcquire()) {
      return true;
    }
    refused++;
    return false;
  }

  private boolean checkAndConsume(HostRateLimiter limiter, String host) {
    long now = System.nanoTime();
    if (limiter.nanosUntilToken(host, now) == 0) {
      limiter.consume(host, now);
      return true;
    }
    refused++;
    return false;
  }
}
