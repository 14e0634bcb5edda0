package dev.berth.bench.suite;

import java.util.ArrayList;
import java.util.List;

/**
 * The order a goal runs its variants in: one warm-up of each first, then rounds that interleave
 * them (A B A B …), so a machine that slows down or speeds up during the run weighs on baseline and
 * measurement alike.
 *
 * <p>Stateless and thread-safe.
 */
public final class Schedule {
  private Schedule() {}

  /** One run of one variant; warm-ups are measured but not reported. */
  public record Step(String variant, int round, boolean warmUp) {}

  /**
   * The steps of a run: a warm-up of each variant, then {@code rounds} rounds of all of them.
   *
   * @param variants the variants in the order each round runs them, baseline first
   * @param rounds measured rounds, at least 1
   */
  public static List<Step> interleaved(List<String> variants, int rounds) {
    if (variants.isEmpty()) {
      throw new IllegalArgumentException("variants: need at least one");
    }
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds: must be at least 1, got " + rounds);
    }
    List<Step> steps = new ArrayList<>();
    for (String v : variants) {
      steps.add(new Step(v, 0, true));
    }
    for (int r = 1; r <= rounds; r++) {
      for (String v : variants) {
        steps.add(new Step(v, r, false));
      }
    }
    return steps;
  }
}
