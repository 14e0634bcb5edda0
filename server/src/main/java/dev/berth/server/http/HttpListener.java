package dev.berth.server.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpsExchange;
import dev.berth.server.security.HttpsTls;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.TooLongHttpContentException;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLEngine;

/**
 * The daemon's HTTP listener ({@code metrics.listen}): HTTP/1.1, or HTTPS with the daemon's
 * certificate when TLS is configured, serving the handlers it is given (the Prometheus scrape at
 * {@code /metrics}, the dashboard at {@code /}) through the JDK's {@link HttpHandler} interface.
 *
 * <p>Netty reads each request (TLS handshake, head and body) on one I/O thread without blocking; a
 * request takes a handler thread only once it has arrived whole. So a client that sends half a
 * request and stops holds a connection, never a thread, and scrapes go on however many such clients
 * there are. The JDK's own {@code HttpServer} reads request heads on its handler threads, which is
 * why it is not used: a dozen half-sent requests took every thread.
 *
 * <p>Bounds, all in {@link Limits}:
 *
 * <ul>
 *   <li>a connection has {@link Limits#requestTime} to deliver a whole request, counted from when
 *       it opened or its last answer ended (so also the keep-alive idle time); then it is closed;
 *   <li>at most {@link Limits#maxConnections} connections: a new one beyond that closes the one
 *       that has waited longest for a request, or is refused when every one has a request running;
 *   <li>request heads of at most {@link #MAX_HEADER_BYTES}, bodies of at most {@link
 *       #MAX_BODY_BYTES} (431, 413);
 *   <li>requests run on {@code threads} threads with at most {@link Limits#queued} waiting; beyond
 *       that a request is answered {@code 503};
 *   <li>an answer whose client reads nothing for {@link Limits#writeStall} is ended and its
 *       connection closed. Answers up to {@link Limits#writeBuffer} bytes are handed to the
 *       connection whole, so a client that stops reading them holds no thread; a larger one holds
 *       its thread until then, and a dozen such clients can take every thread for that long.
 * </ul>
 *
 * <p>Handlers that hold a thread for long (the dashboard's event stream) must bound their own
 * number below {@code threads}, so scrapes always find one. Handlers are mounted by path prefix,
 * the longest matching prefix winning, as in the JDK server.
 *
 * <p>Netty is used by hand here because no maintained library offers an embeddable HTTP server over
 * the JDK's handler interface that reads requests without a thread each. Thread-safe.
 */
public final class HttpListener implements AutoCloseable {
  /** The longest request head (request line and headers) read, in bytes. */
  static final int MAX_HEADER_BYTES = 16 * 1024;

  /** The longest request line read, in bytes. */
  static final int MAX_LINE_BYTES = 8 * 1024;

  /** The largest request body read, in bytes; the dashboard's actions send a few hundred. */
  static final int MAX_BODY_BYTES = 64 * 1024;

  /**
   * The listener's bounds.
   *
   * @param requestTime how long a connection may take to deliver a whole request
   * @param writeStall how long an answer may wait for its client to read
   * @param maxConnections open connections at most
   * @param queued requests that may wait for a handler thread
   * @param writeBuffer the bytes of an answer a connection holds for its client before the handler
   *     thread waits for the client to read. The daemon's 128 KiB take the dashboard's page and
   *     JSON and a scrape of a small fleet whole, so their threads never wait on a slow reader; a
   *     larger answer (a big scrape, a long lease listing) to a client that stops reading holds its
   *     thread until {@code writeStall}
   */
  public record Limits(
      Duration requestTime, Duration writeStall, int maxConnections, int queued, int writeBuffer) {
    /** What the daemon uses. */
    public static final Limits DEFAULT =
        new Limits(Duration.ofSeconds(10), Duration.ofSeconds(30), 1024, 64, 128 * 1024);

    public Limits {
      if (requestTime.isNegative() || requestTime.isZero()) {
        throw new IllegalArgumentException("requestTime must be positive, got " + requestTime);
      }
      if (writeStall.isNegative() || writeStall.isZero()) {
        throw new IllegalArgumentException("writeStall must be positive, got " + writeStall);
      }
      if (writeBuffer < 2) {
        throw new IllegalArgumentException("writeBuffer must be at least 2, got " + writeBuffer);
      }
      if (maxConnections < 1 || queued < 0) {
        throw new IllegalArgumentException(
            "maxConnections must be at least 1 and queued at least 0, got "
                + maxConnections
                + " and "
                + queued);
      }
    }
  }

  private final EventLoopGroup loop;
  private final Channel server;
  private final ThreadPoolExecutor executor;
  private final Connections connections;

  private HttpListener(
      EventLoopGroup loop, Channel server, ThreadPoolExecutor executor, Connections connections) {
    this.loop = loop;
    this.server = server;
    this.executor = executor;
    this.connections = connections;
  }

  /**
   * Binds {@code address} and starts serving, with {@link Limits#DEFAULT}.
   *
   * @param key the configuration key of {@code address}, named when it cannot be bound
   * @param tls HTTPS with these credentials; empty for plain HTTP
   * @param threads request threads, at least 1
   * @param handlers path prefix to handler, e.g. {@code "/metrics"}
   * @throws UncheckedIOException naming {@code key} when the address cannot be bound
   */
  public static HttpListener start(
      String key,
      InetSocketAddress address,
      Optional<HttpsTls> tls,
      int threads,
      Map<String, HttpHandler> handlers) {
    return start(key, address, tls, threads, handlers, Limits.DEFAULT);
  }

