package dev.berth.bench.suite;

import com.google.common.base.CharMatcher;
import com.google.common.base.Splitter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time a process has used, read from {@code /proc/<pid>/stat}: user plus system time (fields 14
 * and 15, in clock ticks) of every thread of the process.
 *
 * <p>Stateless and thread-safe.
 */
public final class ProcStat {
  /** Linux's USER_HZ on every architecture the suite runs on; {@code getconf CLK_TCK}. */
  public static final long TICKS_PER_SECOND = 100;

  private static final Splitter FIELDS = Splitter.on(CharMatcher.whitespace()).omitEmptyStrings();

  private ProcStat() {}

  /**
   * User plus system ticks from one {@code /proc/<pid>/stat} line. The command name (field 2) is in
   * parentheses and may itself hold spaces or parentheses, so fields are counted after the last
   * {@code ')'}.
   *
   * @throws IllegalArgumentException when the line is not a stat line
   */
  public static long cpuTicks(String statLine) {
    int close = statLine.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException("stat line: no ')' after the command name: " + statLine);
    }
    List<String> f = fields(statLine.substring(close + 1));
    // f[0] is field 3 (state), so field n is f[n - 3].
    if (f.size() < 13) {
      throw new IllegalArgumentException("stat line: " + (f.size() + 2) + " fields, need 15");
    }
    try {
      return Long.parseLong(f.get(11)) + Long.parseLong(f.get(12));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("stat line: utime/stime not numbers: " + statLine, e);
    }
  }

  /** The fields of a line of a {@code /proc} file: separated by runs of whitespace. */
  static List<String> fields(String line) {
    return FIELDS.splitToList(line);
  }

  /** Microseconds of CPU the process {@code pid} has used so far. */
  public static long cpuMicros(long pid) {
    try {
      String line = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return cpuTicks(line) * 1_000_000 / TICKS_PER_SECOND;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/" + pid + "/stat", e);
    }
  }
}
