package dev.berth.bench.suite;

import java.util.List;
import java.util.Locale;

/**
 * The suite's result table, as plain text for the terminal and as Markdown for the docs. *
 *
 * <p>Stateless and thread-safe.
 */
public final class Report {
  private Report() {}

  /** Three significant figures at most, no exponent: {@code 0.0123}, {@code 1.05}, {@code 1234}. */
  public static String number(double v) {
    double a = Math.abs(v);
    if (a >= 100 || v == 0) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    int decimals = 2 - (int) Math.floor(Math.log10(a));
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  /** {@code 1.02 (0.98–1.10)}: median, then the range over rounds. */
  public static String spread(Spread s) {
    return number(s.median()) + " (" + number(s.min()) + "-" + number(s.max()) + ")";
  }

  /** A fixed-width table: goal, metric, ratio, target, verdict, then the detail. */
  public static String text(List<GoalResult> results) {
    String[] header = {"goal", "metric", "ratio median (min-max)", "target", "verdict", "detail"};
    String[][] rows = new String[results.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = cells(results.get(i));
    }
    int[] width = new int[header.length - 1];
    for (int c = 0; c < width.length; c++) {
      width[c] = header[c].length();
      for (String[] row : rows) {
        width[c] = Math.max(width[c], row[c].length());
      }
    }
    StringBuilder out = new StringBuilder();
    line(out, header, width);
    for (String[] row : rows) {
      line(out, row, width);
    }
    return out.toString();
  }

  /** The same table in Markdown, for docs/benchmarks.md. */
  public static String markdown(List<GoalResult> results) {
    StringBuilder out = new StringBuilder();
    out.append("| goal | metric | ratio median (min-max) | target | verdict | detail |\n");
    out.append("|---|---|---|---|---|---|\n");
    for (GoalResult r : results) {
      out.append("| ").append(String.join(" | ", cells(r))).append(" |\n");
    }
    return out.toString();
  }

  private static String[] cells(GoalResult r) {
    String ratio = r.ratio() == null ? "-" : spread(r.ratio());
    String detail = r.skipped() != null ? r.skipped() : r.detail();
    return new String[] {
      r.goal(), r.metric(), ratio, r.target().toString(), r.verdict().name(), detail
    };
  }

  private static void line(StringBuilder out, String[] cells, int[] width) {
    for (int c = 0; c < cells.length; c++) {
      String cell = cells[c];
      out.append(cell);
      if (c < width.length) {
        out.append(" ".repeat(width[c] - cell.length() + 2));
      }
    }
    out.append('\n');
  }
}
