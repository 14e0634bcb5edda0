package dev.berth.server.lease;

import com.google.common.base.Preconditions;

/**
 * Issues fencing tokens: 64-bit numbers that strictly increase with every grant, also across broker
 * restarts. The high {@value #EPOCH_BITS} bits are the broker epoch (persisted and increased at
 * every start), the low {@value #COUNTER_BITS} bits count grants within the epoch. When a counter
 * runs out the issuer asks for a new epoch, so tokens never wrap. (A cluster leader never gets
 * there: its journal has the cluster commit the next epoch while {@link #remaining} tokens are
 * left, and holds grants back near the end.)
 *
 * <p>Not thread-safe: the broker calls it under its lock.
 */
public final class FencingTokens {
  public static final int EPOCH_BITS = 24;
  public static final int COUNTER_BITS = 64 - EPOCH_BITS;
  public static final long MAX_EPOCH = (1L << EPOCH_BITS) - 1;
  private static final long MAX_COUNTER = (1L << COUNTER_BITS) - 1;

  /** Supplies a fresh, durable epoch when the current one is used up. */
  public interface EpochSupplier {
    long nextEpoch();
  }

  private final EpochSupplier epochs;
  private long epoch;
  private long counter;

  public FencingTokens(long epoch, EpochSupplier epochs) {
    Preconditions.checkArgument(
        epoch >= 1 && epoch <= MAX_EPOCH, "epoch %s outside 1..%s", epoch, MAX_EPOCH);
    this.epoch = epoch;
    this.epochs = epochs;
  }

  /** The next token; greater than every token issued before, in this run or any earlier one. */
  public long next() {
    if (counter == MAX_COUNTER) {
      long fresh = epochs.nextEpoch();
      Preconditions.checkState(fresh > epoch, "epoch did not advance: %s -> %s", epoch, fresh);
      Preconditions.checkState(fresh <= MAX_EPOCH, "epochs exhausted");
      epoch = fresh;
      counter = 0;
    }
    counter++;
    return (epoch << COUNTER_BITS) | counter;
  }

  /**
   * Issues the next tokens from {@code next}, an epoch given from outside (a cluster's replicated
   * epoch when this broker starts to lead): every later token lies above every earlier one.
   *
   * @throws IllegalArgumentException when {@code next} is not above the current epoch or above
   *     {@link #MAX_EPOCH}
   */
  public void advanceTo(long next) {
    Preconditions.checkArgument(next > epoch, "epoch must advance: %s -> %s", epoch, next);
    Preconditions.checkArgument(next <= MAX_EPOCH, "epoch %s above %s", next, MAX_EPOCH);
    epoch = next;
    counter = 0;
  }

  /**
   * Tokens this epoch can still issue before {@link #next} needs a new one: a cluster leader asks
   * the cluster for its next epoch well before this reaches 0 (a lone broker asks its epoch file
   * when it does).
   */
  public long remaining() {
    return MAX_COUNTER - counter;
  }

  /** The epoch whose tokens are being issued now. */
  public long epoch() {
    return epoch;
  }

  /** The epoch a token was issued in. */
  public static long epochOf(long token) {
    return token >>> COUNTER_BITS;
  }

  /** The smallest token any grant of {@code epoch} can carry. */
  public static long firstTokenOf(long epoch) {
    return (epoch << COUNTER_BITS) | 1;
  }
}
