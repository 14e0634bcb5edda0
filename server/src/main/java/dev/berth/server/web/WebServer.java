package dev.berth.server.web;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.berth.server.security.HttpsTls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The daemon's HTTP listener ({@code metrics.listen}): one JDK {@link HttpServer}, or an {@link
 * HttpsServer} with the daemon's certificate when TLS is configured, serving the handlers it is
 * given (the Prometheus scrape at {@code /metrics}, the dashboard at {@code /}).
 *
 * <p>Requests run on a bounded pool: {@code threads} threads and at most {@link #QUEUED} requests
 * waiting for one; a request whose head takes longer than {@link #MAX_REQUEST_TIME} to arrive has
 * its connection closed. A request beyond that is not queued without bound: the JDK server closes
 * its connection. Handlers that hold a thread for long (the dashboard's event stream) must bound
 * their own number below {@code threads}, so scrapes always find a thread. The JDK server reads
 * request heads on these threads, so clients that keep many half-sent requests open can still hold
 * them all for as long as they go on (docs/operations.md, "The dashboard").
 *
 * <p>Thread-safe.
 */
public final class WebServer implements AutoCloseable {
  /** Requests that may wait for a thread before new ones are refused. */
  static final int QUEUED = 64;

  /**
   * The JDK server's limit on reading one request's head (TLS handshake, request line, headers), in
   * seconds; it has none by default, so a client that sends half a request would hold a thread for
   * good, and a dozen such would stop every scrape. Responses are not limited: the dashboard's
   * event streams last. Read by the JDK once per process, when its first server starts; a value
   * given with {@code -D} on the command line wins.
   */
  static final String MAX_REQUEST_TIME = "sun.net.httpserver.maxReqTime";

  static final String MAX_REQUEST_SECONDS = "10";

  private final HttpServer server;
  private final ThreadPoolExecutor executor;

  private WebServer(HttpServer server, ThreadPoolExecutor executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Binds {@code address} and starts serving.
   *
   * @param key the configuration key of {@code address}, named when it cannot be bound
   * @param tls HTTPS with these credentials; empty for plain HTTP
   * @param threads request threads, at least 1
   * @param handlers path prefix to handler, e.g. {@code "/metrics"}
   * @throws UncheckedIOException naming {@code key} when the address cannot be bound
   */
  public static WebServer start(
      String key,
      InetSocketAddress address,
      Optional<HttpsTls> tls,
      int threads,
      Map<String, HttpHandler> handlers) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    if (System.getProperty(MAX_REQUEST_TIME) == null) {
      System.setProperty(MAX_REQUEST_TIME, MAX_REQUEST_SECONDS);
    }
    InetSocketAddress bind =
        address.isUnresolved()
            ? new InetSocketAddress(address.getHostString(), address.getPort())
            : address;
    HttpServer server;
    try {
      if (tls.isPresent()) {
        HttpsServer https = HttpsServer.create(bind, 0);
        https.setHttpsConfigurator(configurator(tls.get()));
        server = https;
      } else {
        server = HttpServer.create(bind, 0);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          key
              + ": cannot listen on "
              + address.getHostString()
              + ":"
              + address.getPort()
              + ": "
              + e.getMessage(),
          e);
    }
    ThreadPoolExecutor executor =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(QUEUED),
            daemonThreads(),
            // The JDK server closes the connection of a request it cannot hand over.
            new ThreadPoolExecutor.AbortPolicy());
    executor.allowCoreThreadTimeOut(true);
    server.setExecutor(executor);
    handlers.forEach(server::createContext);
    server.start();
    return new WebServer(server, executor);
  }

  private static HttpsConfigurator configurator(HttpsTls tls) {
    return new HttpsConfigurator(tls.context()) {
      @Override
      public void configure(HttpsParameters params) {
        params.setSSLParameters(tls.parameters(getSSLContext().getDefaultSSLParameters()));
      }
    };
  }

  private static ThreadFactory daemonThreads() {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, "berth-http-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** The port bound (useful when the configured one was 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Stops listening and ends the requests still running; long-lived ones are interrupted. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
