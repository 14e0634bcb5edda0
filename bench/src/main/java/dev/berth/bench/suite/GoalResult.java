package dev.berth.bench.suite;

/**
 * One line of the suite's table: a goal's figure as a ratio to its baseline, the target it must
 * meet, and what was measured, or why it was skipped.
 *
 * @param goal e.g. {@code G1}
 * @param metric what the ratio compares, e.g. {@code p50 latency, cycle / 2 pings}
 * @param ratio the per-round ratios (null when skipped)
 * @param target the bound the median ratio must meet
 * @param detail the absolute figures behind the ratio, for the reader
 * @param skipped why the goal did not run, or null when it did
 *     <p>Immutable.
 */
public record GoalResult(
    String goal, String metric, Spread ratio, Target target, String detail, String skipped) {

  /** A bound on a ratio: at most or at least {@code value}. */
  public record Target(boolean atMost, double value) {
    public static Target atMost(double value) {
      return new Target(true, value);
    }

    public static Target atLeast(double value) {
      return new Target(false, value);
    }

    public boolean met(double ratio) {
      return atMost ? ratio <= value : ratio >= value;
    }

    @Override
    public String toString() {
      return (atMost ? "<= " : ">= ") + Report.number(value);
    }
  }

  /** What the table says of a goal. */
  public enum Verdict {
    PASS,
    MISS,
    SKIPPED
  }

  public static GoalResult measured(
      String goal, String metric, Spread ratio, Target target, String detail) {
    return new GoalResult(goal, metric, ratio, target, detail, null);
  }

  public static GoalResult skipped(String goal, String metric, Target target, String why) {
    return new GoalResult(goal, metric, null, target, "", why);
  }

  /** PASS when the median ratio meets the target; the median, not the best round. */
  public Verdict verdict() {
    if (skipped != null) {
      return Verdict.SKIPPED;
    }
    return target.met(ratio.median()) ? Verdict.PASS : Verdict.MISS;
  }
}
