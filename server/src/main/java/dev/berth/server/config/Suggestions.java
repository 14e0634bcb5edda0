package dev.berth.server.config;

import java.util.Collection;

/** "Did you mean" hints for mistyped names, by edit distance. */
final class Suggestions {
  private Suggestions() {}

  /**
   * {@code " (did you mean X?)"} for the closest candidate within a few edits, or "" when none is
   * close.
   */
  static String didYouMean(String name, Collection<String> candidates) {
    String best = closest(name, candidates);
    return best == null ? "" : " (did you mean " + best + "?)";
  }

  /** The candidate closest to {@code name}, or null when none is within a third of its length. */
  static String closest(String name, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : candidates) {
      int d = distance(name, candidate);
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    int allowed = Math.max(2, name.length() / 3);
    return bestDistance <= allowed ? best : null;
  }

  /** Levenshtein distance. */
  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
