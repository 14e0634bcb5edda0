package dev.berth.server.performance;

/**
 * Outcomes within the sliding window: how many, how many succeeded, and duration percentiles.
 *
 * @param samples outcomes in the window
 * @param successRate the fraction that succeeded; 1 when there are none
 * @param p50Nanos median duration; 0 when there are none
 * @param p95Nanos 95th-percentile duration
 * @param p99Nanos 99th-percentile duration
 */
public record WindowStats(
    int samples, double successRate, long p50Nanos, long p95Nanos, long p99Nanos) {

  /** No outcomes. */
  public static final WindowStats EMPTY = new WindowStats(0, 1.0, 0, 0, 0);

  /** The fraction that failed; 0 when there are none. */
  public double failureRate() {
    return 1.0 - successRate;
  }
}
