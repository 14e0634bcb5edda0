package dev.berth.server.broker;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Makes session and lease identifiers: 128 random bits as 32 lower-case hex digits. Production ids
 * come from a {@link SecureRandom}, so they cannot be guessed; tests may use a seeded source for
 * repeatable runs.
 *
 * <p>Production ids use one SHA1PRNG generator per thread, each seeded with 32 bytes from the
 * operating system's generator. The platform default ({@code NativePRNG}) serialises every call of
 * every thread on one lock and reads {@code /dev/urandom} each time, which made id generation one
 * of the broker's hot spots under load (docs/benchmarks.md).
 *
 * <p>Thread-safe.
 */
public final class LeaseIds {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final ThreadLocal<Random> random;

  private LeaseIds(Supplier<Random> perThread) {
    this.random = ThreadLocal.withInitial(perThread);
  }

  /** Unguessable ids, for production. */
  public static LeaseIds secure() {
    SecureRandom seeds = new SecureRandom();
    return new LeaseIds(() -> seededSha1Prng(seeds));
  }

  private static SecureRandom seededSha1Prng(SecureRandom seeds) {
    byte[] seed = new byte[32];
    synchronized (seeds) {
      seeds.nextBytes(seed);
    }
    try {
      SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
      r.setSeed(seed); // before any output: the state is this seed alone, never a guessable one
      return r;
    } catch (NoSuchAlgorithmException e) {
      // Every Java SE platform ships SHA1PRNG; without it fall back to the platform default.
      return new SecureRandom();
    }
  }

  /** Repeatable ids, for tests only: one generator shared by every thread. */
  public static LeaseIds seeded(long seed) {
    Random shared = new Random(seed);
    return new LeaseIds(() -> shared);
  }

  public String next() {
    Random r = random.get();
    char[] out = new char[32];
    long hi = r.nextLong();
    long lo = r.nextLong();
    for (int i = 0; i < 16; i++) {
      out[i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xf];
      out[16 + i] = HEX[(int) (lo >>> (60 - 4 * i)) & 0xf];
    }
    return new String(out);
  }
}
