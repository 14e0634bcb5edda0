package dev.berth.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FencingTokensTest {

  private static FencingTokens tokens(long epoch) {
    return new FencingTokens(
        epoch,
        () -> {
          throw new AssertionError("no new epoch expected");
        });
  }

  @Test
  void next_manyCalls_strictlyIncrease() {
    FencingTokens tokens = tokens(3);
    long last = Long.MIN_VALUE;
    for (int i = 0; i < 10_000; i++) {
      long token = tokens.next();
      assertThat(token).isGreaterThan(last);
      last = token;
    }
  }

  @Test
  void next_firstToken_isFirstTokenOfEpochWithEpochInHighBits() {
    FencingTokens tokens = tokens(5);

    long first = tokens.next();

    assertThat(first).isEqualTo(FencingTokens.firstTokenOf(5));
    assertThat(first).isEqualTo((5L << FencingTokens.COUNTER_BITS) | 1);
    assertThat(FencingTokens.epochOf(first)).isEqualTo(5);
    assertThat(FencingTokens.epochOf(tokens.next())).isEqualTo(5);
    assertThat(tokens.epoch()).isEqualTo(5);
  }

  @Test
  void next_laterEpoch_everyTokenExceedsEveryTokenOfEarlierEpoch() {
    FencingTokens earlier = tokens(1);
    long lastOfEarlier = 0;
    for (int i = 0; i < 1_000; i++) {
      lastOfEarlier = earlier.next();
    }
    // The largest token epoch 1 could ever issue is still below epoch 2's first.
    long maxOfEpochOne = (2L << FencingTokens.COUNTER_BITS) - 1;

    long firstOfLater = tokens(2).next();

    assertThat(firstOfLater).isGreaterThan(lastOfEarlier).isGreaterThan(maxOfEpochOne);
    assertThat(FencingTokens.epochOf(maxOfEpochOne)).isEqualTo(1);
  }

  @Test
  void epochOf_firstTokenOf_roundTrips() {
    for (long epoch : new long[] {1, 2, 1_000, (1L << 22) + 3}) {
      assertThat(FencingTokens.epochOf(FencingTokens.firstTokenOf(epoch))).isEqualTo(epoch);
      assertThat(FencingTokens.firstTokenOf(epoch + 1))
          .isGreaterThan(FencingTokens.firstTokenOf(epoch));
    }
  }

  @Test
  void epochOf_maxEpoch_readsAsUnsignedHighBits() {
    // Epochs from 2^23 set the sign bit; the wire type is uint64, and epochOf reads it unsigned.
    long token = FencingTokens.firstTokenOf(FencingTokens.MAX_EPOCH);

    assertThat(FencingTokens.epochOf(token)).isEqualTo(FencingTokens.MAX_EPOCH);
    assertThat(Long.compareUnsigned(token, FencingTokens.firstTokenOf(FencingTokens.MAX_EPOCH - 1)))
        .isPositive();
  }

  @Test
  void remaining_countsDownWithEachToken_andIsFullAgainInANewEpoch() {
    FencingTokens tokens = tokens(2);
    long full = tokens.remaining();
    assertThat(full).isEqualTo((1L << FencingTokens.COUNTER_BITS) - 1);

    tokens.next();
    tokens.next();
    assertThat(tokens.remaining()).isEqualTo(full - 2);

    tokens.advanceTo(3);
    assertThat(tokens.remaining()).isEqualTo(full);
  }

  @Test
  void constructor_epochOutOfRange_throws() {
    assertThatThrownBy(() -> tokens(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> tokens(FencingTokens.MAX_EPOCH + 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
