package dev.berth.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy for fault tests: forwards bytes both ways, and on request pauses them
 * (connections stay open, nothing passes: a blackhole), delays them, or resets every connection
 * (RST).
 *
 * <p>Thread-safe; one thread per direction per connection.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final InetSocketAddress upstream;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile boolean paused;
  private volatile long delayMillis;
  private volatile boolean closed;

  /** Listens on a free loopback port and forwards each connection to {@code upstream}. */
  public TcpProxy(InetSocketAddress upstream) throws IOException {
    this.upstream = upstream;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptLoop, "proxy-accept");
    accept.setDaemon(true);
    accept.start();
  }

  public String target() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /** Stops forwarding; connections stay open and data waits (a blackholed path). */
  public void pause() {
    paused = true;
  }

  public void resume() {
    synchronized (gate) {
      paused = false;
      gate.notifyAll();
    }
  }

  /** Holds every chunk this long before passing it on, in each direction. */
  public void delay(Duration value) {
    delayMillis = value.toMillis();
  }

  /** Resets every open connection: the peers see a RST, as after a NAT or middlebox drop. */
  public void resetAll() {
    for (Socket s : sockets) {
      try {
        s.setSoLinger(true, 0);
        s.close();
      } catch (IOException e) {
        // already gone
      }
    }
    sockets.clear();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      try {
        Socket up = new Socket(upstream.getAddress(), upstream.getPort());
        client.setTcpNoDelay(true);
        up.setTcpNoDelay(true);
        sockets.add(client);
        sockets.add(up);
        pump(client, up);
        pump(up, client);
      } catch (IOException upstreamDown) {
        // Close the accepted connection at once, as a refused connect would be seen. Left open, the
        // client (a gRPC channel) waits on it for a server that never answers, until garbage
        // collection happens to close the socket: that is what kept a restarted member from
        // hearing the leader for 7-104 s in the rolling-restart test.
        closeQuietly(client);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buffer = new byte[16 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                  awaitNotPaused();
                  long delay = delayMillis;
                  if (delay > 0) {
                    Thread.sleep(delay);
                  }
                  out.write(buffer, 0, n);
                  out.flush();
                }
              } catch (IOException | InterruptedException e) {
                // connection ended or reset
              } finally {
                closeQuietly(from);
                closeQuietly(to);
              }
            },
            "proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void awaitNotPaused() throws InterruptedException {
    synchronized (gate) {
      while (paused && !closed) {
        gate.wait(100);
      }
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  @Override
  public void close() {
    closed = true;
    resume();
    closeQuietly(server);
    resetAll();
  }

  private static void closeQuietly(ServerSocket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }
}
