package dev.berth.bench;

import com.codahale.metrics.Clock;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Timer;
import dev.berth.server.metrics.HistogramMeter;
import dev.berth.server.metrics.WindowedHdrReservoir;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * The acquire latency timer as the broker records it, from two threads at once as two event loops
 * do: Dropwizard's timer, whose meter marks every value, against the same timer with a {@link
 * HistogramMeter}, whose rates are worked out when read. Both over the broker's windowed
 * HdrHistogram reservoir.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
@Threads(2)
public class LatencyTimerBench {
  private static final long LATENCY_NANOS = 17_000;

  private final Timer dropwizard = new Timer(reservoir(), Clock.defaultClock());
  private final Timer histogramMeter =
      HistogramMeter.timer(new Histogram(reservoir()), Clock.defaultClock());

  private static WindowedHdrReservoir reservoir() {
    return new WindowedHdrReservoir(60, TimeUnit.SECONDS, Clock.defaultClock());
  }

  /** Dropwizard's meter: a clock read and four LongAdder adds beside the histogram. */
  @Benchmark
  public void dropwizardMeter() {
    dropwizard.update(LATENCY_NANOS, TimeUnit.NANOSECONDS);
  }

  /** The histogram alone counts; the rates are derived on read. */
  @Benchmark
  public void histogramMeter() {
    histogramMeter.update(LATENCY_NANOS, TimeUnit.NANOSECONDS);
  }
}
