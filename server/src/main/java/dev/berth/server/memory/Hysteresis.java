package dev.berth.server.memory;

/**
 * The pressure level of one memory source (the fleet, one worker, the broker's heap) with
 * hysteresis: on at {@code on}, off only at {@code off} or below, CRITICAL from {@code critical}
 * until the ratio falls below {@code on}. A ratio between two thresholds keeps the current level,
 * so a value oscillating around one threshold cannot make the level flap.
 *
 * <p>Not thread-safe: owned by {@link FleetMemory}, under the broker's lock.
 */
final class Hysteresis {
  /** The thresholds and the config keys that name them in triggers. */
  record Thresholds(
      double on, String onKey, double off, String offKey, double critical, String criticalKey) {}

  private Thresholds thresholds;
  private PressureLevel level = PressureLevel.NONE;
  private String transition = "";

  Hysteresis(Thresholds thresholds) {
    this.thresholds = thresholds;
  }

  PressureLevel level() {
    return level;
  }

  /** The rule that caused the last level change, e.g. {@code >= pressure_on 0.85}. */
  String transition() {
    return transition;
  }

  /** New thresholds; the level is kept until the next {@link #update}. */
  void thresholds(Thresholds value) {
    this.thresholds = value;
  }

  /**
   * Moves the level for a new usage ratio.
   *
   * @param ratio usage / limit, or NaN when no limit is known (no pressure then)
   * @return true when the level changed
   */
  boolean update(double ratio) {
    Thresholds t = thresholds;
    PressureLevel next = next(ratio);
    if (next == level) {
      return false;
    }
    String rule;
    if (Double.isNaN(ratio)) {
      rule = "with no limit known";
    } else if (next == PressureLevel.CRITICAL) {
      rule = ">= " + t.criticalKey() + " " + Ratios.format(t.critical());
    } else if (next == PressureLevel.NONE) {
      rule = "<= " + t.offKey() + " " + Ratios.format(t.off());
    } else if (level == PressureLevel.CRITICAL) {
      rule = "< " + t.onKey() + " " + Ratios.format(t.on());
    } else {
      rule = ">= " + t.onKey() + " " + Ratios.format(t.on());
    }
    level = next;
    transition = rule;
    return true;
  }

  /**
   * The level {@link #update} would move to for {@code ratio}, without moving it: the current level
   * when the ratio lies between two thresholds.
   */
  PressureLevel next(double ratio) {
    Thresholds t = thresholds;
    if (Double.isNaN(ratio)) {
      return PressureLevel.NONE;
    } else if (ratio >= t.critical()) {
      return PressureLevel.CRITICAL;
    } else if (level != PressureLevel.NONE && ratio <= t.off()) {
      return PressureLevel.NONE;
    } else if (level == PressureLevel.CRITICAL && ratio < t.on()) {
      return PressureLevel.ELEVATED;
    } else if (level == PressureLevel.NONE && ratio >= t.on()) {
      return PressureLevel.ELEVATED;
    }
    return level;
  }
}
