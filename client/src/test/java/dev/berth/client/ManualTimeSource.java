package dev.berth.client;

import dev.berth.server.time.TimeSource;
import java.time.Duration;
import java.time.Instant;
import java.util.PriorityQueue;

/**
 * The broker's clock in these tests: it moves only when a test calls {@link #advance}, which runs
 * the tasks that fall due on the way, in order, on the advancing thread. Thread-safe.
 */
final class ManualTimeSource implements TimeSource {
  private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private long now = 1_000_000_000L;
  private long seq;

  private final class Task implements Comparable<Task>, Cancellable {
    final Runnable runnable;
    final long periodNanos;
    final long order = seq++;
    long dueNanos;

    Task(Runnable runnable, long dueNanos, long periodNanos) {
      this.runnable = runnable;
      this.dueNanos = dueNanos;
      this.periodNanos = periodNanos;
    }

    @Override
    public int compareTo(Task o) {
      int byTime = Long.compare(dueNanos, o.dueNanos);
      return byTime != 0 ? byTime : Long.compare(order, o.order);
    }

    @Override
    public void cancel() {
      synchronized (ManualTimeSource.this) {
        tasks.remove(this);
      }
    }
  }

  @Override
  public synchronized long nanoTime() {
    return now;
  }

  @Override
  public synchronized Instant wallTime() {
    return EPOCH.plusNanos(now);
  }

  @Override
  public synchronized Cancellable schedule(Runnable task, long delayNanos) {
    Task t = new Task(task, now + Math.max(0, delayNanos), 0);
    tasks.add(t);
    return t;
  }

  @Override
  public synchronized Cancellable scheduleAtFixedRate(Runnable task, long periodNanos) {
    Task t = new Task(task, now + periodNanos, periodNanos);
    tasks.add(t);
    return t;
  }

  /** Moves the clock forward, running every task that falls due on the way. */
  void advance(Duration by) {
    long target;
    synchronized (this) {
      target = now + by.toNanos();
    }
    while (true) {
      Task next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.dueNanos > target) {
          now = target;
          return;
        }
        tasks.poll();
        now = Math.max(now, next.dueNanos);
        if (next.periodNanos > 0) {
          next.dueNanos += next.periodNanos;
          tasks.add(next);
        }
      }
      next.runnable.run();
    }
  }
}
