package dev.berth.bench;

import com.google.common.util.concurrent.RateLimiter;
import dev.berth.server.ratelimit.HostRateLimiter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Two threads sharing one limiter, so ours and Guava contend equally: Guava on its internal
 * monitor, ours on the lock the broker holds around it. Shows whether the limiter's own cost still
 * matters once the lock hand-off dominates.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
@Threads(2)
public class RateLimitContendedBench {
  private static final String HOT_HOST = "www.example.com";

  private HostRateLimiter hot;
  private RateLimiter guava;
  private final Object brokerLock = new Object();
  private final AtomicLong refused = new AtomicLong();

  @Setup(Level.Trial)
  public void setUp() {
    hot = new HostRateLimiter(RateLimitBench.alwaysGrants());
    guava = RateLimiter.create(1e9);
  }

  @TearDown(Level.Trial)
  public void checkNothingRefused() {
    if (refused.get() > 0) {
      throw new IllegalStateException(refused + " calls were refused; the numbers are invalid");
    }
  }

  /** Ours on one hot host, under a shared lock as in the broker. */
  @Benchmark
  public boolean hostRateLimiterHotHostLocked() {
    synchronized (brokerLock) {
      long now = System.nanoTime();
      if (hot.nanosUntilToken(HOT_HOST, now) == 0) {
        hot.consume(HOT_HOST, now);
        return true;
      }
    }
    refused.incrementAndGet();
    return false;
  }

  /** Guava, one shared limiter. */
  @Benchmark
  public boolean guavaTryAcquire() {
    if (guava.tryAcquire()) {
      return true;
    }
    refused.incrementAndGet();
    return false;
  }
}
