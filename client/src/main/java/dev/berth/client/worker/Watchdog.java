package dev.berth.client.worker;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Stops a page that outlives its time or its lease. A Playwright call on a page whose script never
 * yields ({@code content()}, {@code pdf()}) blocks for good, and the render thread with it, holding
 * its leases; only the browser's death makes the call throw. Each page is {@linkplain #watch
 * watched} while it is in the browser; a {@link #check} (every {@link #PERIOD} on a thread of the
 * watchdog's own) runs the page's {@code kill} — {@link Renderer#kill()}, which touches no
 * Playwright object — when the page is still open {@link #SLACK} after its timeout, or {@link
 * #ABORT_GRACE} after its lease ended.
 *
 * <p>Thread-safe.
 */
final class Watchdog implements AutoCloseable {
  /** How often the watchdog's thread checks. */
  static final Duration PERIOD = Duration.ofMillis(100);

  /**
   * How long past its timeout a page may stay open: a load that times out ends by itself
   * (Playwright throws), and is not worth a browser.
   */
  static final Duration SLACK = Duration.ofSeconds(1);

  /**
   * How long a page whose lease ended may take to notice by itself before its browser is killed.
   */
  static final Duration ABORT_GRACE = Duration.ofSeconds(2);

  private final LongSupplier nanoTime;
  private final Set<Watch> watches = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService timer;

  /** A watchdog on {@code nanoTime}, checked only when {@link #check()} is called (for tests). */
  Watchdog(LongSupplier nanoTime) {
    this(nanoTime, null);
  }

  private Watchdog(LongSupplier nanoTime, ScheduledExecutorService timer) {
    this.nanoTime = nanoTime;
    this.timer = timer;
  }

  /** A watchdog on the real clock, checking every {@link #PERIOD} on a daemon thread. */
  static Watchdog start() {
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "berth-render-watchdog");
              t.setDaemon(true);
              return t;
            });
    Watchdog watchdog = new Watchdog(System::nanoTime, timer);
    var unused =
        timer.scheduleWithFixedDelay(
            watchdog::check, PERIOD.toNanos(), PERIOD.toNanos(), TimeUnit.NANOSECONDS);
    return watchdog;
  }

  /**
   * Watches one page from now until the returned watch is closed.
   *
   * @param timeout how long the page may take in the browser (then {@link #SLACK} more)
   * @param aborted true once the page's lease ended; read from the watchdog's thread
   * @param kill what stops the page's browser; runs at most once, on the watchdog's thread
   */
  Watch watch(Duration timeout, BooleanSupplier aborted, Runnable kill) {
    Watch watch =
        new Watch(timeout, nanoTime.getAsLong() + timeout.plus(SLACK).toNanos(), aborted, kill);
    watches.add(watch);
    return watch;
  }

  /** Kills the browser of every watched page that is overdue. */
  void check() {
    long now = nanoTime.getAsLong();
    for (Watch watch : watches) {
      watch.check(now);
    }
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }

  /** One watched page. Close it when the page is done with the browser. */
  final class Watch implements AutoCloseable {
    private final Duration timeout;
    private final long deadline;
    private final BooleanSupplier aborted;
    private final Runnable kill;
    private long abortSeenAt;
    private boolean abortSeen;
    private boolean closed;
    private String fired;

    private Watch(Duration timeout, long deadline, BooleanSupplier aborted, Runnable kill) {
      this.timeout = timeout;
      this.deadline = deadline;
      this.aborted = aborted;
      this.kill = kill;
    }

    private synchronized void check(long now) {
      if (closed) {
        return;
      }
      if (now - deadline >= 0) {
        fire("did not finish within " + Crawl.seconds(timeout));
      } else if (aborted.getAsBoolean()) {
        if (!abortSeen) {
          abortSeen = true;
          abortSeenAt = now;
        } else if (now - abortSeenAt >= ABORT_GRACE.toNanos()) {
          fire("did not stop within " + Crawl.seconds(ABORT_GRACE) + " of its lease's end");
        }
      }
    }

    private void fire(String why) {
      closed = true;
      watches.remove(this);
      try {
        kill.run();
        fired = "the page " + why + "; its browser was killed";
      } catch (RuntimeException e) {
        // Never out of check(): the timer would stop checking every other page.
        fired = "the page " + why + "; killing its browser failed: " + e;
      }
    }

    /** Why the watchdog killed the page's browser; null when it did not. */
    synchronized String fired() {
      return fired;
    }

    /**
     * Ends the watch. Once this returns, the browser is killed only if {@link #fired()} says so: a
     * kill under way is waited for.
     */
    @Override
    public synchronized void close() {
      closed = true;
      watches.remove(this);
    }
  }
}
