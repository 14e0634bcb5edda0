package dev.berth.bench;

import com.google.common.util.concurrent.RateLimiter;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.LeaseTable;
import dev.berth.server.lease.ResourceKind;
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

/**
 * The lease table's share of a lease cycle — add a granted lease, then end it as released — against
 * Guava's {@code RateLimiter.tryAcquire()}, single-threaded and under a lock as the broker holds
 * one. 1,000 other leases stay live so the indexes are not trivially empty. Ids are made before
 * measuring: we time the table, not id generation.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class LeaseTableBench {
  private static final int LIVE = 1_000;
  private static final int IDS = 1 << 16;

  private LeaseTable table;
  private String[] ids;
  private int next;
  private RateLimiter guava;
  private final Object brokerLock = new Object();

  @Setup(Level.Trial)
  public void setUp() {
    table = new LeaseTable(10_000);
    long now = System.nanoTime();
    for (int i = 0; i < LIVE; i++) {
      table.add(lease("live-" + i, "session-" + (i % 10), now));
    }
    ids = new String[IDS];
    for (int i = 0; i < IDS; i++) {
      ids[i] = "bench-" + i;
    }
    guava = RateLimiter.create(RateLimitConfig.MAX_RATE);
  }

  private static Lease lease(String id, String session, long now) {
    return new Lease(
        id,
        ResourceKind.RENDER,
        1,
        session,
        "www.example.com",
        "",
        "",
        0,
        now,
        now + TimeUnit.MINUTES.toNanos(5));
  }

  /** Ours: one grant and its release in the table, under the broker's lock. */
  @Benchmark
  public Lease leaseTableGrantRelease() {
    String id = ids[next];
    next = (next + 1) & (IDS - 1);
    long now = System.nanoTime();
    synchronized (brokerLock) {
      table.add(lease(id, "session-0", now));
      return table.end(id, LeaseEnd.RELEASED, null, now);
    }
  }

  /** The baseline: Guava's smooth-bursty limiter, one permit. */
  @Benchmark
  public boolean guavaTryAcquire() {
    return guava.tryAcquire();
  }
}
