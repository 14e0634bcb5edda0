package dev.berth.bench.fleet;

import java.util.ArrayList;
import java.util.List;

/**
 * Memory-pressure episodes as the workers saw them: every heartbeat answer carries the broker's
 * pressure level, and while pressure lasts every worker's answers say so, so an episode is a run of
 * answers reporting ELEVATED or CRITICAL with no gap longer than {@code mergeGap} between two of
 * them. Answers to different workers interleave around a change (one computed just before it
 * arrives just after another computed after it), which is why NONE answers inside such a run do not
 * split it. A pure function of the answers.
 *
 * <p>Stateless and thread-safe.
 */
public final class Episodes {
  private Episodes() {}

  /**
   * One episode: the first and last answer that reported pressure, and the highest level in
   * between.
   *
   * @param start nanoseconds since the start of the run
   * @param end nanoseconds since the start of the run
   * @param peakLevel 2 for ELEVATED, 3 for CRITICAL (the {@code PressureLevel} numbers)
   *     <p>Immutable.
   */
  public record Episode(long start, long end, int peakLevel) {
    public double seconds() {
      return (end - start) / 1e9;
    }

    public boolean overlaps(long from, long to) {
      return start < to && end >= from;
    }
  }

  /**
   * Episodes from heartbeat answers in time order.
   *
   * @param times when each answer arrived, non-decreasing
   * @param levels the level of each answer (1 NONE, 2 ELEVATED, 3 CRITICAL)
   * @param mergeGap episodes separated by less than this (nanoseconds) are one
   */
  public static List<Episode> from(long[] times, int[] levels, long mergeGap) {
    if (times.length != levels.length) {
      throw new IllegalArgumentException(
          "episodes: " + times.length + " times but " + levels.length + " levels");
    }
    List<Episode> out = new ArrayList<>();
    long start = -1;
    long end = -1;
    int peak = 0;
    for (int i = 0; i < times.length; i++) {
      if (i > 0 && times[i] < times[i - 1]) {
        throw new IllegalArgumentException("episodes: times must not decrease (index " + i + ")");
      }
      if (levels[i] < 2) {
        continue;
      }
      if (start >= 0 && times[i] - end < mergeGap) {
        end = times[i];
        peak = Math.max(peak, levels[i]);
        continue;
      }
      if (start >= 0) {
        out.add(new Episode(start, end, peak));
      }
      start = times[i];
      end = times[i];
      peak = levels[i];
    }
    if (start >= 0) {
      out.add(new Episode(start, end, peak));
    }
    return out;
  }
}
