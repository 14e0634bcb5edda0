package dev.berth.bench.fleet;

import java.util.Arrays;

/**
 * How a host's request rate came back after the site stopped answering 429: the broker lowers the
 * host's rate by {@code decrease_factor} on a 429 and then adds {@code recovery_step} back per
 * success, up to the configured rate. {@link #expectedSeconds} is that rule's time to full rate at
 * full demand; {@link #recoveredAfter} measures when the requests the workers sent reached a
 * fraction of the configured rate. Pure functions.
 *
 * <p>Stateless and thread-safe.
 */
public final class Recovery {
  private Recovery() {}

  /**
   * Seconds from the first success after a 429 to the configured rate, when every token is used at
   * once: the k-th request after the pause goes {@code 1 / rate_k} after the one before, where
   * {@code rate_k = min(rate, rate × factor + k × step)}.
   */
  public static double expectedSeconds(double rate, double factor, double step) {
    if (!(factor > 0 && factor < 1)) {
      throw new IllegalArgumentException("recovery: need 0 < factor < 1");
    }
    return secondsFrom(rate * factor, rate, step);
  }

  /**
   * Seconds from the first success to the configured {@code rate} when the host starts at {@code
   * start} requests per second (for example the broker's {@code min_rate} after a long storm).
   */
  public static double secondsFrom(double start, double rate, double step) {
    if (!(rate > 0) || !(start > 0) || !(step > 0)) {
      throw new IllegalArgumentException("recovery: need rate > 0, start > 0, step > 0");
    }
    double seconds = 0;
    for (int k = 0; start + k * step < rate; k++) {
      seconds += 1 / (start + k * step);
    }
    return seconds;
  }

  /**
   * Seconds after {@code from} at which a sliding window of {@code window} nanoseconds, ending at a
   * request, first held at least {@code fraction × rate × window} requests; NaN when it never did.
   * Only requests at or after {@code from} count.
   */
  public static double recoveredAfter(
      long[] times, long from, double rate, double fraction, long window) {
    long[] t = times.clone();
    Arrays.sort(t);
    double needed = fraction * rate * window / 1e9;
    int tail = 0;
    for (int j = 0; j < t.length; j++) {
      if (t[j] < from) {
        tail = j + 1;
        continue;
      }
      while (t[j] - t[tail] >= window) {
        tail++;
      }
      if (t[j] - from >= window && j - tail + 1 >= needed) {
        return (t[j] - from) / 1e9;
      }
    }
    return Double.NaN;
  }

  /** Requests per second in consecutive one-second bins from {@code from} to {@code to}. */
  public static double[] perSecond(long[] times, long from, long to) {
    int bins = (int) Math.max(0, (to - from) / 1_000_000_000L);
    double[] out = new double[bins];
    for (long t : times) {
      if (t >= from) {
        long b = (t - from) / 1_000_000_000L;
        if (b < bins) {
          out[(int) b]++;
        }
      }
    }
    return out;
  }
}
