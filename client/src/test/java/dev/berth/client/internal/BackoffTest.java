package dev.berth.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void nextDelay_doublesUpToTheMaximum() {
    Backoff backoff = new Backoff(100, 1000, () -> 0.5); // jitter factor exactly 1.0

    assertThat(
            new long[] {
              backoff.nextDelayNanos(),
              backoff.nextDelayNanos(),
              backoff.nextDelayNanos(),
              backoff.nextDelayNanos(),
              backoff.nextDelayNanos(),
              backoff.nextDelayNanos()
            })
        .containsExactly(100, 200, 400, 800, 1000, 1000);
  }

  @Test
  void nextDelay_jitterStaysWithinTwentyPercent() {
    assertThat(new Backoff(1000, 1000, () -> 0.0).nextDelayNanos()).isEqualTo(800);
    assertThat(new Backoff(1000, 1000, () -> 0.999_999).nextDelayNanos()).isBetween(1199L, 1200L);
  }

  @Test
  void reset_startsOverFromInitial() {
    Backoff backoff = new Backoff(100, 1000, () -> 0.5);
    backoff.nextDelayNanos();
    backoff.nextDelayNanos();

    backoff.reset();

    assertThat(backoff.nextDelayNanos()).isEqualTo(100);
  }
}
