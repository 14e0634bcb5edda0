package dev.berth.server.http;

import com.sun.net.httpserver.HttpHandler;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of the {@link HttpListener}: takes whole requests from Netty's HTTP codec, one at
 * a time, and hands each to its handler on the listener's threads as a {@link ChannelExchange}.
 * While a request runs, the connection reads nothing more (requests a client pipelines behind it
 * wait, a few at most); when its answer ends, the connection reads the next request or closes.
 *
 * <p>Its Netty callbacks run on the listener's I/O thread; {@link #answered} and {@link #close} may
 * be called from a handler thread.
 */
final class Connection extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);

  /** Requests a client may pipeline behind the running one before its connection is closed. */
  static final int MAX_PIPELINED = 8;

  /**
   * The bodies those requests may carry in all, in bytes. The connection goes on reading while a
   * request runs (Netty's codec asks for more to finish a request), so without it each connection
   * could hold {@link #MAX_PIPELINED} whole bodies for as long as its answer stalls.
   */
  static final int MAX_PIPELINED_BYTES = HttpListener.MAX_BODY_BYTES;

  private final HttpListener.Router router;
  private final ThreadPoolExecutor executor;
  private final Connections connections;
  private final HttpListener.Limits limits;
  private final boolean secure;

  /** Guards waiting for the channel to become writable; notified on every change. */
  final Object writability = new Object();

  private final ArrayDeque<FullHttpRequest> pipelined = new ArrayDeque<>();
  private long pipelinedBytes;
  private Channel channel;
  private ScheduledFuture<?> deadline;
  private boolean running;
  private volatile long waitingSince = Long.MIN_VALUE;

  Connection(
      HttpListener.Router router,
      ThreadPoolExecutor executor,
      Connections connections,
      HttpListener.Limits limits,
      boolean secure) {
    this.router = router;
    this.executor = executor;
    this.connections = connections;
    this.limits = limits;
    this.secure = secure;
  }

  /** Whether the connection waits for a request (none is running). */
  boolean waiting() {
    return waitingSince != Long.MIN_VALUE;
  }

  /** When the connection began to wait for its request ({@link System#nanoTime}). */
  long waitingSince() {
    return waitingSince;
  }

  /** Whether a request runs (I/O thread only). */
  boolean running() {
    return running;
  }

  HttpListener.Limits limits() {
    return limits;
  }

  /** Closes the connection, ending any answer on it. */
  void close() {
    if (channel != null) {
      closeQuietly(channel);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    channel = ctx.channel();
    if (!connections.admit(this)) {
      log.debug("HTTP listener full of running requests: refusing {}", channel.remoteAddress());
      closeQuietly(channel);
      return;
    }
    awaitRequest();
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    connections.remove(this);
    cancelDeadline();
    pipelined.forEach(ReferenceCountUtil::release);
    pipelined.clear();
    pipelinedBytes = 0;
    synchronized (writability) {
      writability.notifyAll();
    }
    super.channelInactive(ctx);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    synchronized (writability) {
      writability.notifyAll();
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest request)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (running) {
      int bytes = request.content().readableBytes();
      if (pipelined.size() >= MAX_PIPELINED || pipelinedBytes + bytes > MAX_PIPELINED_BYTES) {
        request.release();
        closeQuietly(channel);
        return;
      }
      pipelined.add(request);
      pipelinedBytes += bytes;
      return;
    }
    start(request);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // A reset, a failed TLS handshake: the client's connection, not the daemon's concern.
    log.debug(
        "HTTP connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    closeQuietly(ctx.channel());
  }

  private void start(FullHttpRequest request) {
    running = true;
    waitingSince = Long.MIN_VALUE;
    cancelDeadline();
    channel.config().setAutoRead(false);
    try {
      dispatch(request);
    } finally {
      request.release();
    }
  }

  private void dispatch(FullHttpRequest request) {
    if (request.decoderResult().isFailure()) {
      Throwable cause = request.decoderResult().cause();
      refuse(request, statusOf(cause), "request: " + describe(cause), false);
      return;
    }
    if (request.protocolVersion().majorVersion() != 1) {
      refuse(
          request,
          HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED,
          "this listener speaks HTTP/1.1 and 1.0, not " + request.protocolVersion(),
          false);
      return;
    }
    URI uri;
    try {
      uri = new URI(request.uri());
    } catch (URISyntaxException e) {
      refuse(
          request,
          HttpResponseStatus.BAD_REQUEST,
          "request target: " + e.getReason() + " at index " + e.getIndex() + " of " + e.getInput(),
          true);
      return;
    }
    if (uri.getScheme() != null
        && (uri.getScheme().equalsIgnoreCase("http") || uri.getScheme().equalsIgnoreCase("https"))
        && uri.getRawAuthority() != null) {
      // Absolute form (as a proxy sends it): its authority is the Host, its path the target.
      request.headers().set(HttpHeaderNames.HOST, uri.getRawAuthority());
      String target =
          uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      uri = URI.create(target + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()));
    }
    String path = uri.getRawPath();
    if (path == null || !path.startsWith("/") || uri.getScheme() != null) {
      refuse(
          request,
          HttpResponseStatus.BAD_REQUEST,
          "request target: must be a path starting with '/', got " + request.uri(),
          true);
      return;
    }
    Optional<Map.Entry<String, HttpHandler>> mount = router.route(uri.getPath());
    if (mount.isEmpty()) {
      refuse(request, HttpResponseStatus.NOT_FOUND, "no such page: " + path, true);
      return;
    }
    ChannelExchange exchange =
        new ChannelExchange(
            this,
            channel,
            request,
            uri,
            ByteBufUtil.getBytes(request.content()),
            mount.get().getKey(),
            mount.get().getValue(),
            secure ? Optional.of(channel.pipeline().get(SslHandler.class)) : Optional.empty());
    try {
      executor.execute(exchange::run);
    } catch (RejectedExecutionException e) {
      refuse(
          request,
          HttpResponseStatus.SERVICE_UNAVAILABLE,
          "the listener is busy: every request thread is taken and "
              + limits.queued()
              + " requests wait; try again",
          false);
    }
  }

  /** Answers {@code request} on the I/O thread, without a handler. */
  private void refuse(
      FullHttpRequest request, HttpResponseStatus status, String message, boolean keepAlive) {
    byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
    FullHttpResponse response =
        new DefaultFullHttpResponse(answerVersion(request), status, Unpooled.wrappedBuffer(body));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    HttpUtil.setContentLength(response, body.length);
    response.headers().set(HttpHeaderNames.DATE, httpDate());
    boolean keep = keepAlive && HttpUtil.isKeepAlive(request);
    if (!keep) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (!response.protocolVersion().isKeepAliveDefault()) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
    channel.writeAndFlush(response).addListener(written -> answered(keep && written.isSuccess()));
  }

  /**
   * The version an answer to {@code request} is sent in: HTTP/1.0 to an HTTP/1.0 client, else
   * HTTP/1.1, the highest this listener speaks (never a version the client made up).
   */
  static HttpVersion answerVersion(FullHttpRequest request) {
    return request.protocolVersion().equals(HttpVersion.HTTP_1_0)
        ? HttpVersion.HTTP_1_0
        : HttpVersion.HTTP_1_1;
  }

  private static HttpResponseStatus statusOf(Throwable cause) {
    if (cause instanceof TooLongHttpLineException) {
      return HttpResponseStatus.REQUEST_URI_TOO_LONG;
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    if (cause instanceof TooLongFrameException) {
      return HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
    }
    return HttpResponseStatus.BAD_REQUEST;
  }

  private static String describe(Throwable cause) {
    if (cause instanceof TooLongHttpLineException) {
      return "the request line is longer than " + HttpListener.MAX_LINE_BYTES + " bytes";
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return "the request's headers are longer than " + HttpListener.MAX_HEADER_BYTES + " bytes";
    }
    return String.valueOf(cause.getMessage());
  }

  /**
   * Ends the running request: reads the next one if {@code keepAlive}, else closes. Safe from any
   * thread.
   */
  void answered(boolean keepAlive) {
    if (!channel.eventLoop().inEventLoop()) {
      channel.eventLoop().execute(() -> answered(keepAlive));
      return;
    }
    running = false;
    if (!keepAlive || !channel.isActive()) {
      closeQuietly(channel);
      return;
    }
    FullHttpRequest next = pipelined.poll();
    if (next != null) {
      pipelinedBytes -= next.content().readableBytes();
      start(next);
      return;
    }
    awaitRequest();
    channel.config().setAutoRead(true);
    channel.read();
  }

  /** Gives the client {@link HttpListener.Limits#requestTime} to send a whole request. */
  private void awaitRequest() {
    waitingSince = System.nanoTime();
    deadline =
        channel
            .eventLoop()
            .schedule(
                () -> {
                  if (!running) {
                    log.debug(
                        "closing HTTP connection from {}: no whole request within {}",
                        channel.remoteAddress(),
                        limits.requestTime());
                    closeQuietly(channel);
                  }
                },
                limits.requestTime().toNanos(),
                TimeUnit.NANOSECONDS);
  }

  private void cancelDeadline() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }

  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", java.util.Locale.ROOT)
          .withZone(ZoneOffset.UTC);

  /** Now, as an answer's {@code Date} header gives it (RFC 9110's IMF-fixdate). */
  static String httpDate() {
    return HTTP_DATE.format(Instant.now());
  }

  /** Closes {@code channel}; a failed close leaves nothing this listener could do. */
  static void closeQuietly(Channel channel) {
    var unused = channel.close();
  }
}