  /** As {@link #start(String, InetSocketAddress, Optional, int, Map)}, with other bounds. */
  public static HttpListener start(
      String key,
      InetSocketAddress address,
      Optional<HttpsTls> tls,
      int threads,
      Map<String, HttpHandler> handlers,
      Limits limits) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    Router router = new Router(handlers);
    ThreadPoolExecutor executor =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(Math.max(1, limits.queued())),
            handlerThreads(),
            new ThreadPoolExecutor.AbortPolicy());
    executor.allowCoreThreadTimeOut(true);
    Connections connections = new Connections(limits.maxConnections());
    // One I/O thread: it only moves bytes and parses heads; handlers run on the executor.
    EventLoopGroup loop =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("berth-http-io", true), NioIoHandler.newFactory());
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(loop)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(
                ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(limits.writeBuffer() / 2, limits.writeBuffer()))
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    if (tls.isPresent()) {
                      channel.pipeline().addLast("tls", new SslHandler(engine(tls.get())));
                    }
                    channel
                        .pipeline()
                        .addLast(
                            "codec",
                            new HttpServerCodec(MAX_LINE_BYTES, MAX_HEADER_BYTES, 8 * 1024))
                        .addLast("aggregate", new Aggregator())
                        .addLast(
                            "serve",
                            new Connection(router, executor, connections, limits, tls.isPresent()));
                  }
                });
    InetSocketAddress bind =
        address.isUnresolved()
            ? new InetSocketAddress(address.getHostString(), address.getPort())
            : address;
    ChannelFuture bound = bootstrap.bind(bind).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      loop.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly();
      executor.shutdownNow();
      Throwable cause = bound.cause();
      throw new UncheckedIOException(
          key
              + ": cannot listen on "
              + address.getHostString()
              + ":"
              + address.getPort()
              + ": "
              + cause.getMessage(),
          cause instanceof IOException io ? io : new IOException(cause));
    }
    return new HttpListener(loop, bound.channel(), executor, connections);
  }

  private static SSLEngine engine(HttpsTls tls) {
    SSLEngine engine = tls.context().createSSLEngine();
    engine.setUseClientMode(false);
    engine.setSSLParameters(tls.parameters(tls.context().getDefaultSSLParameters()));
    return engine;
  }

  private static ThreadFactory handlerThreads() {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, "berth-http-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * Whether {@code exchange} arrived over TLS: an {@link HttpsExchange} with a session (this
   * listener's exchanges are all {@code HttpsExchange}s, with no session on plain HTTP).
   */
  public static boolean isSecure(HttpExchange exchange) {
    return exchange instanceof HttpsExchange https && https.getSSLSession() != null;
  }

  /** The port bound (useful when the configured one was 0). */
  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Connections open now, for tests and diagnostics. */
  int openConnections() {
    return connections.open();
  }

  /** Stops listening and ends the requests still running; long-lived ones are interrupted. */
  @Override
  public void close() {
    server.close().awaitUninterruptibly();
    connections.closeAll();
    executor.shutdownNow();
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  /**
   * Netty's aggregator, but one that never answers on its own: its {@code 413} (and {@code 100
   * Continue}) went out at once, ahead of the answer to a request still running on the connection.
   * An oversized request is passed on as a failed one, which the {@link Connection} answers {@code
   * 413} in its turn; {@code 100 Continue} is sent only when no request runs.
   */
  static final class Aggregator extends HttpObjectAggregator {
    Aggregator() {
      super(MAX_BODY_BYTES);
    }

    @Override
    protected Object newContinueResponse(
        HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
      Object response = super.newContinueResponse(start, maxContentLength, pipeline);
      if (response == null) {
        return null;
      }
      Connection connection = pipeline.get(Connection.class);
      boolean continues =
          response instanceof HttpResponse answer
              && answer.status().code() == 100
              && !isContentLengthInvalid(start, maxContentLength);
      if (continues && (connection == null || !connection.running())) {
        return response;
      }
      // An oversized body is answered in its turn (handleOversizedMessage); a pipelining client
      // sends its body without waiting; an expectation other than 100-continue is ignored.
      ReferenceCountUtil.release(response);
      return null;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      if (!(oversized instanceof HttpRequest request)) {
        var unused = ctx.close();
        return;
      }
      FullHttpRequest failed =
          new DefaultFullHttpRequest(request.protocolVersion(), request.method(), request.uri());
      failed.setDecoderResult(
          DecoderResult.failure(
              new TooLongHttpContentException(
                  "the request's body is longer than " + MAX_BODY_BYTES + " bytes")));
      ctx.fireChannelRead(failed);
    }
  }

  /** Handlers by path prefix, the longest matching prefix first. */
  static final class Router {
    private final TreeMap<String, HttpHandler> byPrefix = new TreeMap<>();

    Router(Map<String, HttpHandler> handlers) {
      handlers.forEach(
          (prefix, handler) -> {
            if (!prefix.startsWith("/")) {
              throw new IllegalArgumentException("a mount path starts with '/', got " + prefix);
            }
            byPrefix.put(prefix, handler);
          });
    }

    /** The handler of {@code path}, with its mount path; empty when no prefix matches. */
    Optional<Map.Entry<String, HttpHandler>> route(String path) {
      for (Map.Entry<String, HttpHandler> mount : byPrefix.descendingMap().entrySet()) {
        if (path.startsWith(mount.getKey())) {
          return Optional.of(mount);
        }
      }
      return Optional.empty();
    }
  }
}
