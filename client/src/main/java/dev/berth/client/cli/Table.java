package dev.berth.client.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table with a header row and aligned columns, two spaces apart. Columns whose header
 * is listed as numeric are right-aligned. Not thread-safe.
 */
final class Table {
  private final List<String> headers;
  private final boolean[] right;
  private final List<List<String>> rows = new ArrayList<>();

  /**
   * @param headers column names; a name ending in {@code >} is right-aligned (the mark is cut)
   */
  Table(String... headers) {
    this.headers = new ArrayList<>();
    this.right = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      String h = headers[i];
      right[i] = h.endsWith(">");
      this.headers.add(right[i] ? h.substring(0, h.length() - 1) : h);
    }
  }

  Table row(Object... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException(
          "row has " + cells.length + " cells, table has " + headers.size() + " columns");
    }
    List<String> row = new ArrayList<>();
    for (Object cell : cells) {
      row.add(cell == null ? "" : Text.printable(String.valueOf(cell)));
    }
    rows.add(row);
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  void print(PrintStream out) {
    int[] width = new int[headers.size()];
    for (int c = 0; c < width.length; c++) {
      width[c] = headers.get(c).length();
      for (List<String> row : rows) {
        width[c] = Math.max(width[c], row.get(c).length());
      }
    }
    line(out, headers, width);
    for (List<String> row : rows) {
      line(out, row, width);
    }
  }

  private void line(PrintStream out, List<String> cells, int[] width) {
    StringBuilder b = new StringBuilder();
    for (int c = 0; c < cells.size(); c++) {
      String cell = cells.get(c);
      boolean last = c == cells.size() - 1;
      if (c > 0) {
        b.append("  ");
      }
      if (right[c]) {
        b.append(" ".repeat(width[c] - cell.length())).append(cell);
      } else {
        b.append(cell);
        if (!last) {
          b.append(" ".repeat(width[c] - cell.length()));
        }
      }
    }
    out.println(b.toString().stripTrailing());
  }
}
