package dev.berth.bench.fleet;

import java.util.Arrays;

/**
 * Checks the requests one host saw against its token bucket: in any window of length {@code w}, a
 * bucket of {@code burst} tokens refilled at {@code rate} per second admits at most {@code burst +
 * rate × w} requests. A pure function of the request times.
 *
 * <p>For each request {@code j} the worst window ending at it starts at some earlier request {@code
 * i}; its excess {@code (j − i + 1) − rate × (t_j − t_i)} is largest where {@code i − rate × t_i}
 * is smallest, so one pass keeping that minimum finds the worst window of every request in linear
 * time.
 *
 * <p>Stateless and thread-safe.
 */
public final class RateCheck {
  private RateCheck() {}

  /**
   * What one host saw.
   *
   * @param requests how many requests
   * @param worstExcess the most requests any window held beyond {@code rate × width}: at most
   *     {@code burst} while the limit holds (and at least 1 with any request)
   * @param violations requests that ended a window holding more than {@code burst + rate × (width +
   *     tolerance)}
   * @param peakRate the most requests in any window of {@code peakWindow}, per second
   *     <p>Immutable.
   */
  public record Result(int requests, double worstExcess, int violations, double peakRate) {}

  /**
   * Checks {@code times} (nanoseconds, any order) against {@code rate} per second and {@code
   * burst}.
   *
   * @param tolerance nanoseconds added to every window before counting a violation: the spread of
   *     the delay between the broker's grant and the worker's receipt, which can bring two requests
   *     closer together at the host than they were at the broker
   * @param peakWindow width of the sliding window of {@link Result#peakRate}, in nanoseconds
   */
  public static Result check(
      long[] times, double rate, int burst, long tolerance, long peakWindow) {
    if (!(rate > 0) || burst < 1 || tolerance < 0 || peakWindow <= 0) {
      throw new IllegalArgumentException(
          "rate check: need rate > 0, burst >= 1, tolerance >= 0, peakWindow > 0");
    }
    long[] t = times.clone();
    Arrays.sort(t);
    double allowed = burst + rate * tolerance / 1e9;
    double minStart = Double.POSITIVE_INFINITY; // min over i <= j of (i - rate * t_i)
    double worst = 0;
    int violations = 0;
    int peak = 0;
    int tail = 0;
    for (int j = 0; j < t.length; j++) {
      double tj = t[j] / 1e9;
      minStart = Math.min(minStart, j - rate * tj);
      double excess = (j - rate * tj) - minStart + 1;
      worst = Math.max(worst, excess);
      if (excess > allowed + 1e-9) {
        violations++;
      }
      while (t[j] - t[tail] >= peakWindow) {
        tail++;
      }
      peak = Math.max(peak, j - tail + 1);
    }
    return new Result(t.length, worst, violations, peak / (peakWindow / 1e9));
  }
}
