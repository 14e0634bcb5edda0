package dev.berth.server.broker;

import java.security.SecureRandom;
import java.util.Random;

/**
 * Makes session and lease identifiers: 128 random bits as 32 lower-case hex digits. Production ids
 * come from {@link SecureRandom}, so they cannot be guessed; tests may use a seeded source for
 * repeatable runs.
 *
 * <p>Thread-safe when its source is ({@link SecureRandom} and {@link Random} both are).
 */
public final class LeaseIds {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final Random random;

  private LeaseIds(Random random) {
    this.random = random;
  }

  /** Unguessable ids, for production. */
  public static LeaseIds secure() {
    return new LeaseIds(new SecureRandom());
  }

  /** Repeatable ids, for tests only. */
  public static LeaseIds seeded(long seed) {
    return new LeaseIds(new Random(seed));
  }

  public String next() {
    char[] out = new char[32];
    long hi = random.nextLong();
    long lo = random.nextLong();
    for (int i = 0; i < 16; i++) {
      out[i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xf];
      out[16 + i] = HEX[(int) (lo >>> (60 - 4 * i)) & 0xf];
    }
    return new String(out);
  }
}
