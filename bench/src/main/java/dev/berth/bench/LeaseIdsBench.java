package dev.berth.bench;

import dev.berth.server.broker.LeaseIds;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * One lease id from two threads at once (the daemon's event loops): {@link LeaseIds#secure()} (a
 * SHA1PRNG per thread) against what it replaced, two {@code nextLong()} calls on one shared
 * platform-default {@link SecureRandom} (NativePRNG: one lock, a read of /dev/urandom per call).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
@Threads(2)
public class LeaseIdsBench {
  private final LeaseIds ids = LeaseIds.secure();
  private final SecureRandom shared = new SecureRandom();

  @Benchmark
  public String leaseIdsSecure() {
    return ids.next();
  }

  /** The bits of one id as the previous LeaseIds.secure() drew them. */
  @Benchmark
  public long sharedNativePrngTwoLongs() {
    long high = shared.nextLong();
    long low = shared.nextLong();
    return high ^ low;
  }
}
