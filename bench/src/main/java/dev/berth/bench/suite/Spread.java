package dev.berth.bench.suite;

import java.util.Arrays;

/**
 * The median of a set of per-round figures with their minimum and maximum: how the suite reports
 * every figure, so one disturbed round moves the range, not the result.
 *
 * <p>Immutable.
 */
public record Spread(double median, double min, double max) {

  /**
   * The median, minimum and maximum of {@code values}.
   *
   * @throws IllegalArgumentException when {@code values} is empty or holds a NaN
   */
  public static Spread of(double... values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("values: need at least one round");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    for (double v : sorted) {
      if (Double.isNaN(v)) {
        throw new IllegalArgumentException("values: NaN in " + Arrays.toString(values));
      }
    }
    int n = sorted.length;
    double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return new Spread(median, sorted[0], sorted[n - 1]);
  }

  /**
   * Round-by-round ratios {@code measured[i] / baseline[i]}: each round's figure against the
   * baseline of the same round, so slow drift of the machine cancels.
   *
   * @throws IllegalArgumentException when the lengths differ or a baseline is not positive
   */
  public static Spread ratios(double[] measured, double[] baseline) {
    if (measured.length != baseline.length) {
      throw new IllegalArgumentException(
          "rounds: " + measured.length + " measured vs " + baseline.length + " baseline");
    }
    double[] r = new double[measured.length];
    for (int i = 0; i < r.length; i++) {
      if (!(baseline[i] > 0)) {
        throw new IllegalArgumentException("baseline[" + i + "]: must be > 0, got " + baseline[i]);
      }
      r[i] = measured[i] / baseline[i];
    }
    return of(r);
  }
}
