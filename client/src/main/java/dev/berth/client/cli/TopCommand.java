package dev.berth.client.cli;

import dev.berth.client.cli.options.Durations;
import dev.berth.common.CommandLines;
import dev.berth.common.DurationConverter;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.ListSessionsResponse;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.WatchEventsRequest;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.NonBlockingReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code berth top}: the pools, hottest hosts and busiest sessions, redrawn every {@code
 * --interval} and soon after the broker reports a change on its event stream, until {@code q} or
 * Ctrl-C; {@code --once} prints one frame without escape codes. The terminal (raw mode, so a key
 * needs no Enter; its width; its signals) is JLine's, the one library that does this on every OS.
 *
 * <p>Not thread-safe; one per command line. While it runs, a thread reads keys and another the
 * event stream; both only wake the drawing thread.
 */
@Command(
    name = "top",
    mixinStandardHelpOptions = true,
    description = {
      "A live view of pools, hot hosts and busy sessions.",
      "",
      "Redraws the screen every --interval and soon after the broker reports a change: per pool"
          + " the leases in use against the effective limit (with a bar), the limit and the"
          + " acquires waiting; the hottest hosts; the sessions holding the most. q or Ctrl-C"
          + " quits. --once prints one frame, without escape codes, and exits."
    })
final class TopCommand extends Commands.AdminCommand {
  /** Clear the screen, cursor home; hide and show the cursor. */
  static final String CLEAR = "\033[H\033[2J";

  static final String HIDE_CURSOR = "\033[?25l";
  static final String SHOW_CURSOR = "\033[?25h";

  /** A burst of events redraws once: the drawing waits this long for the rest of it. */
  static final Duration SETTLE = Duration.ofMillis(100);

  /**
   * Changes redraw at most once in this long (or in {@code --interval}, when shorter): a busy
   * broker reports changes all the time, and every frame reads the status and every session.
   */
  static final Duration CHANGE_GAP = Duration.ofSeconds(1);

  private static final int CTRL_C = 3;

  private enum Wake {
    TICK,
    CHANGE,
    RESIZE,
    QUIT
  }

  @Option(
      names = "--interval",
      paramLabel = "DUR",
      defaultValue = "2s",
      converter = DurationConverter.Positive.class,
      description = "Redraw at least this often (default ${DEFAULT-VALUE}, at least 200ms).")
  Duration interval;

  @Option(names = "--once", description = "Print one frame, without escape codes, and exit.")
  boolean once;

  @Option(
      names = "--rows",
      paramLabel = "N",
      defaultValue = "10",
      description = "Hot hosts and sessions shown, 1..1000 (default ${DEFAULT-VALUE}).")
  int rows;

  @Override
  void check() {
    CommandLines.range(spec, "--rows", rows, 1, 1000);
    if (interval.compareTo(Duration.ofMillis(200)) < 0) {
      throw usage("--interval: must be at least 200ms, got " + Durations.format(interval));
    }
    if (json) {
      throw usage("--json: top has no JSON form; use berth status --json");
    }
  }

