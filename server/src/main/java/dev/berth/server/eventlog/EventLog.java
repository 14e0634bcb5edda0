package dev.berth.server.eventlog;

import dev.berth.server.broker.BrokerListener;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends one line per grant, re-admission, lease end, session open and end, and change of role to
 * a file ({@code events.log}), so that a test can merge the logs of every process of a cluster into
 * one timeline and check it (the fault suite's timeline checker). Off by default.
 *
 * <p>A line is {@code key=value} pairs separated by spaces, in this order: {@code t} (the monotonic
 * time, {@link System#nanoTime()}, which every process on one machine shares), {@code node} (the
 * cluster member id, or {@code single}), {@code ev} (the event), then the event's fields:
 *
 * <ul>
 *   <li>{@code start epoch} and {@code lead epoch}: the process started (a lone broker grants from
 *       then on with this epoch) or became the ready leader with this cluster epoch; {@code
 *       follow}: it stopped leading and ended its sessions;
 *   <li>{@code grant}/{@code readmit} {@code lease kind host token epoch session at}: a new grant,
 *       or a lease re-declared by its resuming worker and kept with its id and token; {@code epoch}
 *       is the epoch of the granting broker; {@code at} is the broker's own decision time, read
 *       under its lock, so on one node {@code at} orders grants exactly as their tokens. A lease a
 *       new leader loads from its replica is re-admitted with its first grant's time, as the
 *       replica keeps it (milliseconds of the wall clock), so that it carries the same lease on;
 *   <li>{@code end lease kind host token how}: a lease ended ({@code how} a {@link LeaseEnd});
 *   <li>{@code session_open session worker resumed} and {@code session_end session worker expired}.
 * </ul>
 *
 * <p>An empty host is written {@code -}; whitespace in ids becomes {@code _}. The broker tells its
 * listeners after releasing its lock, so {@code t} of an event lies after the moment the broker
 * decided it by the listener's delay (usually microseconds; a GC pause at most). Grants carry
 * {@code at}, which has no such delay.
 *
 * <p>Writing never blocks the broker: lines go to a bounded queue that one writer thread empties
 * into a buffered file, flushed whenever the queue runs empty; a line that finds the queue full is
 * dropped and counted ({@link #dropped()}, the {@code berth_events_log_dropped} gauge).
 * Thread-safe.
 */
public final class EventLog implements BrokerListener, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventLog.class);

  /** Lines waiting for the writer; beyond this they are dropped. */
  public static final int DEFAULT_CAPACITY = 65_536;

  private final Path file;
  private final String node;
  private final LongSupplier clock;
  private final BlockingQueue<String> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private final BufferedWriter out;
  private final Thread writer;
  private volatile long epoch;
  private volatile boolean closed;

  /**
   * Opens {@code file} for appending and starts the writer thread.
   *
   * @param node this process's cluster member id, or {@code single}
   * @param epoch the epoch the broker starts with
   * @throws UncheckedIOException when the file cannot be opened
   */
  public static EventLog open(Path file, String node, long epoch) {
    EventLog events = new EventLog(file, node, epoch, System::nanoTime, DEFAULT_CAPACITY);
    events.start();
    return events;
  }

  /** An event log not writing yet ({@link #start}); for tests with a fake clock. */
  EventLog(Path file, String node, long epoch, LongSupplier clock, int capacity) {
    this.file = file;
    this.node = clean(node);
    this.clock = clock;
    this.epoch = epoch;
    this.queue = new ArrayBlockingQueue<>(capacity);
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      this.out =
          Files.newBufferedWriter(
              file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the event log " + file, e);
    }
    this.writer = new Thread(this::drain, "berth-event-log");
    this.writer.setDaemon(true);
    line("start", "epoch=" + epoch);
  }

  void start() {
    writer.start();
  }

  /** The file written. */
  public Path file() {
    return file;
  }

  /** Lines dropped because the queue was full (or the log closed). */
  public long dropped() {
    return dropped.get();
  }

  /** Lines written to the file so far. */
  public long written() {
    return written.get();
  }

  /** This process became the ready leader with {@code clusterEpoch}. */
  public void leading(long clusterEpoch) {
    epoch = clusterEpoch;
    line("lead", "epoch=" + clusterEpoch);
  }

  /** This process stopped leading (its broker ended its sessions). */
  public void following() {
    line("follow", "");
  }

  @Override
  public void granted(Lease lease, String workerId, String job) {
    grantLine("grant", lease, FencingTokens.epochOf(lease.fencingToken()));
  }

  @Override
  public void readmitted(Lease lease, String workerId, String job) {
    grantLine("readmit", lease, epoch);
  }

  private void grantLine(String event, Lease lease, long grantEpoch) {
    line(
        event,
        leaseFields(lease)
            + " epoch="
            + grantEpoch
            + " session="
            + clean(lease.sessionId())
            + " at="
            + lease.grantedAtNanos());
  }

  @Override
  public void ended(
      Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome, String job) {
    line("end", leaseFields(lease) + " how=" + how);
  }

  @Override
  public void sessionOpened(String sessionId, String workerId, boolean resumed) {
    line(
        "session_open",
        "session=" + clean(sessionId) + " worker=" + clean(workerId) + " resumed=" + resumed);
  }

  @Override
  public void sessionEnded(String sessionId, String workerId, boolean expired) {
    line(
        "session_end",
        "session=" + clean(sessionId) + " worker=" + clean(workerId) + " expired=" + expired);
  }

  private static String leaseFields(Lease lease) {
    return "lease="
        + clean(lease.id())
        + " kind="
        + lease.kind()
        + " host="
        + (lease.host().isEmpty() ? "-" : clean(lease.host()))
        + " token="
        + lease.fencingToken();
  }

  /** Takes the time now, in the caller's thread, and queues the line without waiting. */
  private void line(String event, String fields) {
    long t = clock.getAsLong();
    String text =
        "t=" + t + " node=" + node + " ev=" + event + (fields.isEmpty() ? "" : " " + fields);
    if (closed || !queue.offer(text)) {
      if (dropped.getAndIncrement() == 0) {
        log.warn("event log {}: queue full, dropping lines (counted)", file);
      }
    }
  }

  private static String clean(String s) {
    if (s.isEmpty()) {
      return "-";
    }
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      b.append(Character.isWhitespace(c) || c == '=' ? '_' : c);
    }
    return b.toString();
  }

  private void drain() {
    List<String> batch = new ArrayList<>();
    try {
      while (true) {
        String first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closed) {
            out.flush();
            return; // closed and nothing left: every line offered before close is written
          }
          continue;
        }
        batch.add(first);
        queue.drainTo(batch);
        for (String line : batch) {
          out.write(line);
          out.newLine();
        }
        written.addAndGet(batch.size());
        batch.clear();
        if (queue.isEmpty()) {
          out.flush();
        }
      }
    } catch (IOException e) {
      log.error("event log {}: write failed; no more events are written", file, e);
      closed = true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Writes what is queued, then closes the file. */
  @Override
  public void close() {
    closed = true;
    try {
      if (writer.isAlive()) {
        writer.join(TimeUnit.SECONDS.toMillis(10));
      } else {
        // Never started (tests): write what is queued here.
        for (String line = queue.poll(); line != null; line = queue.poll()) {
          out.write(line);
          out.newLine();
          written.incrementAndGet();
        }
      }
      out.close();
    } catch (IOException e) {
      log.warn("event log {}: close failed", file, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.info("event log {}: {} lines written, {} dropped", file, written.get(), dropped.get());
  }
}
