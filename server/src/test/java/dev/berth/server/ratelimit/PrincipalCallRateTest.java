package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The per-principal call-rate buckets, on explicit monotonic instants. */
class PrincipalCallRateTest {
  private static final long T0 = 5_000_000_000L;
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  private final PrincipalCallRate rates = new PrincipalCallRate();

  @Test
  void admit_rateZero_admitsEverything() {
    for (int i = 0; i < 10_000; i++) {
      assertThat(rates.admit("p", 0, T0)).isEqualTo(PrincipalCallRate.ADMITTED);
    }
  }

  @Test
  void admit_oneSecondsWorthAtOnce_thenRefusedWithTheWaitForTheNextToken() {
    for (int i = 0; i < 10; i++) {
      assertThat(rates.admit("p", 10, T0)).isEqualTo(PrincipalCallRate.ADMITTED);
    }

    assertThat(rates.admit("p", 10, T0)).isEqualTo(100 * MS);
    assertThat(rates.admit("p", 10, T0 + 40 * MS)).isEqualTo(60 * MS);
  }

  @Test
  void admit_callWithAnEarlierInstant_doesNotMoveTheBucketBack() {
    for (int i = 0; i < 10; i++) {
      rates.admit("p", 10, T0);
    }
    assertThat(rates.admit("p", 10, T0 + 100 * MS)).isEqualTo(PrincipalCallRate.ADMITTED);
    // A call that read the clock before the one above but took the lock after it.
    assertThat(rates.admit("p", 10, T0 + 50 * MS)).isEqualTo(100 * MS);

    // The 100 ms after T0 + 100 ms refill one token, not one and a half.
    assertThat(rates.admit("p", 10, T0 + 200 * MS)).isEqualTo(PrincipalCallRate.ADMITTED);
    assertThat(rates.admit("p", 10, T0 + 200 * MS)).isEqualTo(100 * MS);
  }

  @Test
  void admit_refusedCalls_costNothing_tokensComeBackAtTheRate() {
    for (int i = 0; i < 10; i++) {
      rates.admit("p", 10, T0);
    }
    for (int i = 0; i < 100; i++) {
      assertThat(rates.admit("p", 10, T0 + 50 * MS)).isPositive();
    }

    assertThat(rates.admit("p", 10, T0 + 100 * MS)).isEqualTo(PrincipalCallRate.ADMITTED);
    assertThat(rates.admit("p", 10, T0 + 100 * MS)).isPositive();
    // After a quiet while the bucket is full again, but never fuller than one second's worth.
    long later = T0 + 60_000 * MS;
    for (int i = 0; i < 10; i++) {
      assertThat(rates.admit("p", 10, later)).isEqualTo(PrincipalCallRate.ADMITTED);
    }
    assertThat(rates.admit("p", 10, later)).isPositive();
  }

  @Test
  void admit_onePrincipalAtItsCap_othersUnaffected() {
    for (int i = 0; i < 5; i++) {
      rates.admit("flooder", 5, T0);
    }
    assertThat(rates.admit("flooder", 5, T0)).isPositive();

    assertThat(rates.admit("fleet", 5, T0)).isEqualTo(PrincipalCallRate.ADMITTED);
  }

  @Test
  void admit_rateLowered_takesEffectAtTheNextCall() {
    rates.admit("p", 100, T0);

    for (int i = 0; i < 2; i++) {
      assertThat(rates.admit("p", 2, T0 + MS)).isEqualTo(PrincipalCallRate.ADMITTED);
    }
    assertThat(rates.admit("p", 2, T0 + MS)).isPositive();
  }
}
