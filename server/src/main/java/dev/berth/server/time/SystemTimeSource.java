package dev.berth.server.time;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production {@link TimeSource}: {@link System#nanoTime()}, the system UTC clock, and one
 * daemon scheduler thread. Scheduled tasks must be short and must not block.
 */
public final class SystemTimeSource implements TimeSource, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SystemTimeSource.class);
  private final Clock wall = Clock.systemUTC();
  private final ScheduledExecutorService scheduler;

  public SystemTimeSource() {
    ScheduledThreadPoolExecutor executor =
        new ScheduledThreadPoolExecutor(
            1,
            runnable -> {
              Thread thread = new Thread(runnable, "berth-scheduler");
              thread.setDaemon(true);
              return thread;
            });
    // A cancelled task leaves the queue at once instead of at its time: every session stream's
    // hello deadline is cancelled at its hello, and would otherwise stay queued a session TTL.
    executor.setRemoveOnCancelPolicy(true);
    this.scheduler = executor;
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public Instant wallTime() {
    return wall.instant();
  }

  @Override
  public Cancellable schedule(Runnable task, long delayNanos) {
    ScheduledFuture<?> future =
        scheduler.schedule(guarded(task), Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
    return () -> future.cancel(false);
  }

  @Override
  public Cancellable scheduleAtFixedRate(Runnable task, long periodNanos) {
    ScheduledFuture<?> future =
        scheduler.scheduleAtFixedRate(
            guarded(task), periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    return () -> future.cancel(false);
  }

  /** A task that throws must not silently kill a periodic schedule. */
  private static Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        log.error("scheduled task failed", e);
      }
    };
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
