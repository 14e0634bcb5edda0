package dev.berth.client;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The real clock: {@link System#nanoTime()} and {@link Thread#sleep}. */
enum SystemTicker implements Ticker {
  INSTANCE;

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public void sleep(Duration duration) throws InterruptedException {
    if (duration.isNegative() || duration.isZero()) {
      return;
    }
    TimeUnit.NANOSECONDS.sleep(duration.toNanos());
  }
}
