package dev.berth.server.broker;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Random;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Makes session and lease identifiers: 128 random bits as 32 lower-case hex digits. Production ids
 * cannot be guessed, not even by a client that has seen any number of other ids; tests may use a
 * seeded source for repeatable runs.
 *
 * <p>Production ids are cut from an AES-128 keystream in counter mode, one per thread, keyed and
 * started at a counter from 32 bytes of the operating system's generator: the construction of
 * NIST's CTR_DRBG, without which predicting the next id means recovering the AES key. The stream is
 * made 4 KiB (256 ids) at a time, which costs a few nanoseconds per id with the processor's AES
 * instructions. The platform default ({@code NativePRNG}) serialised every thread on one lock and
 * read {@code /dev/urandom} for each call, and a SHA1PRNG per thread still cost a sixth of the
 * broker's own lease cycle (docs/benchmarks.md).
 *
 * <p>Thread-safe.
 */
public final class LeaseIds {
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

  private final ThreadLocal<PerThread> perThread;

  private LeaseIds(Supplier<LongSupplier> random) {
    this.perThread = ThreadLocal.withInitial(() -> new PerThread(random.get()));
  }

  /** Unguessable ids, for production. */
  public static LeaseIds secure() {
    SecureRandom seeds = new SecureRandom();
    return new LeaseIds(() -> new KeyStream(seeds));
  }

  /** Repeatable ids, for tests only: one generator shared by every thread. */
  public static LeaseIds seeded(long seed) {
    Random shared = new Random(seed);
    return new LeaseIds(() -> shared::nextLong);
  }

  public String next() {
    PerThread t = perThread.get();
    byte[] out = t.digits;
    long hi = t.random.getAsLong();
    long lo = t.random.getAsLong();
    for (int i = 0; i < 16; i++) {
      out[i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xf];
      out[16 + i] = HEX[(int) (lo >>> (60 - 4 * i)) & 0xf];
    }
    // Written as Latin-1 bytes, the String's own form for ASCII: no char[] to build and compress.
    return new String(out, StandardCharsets.ISO_8859_1);
  }

  /**
   * One thread's generator and the buffer its ids are written in before the String copies them
   * (every id made a 32-char array, the largest allocation of a lease cycle).
   */
  private static final class PerThread {
    final LongSupplier random;
    final byte[] digits = new byte[32];

    PerThread(LongSupplier random) {
      this.random = random;
    }
  }

  /** One thread's AES-CTR keystream, read 64 bits at a time. Not thread-safe: one per thread. */
  private static final class KeyStream implements LongSupplier {
    private static final int CHUNK = 4096;

    /** What the keystream is XORed with: zeros, so the cipher's output is the keystream. */
    private static final byte[] ZEROS = new byte[CHUNK];

    private static final VarHandle LONGS =
        MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final Cipher cipher;
    private final byte[] chunk = new byte[CHUNK];
    private int next = CHUNK;

    KeyStream(SecureRandom seeds) {
      byte[] key = new byte[16];
      byte[] counter = new byte[16];
      synchronized (seeds) {
        seeds.nextBytes(key);
        seeds.nextBytes(counter);
      }
      try {
        cipher = Cipher.getInstance("AES/CTR/NoPadding");
        cipher.init(
            Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(counter));
      } catch (GeneralSecurityException e) {
        // Every JDK's standard provider has AES in counter mode; without it ids cannot be made.
        throw new IllegalStateException("AES/CTR is not available for lease ids", e);
      }
    }

    @Override
    public long getAsLong() {
      if (next == CHUNK) {
        try {
          cipher.update(ZEROS, 0, CHUNK, chunk, 0);
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("AES/CTR failed to make lease ids", e);
        }
        next = 0;
      }
      long value = (long) LONGS.get(chunk, next);
      next += 8;
      return value;
    }
  }
}
