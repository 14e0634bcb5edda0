package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The render watchdog on a hand-moved clock: when it kills a page's browser, and when not. */
class WatchdogTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final Watchdog watchdog = new Watchdog(now::get);
  private final AtomicInteger kills = new AtomicInteger();
  private final AtomicBoolean aborted = new AtomicBoolean();

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
    watchdog.check();
  }

  @Test
  void pageStillOpenPastItsTimeout_isKilledOnce_andSaysWhy() {
    Watchdog.Watch watch =
        watchdog.watch(Duration.ofSeconds(5), aborted::get, kills::incrementAndGet);

    advance(Duration.ofSeconds(5)); // the page's own timeout: Playwright may still end it
    assertThat(kills).hasValue(0);
    advance(Watchdog.SLACK);
    assertThat(kills).hasValue(1);
    assertThat(watch.fired())
        .isEqualTo("the page did not finish within 5.0s; its browser was killed");

    advance(Duration.ofMinutes(1));
    watch.close();
    assertThat(kills).hasValue(1);
  }

  @Test
  void pageClosedInTime_isNeverKilled() {
    Watchdog.Watch watch =
        watchdog.watch(Duration.ofSeconds(5), aborted::get, kills::incrementAndGet);
    advance(Duration.ofSeconds(4));
    watch.close();

    advance(Duration.ofMinutes(1));
    assertThat(kills).hasValue(0);
    assertThat(watch.fired()).isNull();
  }

  @Test
  void abortedPage_getsAGraceToStopByItself_thenIsKilled() {
    Watchdog.Watch watch =
        watchdog.watch(Duration.ofMinutes(1), aborted::get, kills::incrementAndGet);
    advance(Duration.ofSeconds(1));
    aborted.set(true);
    advance(Watchdog.PERIOD); // seen
    advance(Watchdog.ABORT_GRACE.minusMillis(1));
    assertThat(kills).hasValue(0);

    advance(Duration.ofMillis(1));
    assertThat(kills).hasValue(1);
    assertThat(watch.fired()).contains("its lease's end").contains("its browser was killed");
  }

  @Test
  void failingKill_isReported_andOtherPagesAreStillWatched() {
    Watchdog.Watch broken =
        watchdog.watch(
            Duration.ofSeconds(1),
            aborted::get,
            () -> {
              throw new IllegalStateException("no such process");
            });
    Watchdog.Watch other =
        watchdog.watch(Duration.ofSeconds(3), aborted::get, kills::incrementAndGet);

    advance(Duration.ofSeconds(2));
    assertThat(broken.fired()).contains("killing its browser failed").contains("no such process");
    advance(Duration.ofSeconds(2));
    assertThat(kills).hasValue(1);
    assertThat(other.fired()).contains("did not finish within 3.0s");
  }
}