  @Override
  int run(Connection broker) {
    if (once) {
      out.print(frame(broker));
      out.flush();
      return ExitCode.OK;
    }
    Terminal terminal;
    try {
      terminal = TerminalBuilder.builder().system(true).build();
    } catch (IOException e) {
      throw new UncheckedIOException("berth top: cannot open the terminal", e);
    }
    BlockingQueue<Wake> wake = new LinkedBlockingQueue<>();
    Context.CancellableContext watching = Context.current().withCancellation();
    Attributes saved = terminal.enterRawMode();
    terminal.handle(Terminal.Signal.INT, signal -> wake.add(Wake.QUIT));
    terminal.handle(Terminal.Signal.WINCH, signal -> wake.add(Wake.RESIZE));
    Thread keys = daemon("berth-top-keys", () -> readKeys(terminal.reader(), wake));
    Thread events = daemon("berth-top-events", () -> watching.run(() -> watch(broker, wake)));
    out.print(HIDE_CURSOR);
    try {
      keys.start();
      events.start();
      while (true) {
        long drawnAt = System.nanoTime();
        out.print(CLEAR + frame(broker).replace("\n", "\r\n"));
        out.flush();
        Wake why = wake.poll(interval.toMillis(), TimeUnit.MILLISECONDS);
        if (why == Wake.CHANGE) {
          // Let the rest of a burst arrive, and keep a busy broker's changes to one frame a gap;
          // a key still quits at once.
          long until =
              System.nanoTime()
                  + changeDelay(Duration.ofNanos(System.nanoTime() - drawnAt), interval).toNanos();
          for (long left = until - System.nanoTime(); left > 0; left = until - System.nanoTime()) {
            if (wake.poll(left, TimeUnit.NANOSECONDS) == Wake.QUIT) {
              return ExitCode.OK;
            }
          }
        }
        List<Wake> pending = new ArrayList<>();
        wake.drainTo(pending);
        if (why == Wake.QUIT || pending.contains(Wake.QUIT)) {
          return ExitCode.OK;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCode.OK;
    } finally {
      watching.cancel(null);
      keys.interrupt();
      out.print(SHOW_CURSOR + "\r\n");
      out.flush();
      terminal.setAttributes(saved);
      try {
        terminal.close();
      } catch (IOException e) {
        err.println("berth top: closing the terminal: " + e.getMessage());
      }
    }
  }

  /**
   * How long a redraw a change asked for waits, {@code sinceDraw} after the last frame began:
   * {@link #SETTLE} for the rest of a burst, and at least until {@link #CHANGE_GAP} (or {@code
   * interval}, when shorter) has passed since that frame.
   */
  static Duration changeDelay(Duration sinceDraw, Duration interval) {
    Duration gap = interval.compareTo(CHANGE_GAP) < 0 ? interval : CHANGE_GAP;
    Duration left = gap.minus(sinceDraw);
    return left.compareTo(SETTLE) > 0 ? left : SETTLE;
  }

  /** The status and the sessions now, as one frame. */
  private String frame(Connection broker) {
    BrokerStatus status = broker.admin().getStatus(GetStatusRequest.getDefaultInstance());
    List<SessionInfo> sessions = new ArrayList<>();
    String token = "";
    do {
      ListSessionsResponse page =
          broker
              .admin()
              .listSessions(
                  ListSessionsRequest.newBuilder()
                      .setPageSize(Commands.MAX_PAGE)
                      .setPageToken(token)
                      .build());
      sessions.addAll(page.getSessionsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty() && sessions.size() < Commands.MAX_LISTED);
    return Top.frame(status, sessions, broker.target(), berth.clock.instant(), rows);
  }

  /** q, Q, Ctrl-C (raw mode passes it as a key) or the end of input quit. */
  private static void readKeys(NonBlockingReader reader, BlockingQueue<Wake> wake) {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        int c = reader.read(200);
        if (c == 'q' || c == 'Q' || c == CTRL_C || c == NonBlockingReader.EOF) {
          wake.add(Wake.QUIT);
          return;
        }
      }
    } catch (IOException e) {
      wake.add(Wake.QUIT);
    }
  }

  /**
   * Wakes the drawing at each broker event until cancelled. A broker that refuses the stream (or
   * drops this watcher) leaves the view on its interval.
   */
  private static void watch(Connection broker, BlockingQueue<Wake> wake) {
    try {
      Iterator<BrokerEvent> events =
          broker.streaming().watchEvents(WatchEventsRequest.getDefaultInstance());
      while (events.hasNext()) {
        events.next();
        wake.offer(Wake.CHANGE);
      }
    } catch (StatusRuntimeException e) {
      // Cancelled when top ends, or the broker would not stream: the interval still redraws.
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    return t;
  }
}
