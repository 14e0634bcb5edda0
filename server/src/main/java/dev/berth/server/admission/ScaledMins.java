package dev.berth.server.admission;

/**
 * The rule that scales the jobs' {@code min} of one pool to the part of it that can be granted:
 * what each job is guaranteed (served first while it holds fewer) when degradation has lowered the
 * pool's effective limit, or a new cluster leader holds slots of it back for leases its predecessor
 * may have granted (then the usable part is the effective limit less those slots). The fair queue's
 * order ({@link Job#belowMin}) and admission's facts and Explain ({@link
 * AdmissionController#facts}) both read what {@link Jobs#guarantee} stored from this rule, so the
 * two cannot disagree.
 *
 * <p>With {@code base = max(configured, sum of the mins)} (the configuration keeps the sum within
 * the configured limit, so the base is that limit), each job's exact share is {@code min ×
 * effective / base}. The guarantees together are {@code ⌊sum × effective / base⌋}: each job gets
 * its share rounded down, and the slots that rounding left over go one each to the jobs with the
 * largest fractions (ties: the job configured first). So:
 *
 * <ul>
 *   <li>the part of the pool promised to mins stays the part the configuration promised (at most
 *       {@code sum / configured}), and the rest, shared by weight, shrinks in proportion: a job
 *       without a min keeps its share of a degraded pool instead of starving;
 *   <li>the guarantees never add up to more than the effective limit, no job is guaranteed more
 *       than its {@code min}, and each is within one slot of its exact share;
 *   <li>at the configured limit (not degraded) every job keeps its {@code min} exactly.
 * </ul>
 */
public final class ScaledMins {
  private ScaledMins() {}

  /**
   * Each job's guaranteed share of a pool.
   *
   * @param mins each job's {@code min} of the kind, ≥ 0, in configuration order
   * @param effective the part of the pool that can be granted: its effective limit less the slots
   *     held back after a change of cluster leader, ≥ 0
   * @param configured the pool's configured limit, ≥ 0
   * @return the guarantees, in the order of {@code mins} (a new array)
   */
  public static int[] scale(int[] mins, int effective, int configured) {
    long sum = 0;
    for (int min : mins) {
      sum += min;
    }
    long base = Math.max(configured, sum);
    int[] out = mins.clone();
    if (sum == 0 || effective >= base) {
      return out;
    }
    long eff = Math.max(0, effective);
    long left = sum * eff / base;
    long[] remainders = new long[mins.length];
    for (int i = 0; i < mins.length; i++) {
      long share = mins[i] * eff;
      out[i] = (int) (share / base);
      remainders[i] = share % base;
      left -= out[i];
    }
    // Fewer slots are left than jobs with a fraction (the fractions sum to less than that count).
    for (; left > 0; left--) {
      int best = -1;
      for (int i = 0; i < mins.length; i++) {
        if (remainders[i] > 0 && (best < 0 || remainders[i] > remainders[best])) {
          best = i;
        }
      }
      out[best]++;
      remainders[best] = 0;
    }
    return out;
  }
}
