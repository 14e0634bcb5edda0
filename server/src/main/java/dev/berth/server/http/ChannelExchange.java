package dev.berth.server.http;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpPrincipal;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsExchange;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request of the {@link HttpListener} and its answer, as the JDK's {@link
 * com.sun.net.httpserver.HttpExchange} its handlers take. The request has arrived whole; the answer
 * is written to the connection as the handler writes it, following the JDK's rules for {@link
 * #sendResponseHeaders}: a length above 0 is sent as {@code Content-Length}, 0 as a stream
 * (chunked, or ended by closing the connection for an HTTP/1.0 client; each {@code flush} sends
 * what was written), -1 as no body.
 *
 * <p>An {@code HttpsExchange} over plain HTTP too, with no {@link #getSSLSession() session} there
 * ({@link HttpListener#isSecure}). Used by one handler thread at a time; not thread-safe.
 */
final class ChannelExchange extends HttpsExchange {
  private static final Logger log = LoggerFactory.getLogger(ChannelExchange.class);

  /** What is written is sent in pieces of about this many bytes, or at each {@code flush}. */
  static final int CHUNK = 16 * 1024;

  private enum Body {
    /** Headers not sent yet. */
    UNSENT,
    FIXED,
    /** Chunked on HTTP/1.1; on HTTP/1.0, ended by closing the connection. */
    STREAMED,
    NONE
  }

  private final Connection connection;
  private final Channel channel;
  private final String method;
  private final HttpVersion version;
  private final boolean clientKeepsAlive;
  private final URI uri;
  private final Headers requestHeaders = new Headers();
  private final Headers responseHeaders = new Headers();
  private final InputStream requestBody;
  private final OutputStream responseBody = new ResponseBody();
  private final Mount mount;
  private final Optional<SslHandler> tls;
  private final Map<String, Object> attributes = new ConcurrentHashMap<>();

  private int responseCode = -1;
  private Body body = Body.UNSENT;
  private long declared;
  private long written;
  private ByteBuf pending;
  private boolean closed;
  private boolean closeDelimited;

  ChannelExchange(
      Connection connection,
      Channel channel,
      FullHttpRequest request,
      URI uri,
      byte[] content,
      String mountPath,
      HttpHandler handler,
      Optional<SslHandler> tls) {
    this.connection = connection;
    this.channel = channel;
    this.method = request.method().name();
    this.version = Connection.answerVersion(request);
    this.clientKeepsAlive = HttpUtil.isKeepAlive(request);
    this.uri = uri;
    request.headers().forEach(header -> requestHeaders.add(header.getKey(), header.getValue()));
    this.requestBody = new ByteArrayInputStream(content);
    this.mount = new Mount(mountPath, handler);
    this.tls = tls;
  }

  /** Runs the handler on this thread and ends the answer, whatever the handler did. */
  void run() {
    try {
      mount.getHandler().handle(this);
    } catch (IOException e) {
      log.debug("HTTP {} {}: the client left: {}", method, uri.getRawPath(), e.toString());
    } catch (RuntimeException e) {
      log.warn("HTTP {} {} failed", method, uri.getRawPath(), e);
      if (responseCode == -1) {
        answerPlain(500, "internal error; see the daemon's log");
      }
    } finally {
      close();
    }
  }

  private void answerPlain(int status, String message) {
    byte[] text = (message + "\n").getBytes(StandardCharsets.UTF_8);
    try {
      responseHeaders.set("Content-Type", "text/plain; charset=utf-8");
      sendResponseHeaders(status, text.length);
      responseBody.write(text);
    } catch (IOException e) {
      log.debug("HTTP {} {}: the client left: {}", method, uri.getRawPath(), e.toString());
    }
  }

  @Override
  public Headers getRequestHeaders() {
    return requestHeaders;
  }

  @Override
  public Headers getResponseHeaders() {
    return responseHeaders;
  }

  @Override
  public URI getRequestURI() {
    return uri;
  }

  @Override
  public String getRequestMethod() {
    return method;
  }

  @Override
  public HttpContext getHttpContext() {
    return mount;
  }

  @Override
  public InputStream getRequestBody() {
    return requestBody;
  }

  @Override
  public OutputStream getResponseBody() {
    return responseBody;
  }

  @Override
  public void sendResponseHeaders(int status, long length) throws IOException {
    if (body != Body.UNSENT) {
      throw new IOException("headers already sent");
    }
    if (status < 100 || status > 999) {
      throw new IllegalArgumentException("status must be 100 to 999, got " + status);
    }
    HttpResponse response = new DefaultHttpResponse(version, HttpResponseStatus.valueOf(status));
    responseHeaders.forEach((name, values) -> response.headers().add(name, values));
    boolean head = method.equals(HttpMethod.HEAD.name());
    boolean noContent = status < 200 || status == 204 || status == 304;
    if (length > 0) {
      HttpUtil.setContentLength(response, length);
      body = head || noContent ? Body.NONE : Body.FIXED;
      declared = length;
    } else if (length == 0 && !head && !noContent) {
      if (version.equals(HttpVersion.HTTP_1_0)) {
        closeDelimited = true; // HTTP/1.0 has no chunks: the body ends where the connection does
      } else {
        HttpUtil.setTransferEncodingChunked(response, true);
      }
      body = Body.STREAMED;
    } else {
      if (!head && !noContent) {
        HttpUtil.setContentLength(response, 0);
      }
      body = Body.NONE;
    }
    if (!keepAlive()) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (!version.isKeepAliveDefault()) {
      // An HTTP/1.0 client keeps its connection only when the answer says so (as the JDK did).
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
    response.headers().set(HttpHeaderNames.DATE, Connection.httpDate());
    responseCode = status;
    awaitWritable();
    // A stream's client sees its headers at once; other answers send them with their body.
    send(response, body == Body.STREAMED);
  }

  private boolean keepAlive() {
    List<String> asked = responseHeaders.get("Connection");
    return clientKeepsAlive
        && !closeDelimited
        && (asked == null || asked.stream().noneMatch(v -> v.equalsIgnoreCase("close")));
  }

  @Override
  public InetSocketAddress getRemoteAddress() {
    return (InetSocketAddress) channel.remoteAddress();
  }

  @Override
  public int getResponseCode() {
    return responseCode;
  }

  @Override
  public InetSocketAddress getLocalAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  @Override
  public String getProtocol() {
    return version.text();
  }

  @Override
  public Object getAttribute(String name) {
    return attributes.get(name);
  }

  @Override
  public void setAttribute(String name, Object value) {
    if (value == null) {
      attributes.remove(name);
    } else {
      attributes.put(name, value);
    }
  }

  /** Not supported: the listener mounts no filters. */
  @Override
  public void setStreams(InputStream in, OutputStream out) {
    throw new UnsupportedOperationException("this listener mounts no filters");
  }

  @Override
  public HttpPrincipal getPrincipal() {
    return null;
  }

  /** The TLS session, or null over plain HTTP. */
  @Override
  public SSLSession getSSLSession() {
    return tls.map(handler -> handler.engine().getSession()).orElse(null);
  }

  /**
   * Ends the answer: sends what is left and, if the connection stays open, lets it read its next
   * request. An answer that was never begun, or is shorter than its {@code Content-Length}, closes
   * the connection.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (body == Body.UNSENT) {
      log.debug("HTTP {} {}: the handler sent no answer", method, uri.getRawPath());
      connection.answered(false);
      return;
    }
    boolean whole = body != Body.FIXED || written == declared;
    boolean keep = whole && keepAlive();
    ByteBuf last = takePending();
    if (!channel.isActive()) {
      if (last != null) {
        last.release();
      }
      connection.answered(false);
      return;
    }
    ChannelFuture sent =
        channel
            .writeAndFlush(
                last == null ? new DefaultLastHttpContent() : new DefaultLastHttpContent(last))
            .addListener(done -> connection.answered(keep && done.isSuccess()));
    // The last pieces may still wait for a client that stopped reading: it has as long as for
    // any other piece, then the connection closes.
    ScheduledFuture<?> stall =
        channel
            .eventLoop()
            .schedule(
                () -> Connection.closeQuietly(channel),
                connection.limits().writeStall().toNanos(),
                TimeUnit.NANOSECONDS);
    var unused = sent.addListener(done -> stall.cancel(false));
  }

  /** Writes {@code message}; a failed write closes the connection, and the next write throws. */
  private void send(Object message, boolean flush) {
    var unused =
        (flush ? channel.writeAndFlush(message) : channel.write(message))
            .addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
  }

  private ByteBuf takePending() {
    ByteBuf taken = pending;
    pending = null;
    return taken;
  }

  /**
   * Waits until the connection can take more, for at most the listener's write stall; a client that
   * reads nothing for that long has its connection closed.
   */
  private void awaitWritable() throws IOException {
    long stall = connection.limits().writeStall().toNanos();
    long deadline = System.nanoTime() + stall;
    synchronized (connection.writability) {
      while (channel.isActive() && !channel.isWritable()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          Connection.closeQuietly(channel);
          throw new IOException(
              "the client read nothing for " + connection.limits().writeStall() + ": closed");
        }
        try {
          connection.writability.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while the client was not reading");
        }
      }
    }
    if (!channel.isActive()) {
      throw new IOException("the client closed the connection");
    }
  }

  /** The answer's body: buffered, sent in pieces of {@link #CHUNK} bytes and at each flush. */
  private final class ResponseBody extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      if (closed) {
        throw new IOException("the answer has ended");
      }
      switch (body) {
        case UNSENT -> throw new IOException("send the headers first: sendResponseHeaders");
        case NONE -> {
          return; // a HEAD, a 204 or 304, or a body of -1: nothing goes out
        }
        case FIXED -> {
          if (written + length > declared) {
            throw new IOException(
                "the answer is " + declared + " bytes; " + (written + length) + " were written");
          }
        }
        case STREAMED -> {}
      }
      // In pieces, each waiting for the client to take the last: a client that stops reading
      // holds a bounded buffer, and one that left makes the next piece throw.
      int off = offset;
      int left = length;
      while (left > 0) {
        if (pending == null) {
          pending = Unpooled.buffer(Math.min(CHUNK, Math.max(left, 256)));
        }
        int take = Math.min(left, CHUNK - pending.readableBytes());
        pending.writeBytes(bytes, off, take);
        off += take;
        left -= take;
        written += take;
        if (pending.readableBytes() >= CHUNK) {
          flush();
        }
      }
    }

    @Override
    public void flush() throws IOException {
      if (closed || pending == null) {
        return;
      }
      ByteBuf piece = takePending();
      try {
        awaitWritable();
      } catch (IOException e) {
        piece.release();
        throw e;
      }
      send(new DefaultHttpContent(piece), true);
    }

    /** Ends the whole exchange, as the JDK's response stream does. */
    @Override
    public void close() {
      ChannelExchange.this.close();
    }
  }

  /** The mount a request was routed by, as the JDK's {@link HttpContext}. */
  private static final class Mount extends HttpContext {
    private final String path;
    private final HttpHandler handler;

    Mount(String path, HttpHandler handler) {
      this.path = path;
      this.handler = handler;
    }

    @Override
    public HttpHandler getHandler() {
      return handler;
    }

    @Override
    public void setHandler(HttpHandler h) {
      throw new UnsupportedOperationException("mounts are fixed when the listener starts");
    }

    @Override
    public String getPath() {
      return path;
    }

    /** There is no JDK server behind this listener. */
    @Override
    public HttpServer getServer() {
      return null;
    }

    @Override
    public Map<String, Object> getAttributes() {
      return Map.of();
    }

    @Override
    public List<Filter> getFilters() {
      return List.of();
    }

    @Override
    public Authenticator setAuthenticator(Authenticator auth) {
      throw new UnsupportedOperationException("this listener mounts no authenticators");
    }

    @Override
    public Authenticator getAuthenticator() {
      return null;
    }
  }
}
