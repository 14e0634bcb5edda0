package dev.berth.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The merged event logs of every process of a test ({@code events.log} of each daemon, plus any log
 * the test writes itself in the same format), as one list ordered by time. Every process on one
 * machine reads the same {@link System#nanoTime()}, so their times compare directly.
 *
 * <p>A line is {@code key=value} pairs separated by spaces and must carry {@code t}, {@code node}
 * and {@code ev}; a line that does not (the torn last line of a process killed while writing) is
 * skipped and counted in {@link #skipped()}. Immutable.
 */
public final class Timeline {
  /**
   * One line of an event log.
   *
   * @param t when the process logged it ({@code System.nanoTime()})
   * @param node the process's member id
   * @param ev the event: start, lead, follow, grant, readmit, end, session_open, session_end, or
   *     one a test adds (kill, pause, ...)
   * @param fields every other field, in the order of the line
   */
  public record Event(long t, String node, String ev, Map<String, String> fields) {
    public Event {
      fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /** A field, or an error naming it and the event when it is missing. */
    public String field(String name) {
      String v = fields.get(name);
      if (v == null) {
        throw new IllegalArgumentException("event has no " + name + ": " + this);
      }
      return v;
    }

    public long longField(String name) {
      return Long.parseLong(field(name));
    }

    /**
     * When the event happened: {@code at} (the broker's decision time, under its lock) for grants
     * and re-admissions, else {@code t}.
     */
    public long when() {
      String at = fields.get("at");
      return at != null ? Long.parseLong(at) : t;
    }

    /** The line in the event-log format. */
    public String line() {
      StringBuilder b = new StringBuilder("t=" + t + " node=" + node + " ev=" + ev);
      fields.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
      return b.toString();
    }
  }

  private static final Pattern SPACES = Pattern.compile(" +");

  private final List<Event> events;
  private final int skipped;

  private Timeline(List<Event> events, int skipped) {
    List<Event> sorted = new ArrayList<>(events);
    sorted.sort(Comparator.comparingLong(Event::when));
    this.events = List.copyOf(sorted);
    this.skipped = skipped;
  }

  /** Reads and merges the event logs; a file that does not exist counts as empty. */
  public static Timeline read(List<Path> files) {
    List<String> lines = new ArrayList<>();
    for (Path f : files) {
      try {
        if (Files.exists(f)) {
          lines.addAll(Files.readAllLines(f));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read event log " + f, e);
      }
    }
    return parse(lines);
  }

  /** Parses event-log lines, from any number of processes, in any order. */
  public static Timeline parse(List<String> lines) {
    List<Event> events = new ArrayList<>();
    int skipped = 0;
    for (String line : lines) {
      Event e = parseLine(line);
      if (e == null) {
        skipped++;
      } else {
        events.add(e);
      }
    }
    return new Timeline(events, skipped);
  }

  /** A timeline of events built by hand (the checker's own tests). */
  public static Timeline of(List<Event> events) {
    return new Timeline(events, 0);
  }

  private static Event parseLine(String line) {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String part : SPACES.split(line.trim(), -1)) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        return null;
      }
      fields.put(part.substring(0, eq), part.substring(eq + 1));
    }
    String t = fields.remove("t");
    String node = fields.remove("node");
    String ev = fields.remove("ev");
    if (t == null || node == null || ev == null) {
      return null;
    }
    try {
      return new Event(Long.parseLong(t), node, ev, fields);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Every event, ordered by {@link Event#when()}. */
  public List<Event> events() {
    return events;
  }

  /** Lines that could not be read (a torn last line after SIGKILL). */
  public int skipped() {
    return skipped;
  }

  /** How many events are {@code ev}. */
  public long count(String ev) {
    return events.stream().filter(e -> e.ev().equals(ev)).count();
  }
}
