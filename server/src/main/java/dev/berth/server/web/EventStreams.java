package dev.berth.server.web;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.metrics.StreamDrops;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The dashboard's Server-Sent Events streams: at most {@code maxClients} at once, each with its own
 * queue of at most {@link #BACKLOG} frames. {@link #broadcast} only offers a frame to each queue,
 * so it never waits for a reader; a reader whose queue is full has fallen behind and is dropped
 * (its stream ends, {@link StreamDrops} counts it), so a stuck browser tab never grows the heap or
 * holds up the broker. Each stream is written by the request thread that opened it.
 *
 * <p>Thread-safe.
 */
final class EventStreams {
  /** Frames a stream may fall behind before it is dropped: several seconds of updates. */
  static final int BACKLOG = 64;

  /** An idle stream gets a comment this often, so a vanished reader is noticed. */
  static final long KEEPALIVE_SECONDS = 15;

  private final int maxClients;
  private final StreamDrops drops;
  private final CopyOnWriteArrayList<Client> clients = new CopyOnWriteArrayList<>();

  EventStreams(int maxClients, StreamDrops drops) {
    if (maxClients < 1) {
      throw new IllegalArgumentException("maxClients must be at least 1, got " + maxClients);
    }
    this.maxClients = maxClients;
    this.drops = drops;
  }

  /** One frame of the stream: {@code event: NAME} and one line of JSON data. */
  static String frame(String event, String json) {
    return "event: " + event + "\ndata: " + json + "\n\n";
  }

  /**
   * Registers a new stream, which queues every frame broadcast from now on.
   *
   * @throws WebError 503 when {@code maxClients} streams are open
   */
  synchronized Client open(WebAccess.Grant grant) {
    if (clients.size() >= maxClients) {
      throw new WebError(
          503,
          "UNAVAILABLE",
          "",
          "too many live dashboards: "
              + maxClients
              + " streams are open (dashboard.max_streams); the page polls instead");
    }
    Client client = new Client(grant);
    clients.add(client);
    return client;
  }

  /** Ends the streams whose grant fails {@code holds} (the tokens were replaced). */
  void closeUnless(java.util.function.Predicate<WebAccess.Grant> holds) {
    for (Client client : clients) {
      if (!holds.test(client.grant)) {
        client.close();
      }
    }
  }

  /** Streams open now. */
  int size() {
    return clients.size();
  }

  /** Queues {@code frame} on every stream; drops the streams that have fallen behind. */
  void broadcast(String frame) {
    for (Client client : clients) {
      client.offer(frame);
    }
  }

  /** Ends every stream, e.g. at shutdown. */
  void closeAll() {
    for (Client client : clients) {
      client.close();
    }
  }

  /** One stream. */
  final class Client {
    private final ArrayBlockingQueue<String> queue = new ArrayBlockingQueue<>(BACKLOG);
    private final WebAccess.Grant grant;

    Client(WebAccess.Grant grant) {
      this.grant = grant;
    }

    @GuardedBy("this")
    private Thread writer;

    @GuardedBy("this")
    private boolean closed;

    void offer(String frame) {
      synchronized (this) {
        if (closed) {
          return;
        }
      }
      if (!queue.offer(frame)) {
        drops.dropped(StreamDrops.Stream.DASHBOARD);
        close();
      }
    }

    synchronized boolean closed() {
      return closed;
    }

    /**
     * Ends the stream: the writing thread stops waiting and, if it is stuck writing to a reader
     * that does not read, is interrupted, which closes the connection under it.
     */
    void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        queue.clear();
        if (writer != null) {
          writer.interrupt();
        }
      }
      clients.remove(this);
    }

    /**
     * Writes {@code first}, then every queued frame, to {@code out} until the stream is closed or
     * the reader goes away. Runs on the request's thread and returns when the stream ends.
     */
    void serve(OutputStream out, String first) {
      synchronized (this) {
        if (closed) {
          return;
        }
        writer = Thread.currentThread();
      }
      try {
        write(out, first);
        while (true) {
          String frame = queue.poll(KEEPALIVE_SECONDS, TimeUnit.SECONDS);
          if (closed()) {
            return;
          }
          write(out, frame != null ? frame : ": keep-alive\n\n");
        }
      } catch (IOException | InterruptedException e) {
        // The reader went away, or the stream was closed (dropped, or the daemon is stopping).
      } finally {
        synchronized (this) {
          writer = null;
          // An interrupt meant for this stream must not reach the next request on this thread.
          Thread.interrupted();
        }
        close();
      }
    }

    private void write(OutputStream out, String frame) throws IOException {
      out.write(frame.getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
  }
}
