package dev.berth.bench.fleet;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts a stretch of the run into windows of equal width and adds up, per window and job, the slot
 * time the workers held: the base of the share and utilization figures. A pure function of the
 * {@link Hold}s.
 *
 * <p>Immutable and thread-safe.
 *
 * @param from start of the first window (nanoseconds since the start of the run)
 * @param width width of every window, in nanoseconds
 * @param count how many windows
 */
public record Windows(long from, long width, int count) {

  public Windows {
    if (width <= 0 || count < 0) {
      throw new IllegalArgumentException("windows: width must be > 0 and count >= 0");
    }
  }

  /** As many whole windows of {@code width} as fit in {@code [from, to)}. */
  public static Windows covering(long from, long to, long width) {
    return new Windows(from, width, (int) Math.max(0, (to - from) / width));
  }

  public long start(int w) {
    return from + w * width;
  }

  public long end(int w) {
    return start(w) + width;
  }

  /** The middle of window {@code w}, in seconds since the start of the run, for charts. */
  public double midSeconds(int w) {
    return (start(w) + width / 2.0) / 1e9;
  }

  /** Seconds of slot time held by each job in each window: {@code [window][job]}. */
  public double[][] slotSeconds(List<Hold> holds, int jobs) {
    double[][] out = new double[count][jobs];
    for (Hold h : holds) {
      int first = (int) Math.max(0, Math.floorDiv(h.granted() - from, width));
      for (int w = first; w < count && start(w) < h.released(); w++) {
        out[w][h.job()] += h.overlap(start(w), end(w)) / 1e9;
      }
    }
    return out;
  }

  /** Grants received by each job in each window: {@code [window][job]}. */
  public long[][] grants(List<Hold> holds, int jobs) {
    long[][] out = new long[count][jobs];
    for (Hold h : holds) {
      if (h.granted() >= from) {
        long w = (h.granted() - from) / width;
        if (w < count) {
          out[(int) w][h.job()]++;
        }
      }
    }
    return out;
  }

  /** Each job's part of a row of per-job amounts; all zeros when the row sums to zero. */
  public static double[] shares(double[] perJob) {
    double total = 0;
    for (double v : perJob) {
      total += v;
    }
    double[] out = new double[perJob.length];
    for (int j = 0; j < out.length && total > 0; j++) {
      out[j] = perJob[j] / total;
    }
    return out;
  }

  /**
   * Each job's share of the grants in consecutive blocks of {@code block} grants (in the order they
   * were received), as the fair-share property is stated: "over any {@code block} consecutive
   * grants". Only grants inside windows whose {@code keep} flag is set count (all when {@code keep}
   * is null); a last, incomplete block is left out.
   */
  public List<double[]> grantShareBlocks(List<Hold> holds, int jobs, int block, boolean[] keep) {
    List<Hold> inside = new ArrayList<>();
    for (Hold h : holds) {
      if (h.granted() >= from && h.granted() < start(count)) {
        int w = (int) ((h.granted() - from) / width);
        if (keep == null || keep[w]) {
          inside.add(h);
        }
      }
    }
    inside.sort(Comparator.comparingLong(Hold::granted));
    List<double[]> out = new ArrayList<>();
    for (int b = 0; b + block <= inside.size(); b += block) {
      double[] counts = new double[jobs];
      for (int i = b; i < b + block; i++) {
        counts[inside.get(i).job()]++;
      }
      out.add(shares(counts));
    }
    return out;
  }
}
