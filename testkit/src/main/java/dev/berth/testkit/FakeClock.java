package dev.berth.testkit;

import java.time.Duration;
import java.time.Instant;
import java.util.PriorityQueue;

/**
 * A clock that moves only when a test moves it: monotonic nanoseconds, a wall clock that keeps step
 * with them, and a queue of scheduled tasks that {@link #advance} runs in time order as the clock
 * passes their due time. The server's fake {@code TimeSource} and the SDK's fake {@code Ticker} are
 * thin adapters over it, so every unit test on either side moves time the same way.
 *
 * <p>Thread-safe: any thread may read the time, schedule and cancel. Tasks run only inside {@code
 * advance}, on the advancing thread, one at a time and with no lock held, so a task may schedule or
 * cancel others (a task due within the same advance runs in it). One thread at a time should
 * advance.
 */
public final class FakeClock {
  /** The wall time at monotonic zero; {@link #wallTime()} is this plus {@link #nanoTime()}. */
  public static final Instant WALL_AT_ZERO = Instant.parse("2026-01-01T00:00:00Z");

  /** Where a new clock starts: one second past zero, so no test meets a zero timestamp. */
  public static final long START_NANOS = 1_000_000_000L;

  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private long now;
  private long seq;

  /** A clock at {@link #START_NANOS}. */
  public FakeClock() {
    this(START_NANOS);
  }

  /** A clock at {@code startNanos}. */
  public FakeClock(long startNanos) {
    this.now = startNanos;
  }

  /** A scheduled task. Thread-safe. */
  public final class Task implements Comparable<Task> {
    private final Runnable runnable;
    private final long periodNanos;
    private final long order;
    private long dueNanos;

    private Task(Runnable runnable, long dueNanos, long periodNanos, long order) {
      this.runnable = runnable;
      this.dueNanos = dueNanos;
      this.periodNanos = periodNanos;
      this.order = order;
    }

    /** Takes the task out of the queue: it does not run again. A no-op once cancelled. */
    public void cancel() {
      synchronized (FakeClock.this) {
        tasks.remove(this);
      }
    }

    @Override
    public int compareTo(Task o) {
      int byTime = Long.compare(dueNanos, o.dueNanos);
      return byTime != 0 ? byTime : Long.compare(order, o.order);
    }
  }

  /** Monotonic nanoseconds; only differences are meaningful. */
  public synchronized long nanoTime() {
    return now;
  }

  /** The wall clock, {@link #WALL_AT_ZERO} plus {@link #nanoTime()}. */
  public synchronized Instant wallTime() {
    return WALL_AT_ZERO.plusNanos(now);
  }

  /** Runs {@code task} once the clock has moved {@code delayNanos} (at least 0) from now. */
  public synchronized Task schedule(Runnable task, long delayNanos) {
    return enqueue(task, now + Math.max(0, delayNanos), 0);
  }

  /** Runs {@code task} every {@code periodNanos}, the first time one period from now. */
  public synchronized Task scheduleAtFixedRate(Runnable task, long periodNanos) {
    if (periodNanos <= 0) {
      throw new IllegalArgumentException("periodNanos: must be positive, got " + periodNanos);
    }
    return enqueue(task, now + periodNanos, periodNanos);
  }

  private Task enqueue(Runnable task, long dueNanos, long periodNanos) {
    Task t = new Task(task, dueNanos, periodNanos, seq++);
    tasks.add(t);
    return t;
  }

  /**
   * Moves the clock forward by {@code by}, running every task that falls due on the way in the
   * order of its due time (then of scheduling); the clock reads each task's due time while it runs.
   *
   * @throws IllegalArgumentException when {@code by} is negative: a monotonic clock never goes back
   */
  public void advance(Duration by) {
    if (by.isNegative()) {
      throw new IllegalArgumentException("by: must not be negative, got " + by);
    }
    long target;
    synchronized (this) {
      target = now + by.toNanos();
    }
    while (true) {
      Task next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.dueNanos - target > 0) {
          now = target;
          return;
        }
        tasks.poll();
        now = Math.max(now, next.dueNanos);
        if (next.periodNanos > 0) {
          next.dueNanos += next.periodNanos;
          tasks.add(next); // a cancel while it runs takes it out again
        }
      }
      next.runnable.run();
    }
  }

  /**
   * Moves the clock forward by {@code by} without running anything: the process stood still (a long
   * GC pause, SIGSTOP). The tasks that fell due in it, a periodic one once per period missed, run
   * back to back at the next {@link #advance}, as a fixed-rate executor catches up on waking.
   *
   * @throws IllegalArgumentException when {@code by} is negative: a monotonic clock never goes back
   */
  public synchronized void stall(Duration by) {
    if (by.isNegative()) {
      throw new IllegalArgumentException("by: must not be negative, got " + by);
    }
    now += by.toNanos();
  }

  /** Tasks scheduled and not yet run (once) or cancelled. */
  public synchronized int pendingTasks() {
    return tasks.size();
  }
}
