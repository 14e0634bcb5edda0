package dev.berth.bench.suite;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A closed-loop load generator: each slot keeps exactly one operation in flight and starts the next
 * the moment the last completes, so the offered load is the concurrency, never a rate the server
 * cannot keep. Operations are asynchronous (gRPC callbacks), so thousands of slots need no threads.
 * Latency goes to an HdrHistogram {@link Recorder}; the server's CPU time is sampled at the start
 * and end of the window.
 *
 * <p>Thread-safe: {@link #run} keeps its state per call.
 */
public final class LoadGen {
  /** An operation started asynchronously; it must call {@code done} exactly once. */
  public interface Op {
    void start(Done done);
  }

  /** Completion of an {@link Op}: {@code error} is null on success. */
  public interface Done {
    void completed(Throwable error);
  }

  /**
   * What one window measured.
   *
   * @param ops operations completed inside the window
   * @param seconds the window's length
   * @param latency nanoseconds per completed operation
   * @param cpuMicros CPU the measured process used inside the window (0 when not sampled)
   */
  public record Result(long ops, double seconds, Histogram latency, long cpuMicros) {
    public double opsPerSecond() {
      return ops / seconds;
    }

    public double cpuMicrosPerOp() {
      return ops == 0 ? Double.NaN : (double) cpuMicros / ops;
    }

    /** A latency percentile in microseconds. */
    public double micros(double percentile) {
      return latency.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  private static final long DRAIN_TIMEOUT_SECONDS = 30;

  private LoadGen() {}

  /**
   * Runs {@code slots} concurrently for {@code duration}.
   *
   * @param cpuMicros the measured process's CPU time so far, sampled at both ends of the window
   * @throws IllegalStateException when an operation failed or did not finish within 30 s after the
   *     window
   */
  public static Result run(List<Op> slots, Duration duration, LongSupplier cpuMicros)
      throws InterruptedException {
    Recorder recorder = new Recorder(3);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch finished = new CountDownLatch(slots.size());
    Window window = new Window();
    long cpu0 = cpuMicros.getAsLong();
    window.start = System.nanoTime();
    for (Op op : slots) {
      new Slot(op, recorder, window, failure, finished).next();
    }
    long deadline = window.start + duration.toNanos();
    while (failure.get() == null && System.nanoTime() < deadline) {
      long left = deadline - System.nanoTime();
      TimeUnit.NANOSECONDS.sleep(Math.min(Math.max(left, 0), TimeUnit.MILLISECONDS.toNanos(50)));
    }
    long end = System.nanoTime();
    window.end = end; // volatile write: completions after this are not counted
    long cpu1 = cpuMicros.getAsLong();
    if (!finished.await(DRAIN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException(
          finished.getCount() + " operations still running 30 s after the window closed");
    }
    Throwable error = failure.get();
    if (error != null) {
      throw new IllegalStateException("an operation failed: " + error, error);
    }
    Histogram latency = recorder.getIntervalHistogram();
    long ops = window.completed.get();
    return new Result(ops, (end - window.start) / 1e9, latency, cpu1 - cpu0);
  }

  private static final class Window {
    volatile long start;
    volatile long end = Long.MAX_VALUE;
    final AtomicLong completed = new AtomicLong();
  }

  private static final class Slot implements Done {
    private final Op op;
    private final Recorder recorder;
    private final Window window;
    private final AtomicReference<Throwable> failure;
    private final CountDownLatch finished;
    private long startedAt;

    Slot(
        Op op,
        Recorder recorder,
        Window window,
        AtomicReference<Throwable> failure,
        CountDownLatch finished) {
      this.op = op;
      this.recorder = recorder;
      this.window = window;
      this.failure = failure;
      this.finished = finished;
    }

    void next() {
      startedAt = System.nanoTime();
      if (startedAt >= window.end || failure.get() != null) {
        finished.countDown();
        return;
      }
      try {
        op.start(this);
      } catch (RuntimeException e) {
        completed(e);
      }
    }

    @Override
    public void completed(Throwable error) {
      long now = System.nanoTime();
      if (error != null) {
        failure.compareAndSet(null, error);
        finished.countDown();
        return;
      }
      if (now < window.end) {
        recorder.recordValue(now - startedAt);
        window.completed.incrementAndGet();
      }
      next();
    }
  }
}
