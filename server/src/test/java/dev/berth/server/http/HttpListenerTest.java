package dev.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP listener over real loopback sockets: whole requests before a thread is taken, its
 * bounds, and the JDK exchange rules its handlers rely on.
 */
class HttpListenerTest {
  private static final Duration SHORT = Duration.ofMillis(300);

  private final List<Socket> sockets = new ArrayList<>();
  private HttpListener listener;

  @AfterEach
  void close() throws IOException {
    for (Socket socket : sockets) {
      socket.close();
    }
    if (listener != null) {
      listener.close();
    }
  }

  private void start(int threads, HttpListener.Limits limits, Map<String, HttpHandler> handlers) {
    listener =
        HttpListener.start(
            "metrics.listen",
            InetSocketAddress.createUnresolved("127.0.0.1", 0),
            Optional.empty(),
            threads,
            handlers,
            limits);
  }

  private static HttpHandler text(String body) {
    return exchange -> {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.sendResponseHeaders(200, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    };
  }

  /** Answers "slow" once {@code release} opens, counting {@code started} down when it begins. */
  private static HttpHandler slowUntil(CountDownLatch started, CountDownLatch release) {
    return exchange -> {
      started.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      text("slow").handle(exchange);
    };
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), listener.port());
    socket.setSoTimeout(10_000);
    sockets.add(socket);
    return socket;
  }

  private static void send(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  }

  /** Reads one answer with a Content-Length body: its head and body. */
  private static String readAnswer(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed after " + head);
      }
      head.write(b);
    }
    String text = head.toString(StandardCharsets.US_ASCII);
    int length = 0;
    for (String line : text.split("\r\n", -1)) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    return text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  /** Whether the listener closed {@code socket}: a read sees its end within the socket timeout. */
  private static boolean closedByServer(Socket socket) throws IOException {
    try {
      return socket.getInputStream().read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  @Test
  void halfSentRequests_holdNoThread_aWholeRequestIsAnswered() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/metrics", text("scraped")));
    // Far more half-sent requests than threads: with the JDK server's thread-per-head reading,
    // one such client held the only thread.
    for (int i = 0; i < 50; i++) {
      send(connect(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    }

    Socket scrape = connect();
    send(scrape, get("/metrics"));

    assertThat(readAnswer(scrape.getInputStream())).startsWith("HTTP/1.1 200").endsWith("scraped");
  }

  @Test
  void aRequestNotWholeWithinTheRequestTime_hasItsConnectionClosed() throws Exception {
    start(
        1,
        new HttpListener.Limits(SHORT, SHORT, 16, 4, HttpListener.Limits.DEFAULT.writeBuffer()),
        Map.of("/", text("page")));
    Socket slow = connect();
    send(slow, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");

    assertThat(closedByServer(slow)).isTrue();
  }

  @Test
  void keepAliveAndPipelining_answerEachRequestInOrder() throws Exception {
    start(
        2,
        HttpListener.Limits.DEFAULT,
        Map.of("/a", text("first"), "/b", text("second"), "/", text("root")));
    Socket socket = connect();
    send(socket, get("/a") + get("/b"));
    InputStream in = socket.getInputStream();

    assertThat(readAnswer(in)).endsWith("first");
    assertThat(readAnswer(in)).endsWith("second");
    send(socket, get("/c"));
    assertThat(readAnswer(in)).as("the longest mount that matches wins").endsWith("root");
  }

  @Test
  void aBadlyEncodedTarget_isA400NamingTheTarget_andTheConnectionGoesOn() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/", text("page")));
    Socket socket = connect();
    send(socket, get("/api/leases?host=%zz"));

    String answer = readAnswer(socket.getInputStream());

    assertThat(answer).startsWith("HTTP/1.1 400").contains("request target: Malformed escape pair");
    send(socket, get("/"));
    assertThat(readAnswer(socket.getInputStream())).endsWith("page");
  }

  @Test
  void noMountForThePath_is404() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/metrics", text("scraped")));
    Socket socket = connect();
    send(socket, get("/other"));

    assertThat(readAnswer(socket.getInputStream()))
        .startsWith("HTTP/1.1 404")
        .contains("no such page: /other");
  }

  @Test
  void aBodyOverTheLimit_is413_andNoHandlerRuns() throws Exception {
    CountDownLatch ran = new CountDownLatch(1);
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of(
            "/",
            exchange -> {
              ran.countDown();
              text("ok").handle(exchange);
            }));
    Socket socket = connect();
    send(
        socket,
        "POST /api/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: "
            + (HttpListener.MAX_BODY_BYTES + 1)
            + "\r\n\r\n");

    assertThat(readAnswer(socket.getInputStream())).startsWith("HTTP/1.1 413");
    assertThat(ran.getCount()).isEqualTo(1);
  }

  /**
   * A request pipelined behind a running one is answered after it, also when it is refused for its
   * size or asks to be told to continue: those answers used to go out at once, ahead of the answer
   * still being written, so the client took the 413 for its first request's.
   */
  @Test
  void aPipelinedOversizedOrContinueRequest_isAnsweredInOrder() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of("/slow", slowUntil(started, release), "/", text("ok")));
    Socket socket = connect();
    send(
        socket,
        get("/slow")
            + "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
            + "Expect: 100-continue\r\n\r\n{}"
            + "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
            + (HttpListener.MAX_BODY_BYTES + 1)
            + "\r\n\r\n");
    // The pipelined requests arrived with the first, in one write: once its handler runs, the
    // listener has read them while it runs.
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    release.countDown();
    InputStream in = socket.getInputStream();

    assertThat(readAnswer(in)).startsWith("HTTP/1.1 200").endsWith("slow");
    assertThat(readAnswer(in)).startsWith("HTTP/1.1 200").endsWith("ok");
    assertThat(readAnswer(in)).startsWith("HTTP/1.1 413");
    assertThat(closedByServer(socket)).isTrue();
  }

  @Test
  void bodiesPipelinedBehindARunningRequest_areBounded_thenTheConnectionCloses() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of("/slow", slowUntil(new CountDownLatch(1), release), "/", text("ok")));
    Socket socket = connect();
    String body = "x".repeat(HttpListener.MAX_BODY_BYTES / 2);
    String post =
        "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
            + body.length()
            + "\r\n\r\n"
            + body;
    send(socket, get("/slow") + post + post + post);

    try {
      assertThat(closedByServer(socket)).as("three half-limit bodies: over the bound").isTrue();
    } finally {
      release.countDown();
    }
  }

  @Test
  void aFullListener_closesTheConnectionWaitingLongest_forANewOne() throws Exception {
    start(
        1,
        new HttpListener.Limits(
            Duration.ofMinutes(1), SHORT, 3, 4, HttpListener.Limits.DEFAULT.writeBuffer()),
        Map.of("/", text("ok")));
    // Each answered once, so each is open and waiting, the first the longest.
    List<Socket> idle = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Socket socket = connect();
      send(socket, get("/"));
      assertThat(readAnswer(socket.getInputStream())).endsWith("ok");
      idle.add(socket);
    }
    assertThat(listener.openConnections()).isEqualTo(3);

    Socket fresh = connect();
    send(fresh, get("/"));

    assertThat(readAnswer(fresh.getInputStream())).endsWith("ok");
    assertThat(closedByServer(idle.get(0))).isTrue();
    send(idle.get(1), get("/"));
    assertThat(readAnswer(idle.get(1).getInputStream())).endsWith("ok");
  }

  @Test
  void everyThreadTakenAndTheQueueFull_is503() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    start(
        1,
        new HttpListener.Limits(
            Duration.ofMinutes(1),
            Duration.ofMinutes(1),
            16,
            1,
            HttpListener.Limits.DEFAULT.writeBuffer()),
        Map.of("/slow", slowUntil(started, release), "/", text("ok")));
    Socket running = connect();
    send(running, get("/slow"));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    Socket queued = connect();
    send(queued, get("/slow"));
    // The queue (one place) fills once the listener has handed the second request over.
    Socket refused = null;
    String answer = "";
    for (int attempt = 0; attempt < 100 && !answer.startsWith("HTTP/1.1 503"); attempt++) {
      refused = connect();
      send(refused, get("/"));
      answer = readAnswer(refused.getInputStream());
    }

    assertThat(answer).startsWith("HTTP/1.1 503").contains("the listener is busy");
    release.countDown();
    assertThat(readAnswer(running.getInputStream())).endsWith("slow");
    assertThat(readAnswer(queued.getInputStream())).endsWith("slow");
  }

  @Test
  void aClientThatStopsReading_endsTheAnswerWithinTheWriteStall() throws Exception {
    CompletableFuture<IOException> failed = new CompletableFuture<>();
    start(
        1,
        new HttpListener.Limits(
            Duration.ofMinutes(1), SHORT, 16, 4, HttpListener.Limits.DEFAULT.writeBuffer()),
        Map.of(
            "/",
            exchange -> {
              exchange.sendResponseHeaders(200, 0);
              byte[] piece = new byte[64 * 1024];
              try (OutputStream out = exchange.getResponseBody()) {
                for (int i = 0; i < 10_000; i++) { // 640 MB: far beyond any socket buffer
                  out.write(piece);
                }
              } catch (IOException e) {
                failed.complete(e);
                throw e;
              }
              failed.complete(null);
            }));
    Socket reader = connect();
    send(reader, get("/"));

    assertThat(failed.get(30, TimeUnit.SECONDS)).hasMessageContaining("read nothing");
    assertThat(closedByServerAfterDraining(reader)).isTrue();
  }

  private static boolean closedByServerAfterDraining(Socket socket) throws IOException {
    byte[] sink = new byte[64 * 1024];
    try {
      while (socket.getInputStream().read(sink) >= 0) {
        // what was in flight when the listener gave up
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  @Test
  void aChunkedAnswer_reachesTheClientAtEachFlush() throws Exception {
    CountDownLatch end = new CountDownLatch(1);
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of(
            "/stream",
            exchange -> {
              exchange.sendResponseHeaders(200, 0);
              OutputStream out = exchange.getResponseBody();
              out.write("data: one\n\n".getBytes(StandardCharsets.UTF_8));
              out.flush();
              try {
                end.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              exchange.close();
            }));
    Socket socket = connect();
    send(socket, get("/stream"));
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream seen = new ByteArrayOutputStream();

    while (!seen.toString(StandardCharsets.UTF_8).contains("data: one")) {
      int b = in.read();
      assertThat(b).as("the first event, before the handler ends").isNotNegative();
      seen.write(b);
    }
    end.countDown();
    assertThat(seen.toString(StandardCharsets.UTF_8).toLowerCase(java.util.Locale.ROOT))
        .contains("transfer-encoding: chunked");
  }

  @Test
  void aHandlerThatThrows_is500_andTheListenerGoesOn() throws Exception {
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of(
            "/boom",
            (HttpExchange exchange) -> {
              throw new IllegalStateException("boom");
            },
            "/",
            text("ok")));
    Socket socket = connect();
    send(socket, get("/boom"));

    assertThat(readAnswer(socket.getInputStream())).startsWith("HTTP/1.1 500");
    send(socket, get("/"));
    assertThat(readAnswer(socket.getInputStream())).endsWith("ok");
  }

  @Test
  void aHeadRequest_getsTheHeadersAndNoBody() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/", text("page")));
    Socket socket = connect();
    send(socket, "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + get("/"));
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      head.write(in.read());
    }

    assertThat(head.toString(StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200");
    assertThat(readAnswer(in)).as("the next answer follows at once").endsWith("page");
  }

  /**
   * Some scripts' {@code nc} shuts its side once the request is sent. The connection reads nothing
   * while a request runs, so it sees that end only after the answer has gone out.
   */
  @Test
  void aClientThatShutsItsSideAfterTheRequest_stillGetsTheAnswer() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/", text("page")));
    Socket socket = connect();
    send(socket, get("/"));
    socket.shutdownOutput();

    assertThat(readAnswer(socket.getInputStream())).endsWith("page");
    assertThat(closedByServer(socket)).isTrue();
  }

  @Test
  void anHttp10Stream_endsWithTheConnection_notInChunks() throws Exception {
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of(
            "/",
            exchange -> {
              exchange.sendResponseHeaders(200, 0);
              try (OutputStream out = exchange.getResponseBody()) {
                out.write("streamed".getBytes(StandardCharsets.UTF_8));
              }
            }));
    Socket socket = connect();
    send(socket, "GET / HTTP/1.0\r\n\r\n");

    String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(answer).startsWith("HTTP/1.0 200").endsWith("\r\n\r\nstreamed");
    assertThat(answer.toLowerCase(java.util.Locale.ROOT)).doesNotContain("chunked");
  }

  /**
   * An HTTP/1.0 client keeps its connection only if the answer says {@code Connection: keep-alive};
   * without it, a client such as {@code ab -k} waits for the close, here the request time.
   */
  @Test
  void anHttp10ClientAskingForKeepAlive_isToldSo_andItsConnectionGoesOn() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/page", text("page")));
    Socket socket = connect();
    send(socket, "GET /page HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    String first = readAnswer(socket.getInputStream());
    send(socket, "GET /nowhere HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    String refused = readAnswer(socket.getInputStream());
    send(socket, get("/page"));

    assertThat(first.toLowerCase(java.util.Locale.ROOT))
        .startsWith("http/1.0 200")
        .contains("\r\nconnection: keep-alive\r\n")
        .endsWith("page");
    assertThat(refused.toLowerCase(java.util.Locale.ROOT))
        .startsWith("http/1.0 404")
        .contains("\r\nconnection: keep-alive\r\n");
    assertThat(readAnswer(socket.getInputStream())).startsWith("HTTP/1.1 200").endsWith("page");
  }

  @Test
  void answersAreInHttp11_andAnotherMajorVersionIs505() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/", text("page")));
    Socket minor = connect();
    send(minor, "GET / HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\n");
    Socket major = connect();
    send(major, "GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n");

    assertThat(readAnswer(minor.getInputStream())).startsWith("HTTP/1.1 200").endsWith("page");
    assertThat(readAnswer(major.getInputStream())).startsWith("HTTP/1.1 505");
    assertThat(closedByServer(major)).isTrue();
  }

  @Test
  void anAbsoluteFormTarget_isRoutedByItsPath_withItsAuthorityAsTheHost() throws Exception {
    CompletableFuture<String> host = new CompletableFuture<>();
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of(
            "/metrics",
            exchange -> {
              host.complete(
                  exchange.getRequestHeaders().getFirst("Host") + " " + exchange.getRequestURI());
              text("scraped").handle(exchange);
            }));
    Socket socket = connect();
    send(
        socket,
        "GET http://localhost:9464/metrics?name=x HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n");

    assertThat(readAnswer(socket.getInputStream())).startsWith("HTTP/1.1 200");
    assertThat(host.get(10, TimeUnit.SECONDS)).isEqualTo("localhost:9464 /metrics?name=x");
  }

  @Test
  void everyAnswer_carriesADate() throws Exception {
    start(1, HttpListener.Limits.DEFAULT, Map.of("/page", text("page")));
    Socket socket = connect();
    send(socket, get("/page") + get("/none"));

    assertThat(readAnswer(socket.getInputStream()).toLowerCase(java.util.Locale.ROOT))
        .containsPattern("\r\ndate: [a-z]{3}, \\d{2} [a-z]{3} \\d{4} \\d{2}:\\d{2}:\\d{2} gmt\r\n");
    assertThat(readAnswer(socket.getInputStream()).toLowerCase(java.util.Locale.ROOT))
        .as("a refusal too")
        .contains("\r\ndate: ");
  }

  @Test
  void aClientThatStopsReadingAnAnswerWithinTheWriteBuffer_holdsNoThread() throws Exception {
    // Bigger than the kernel's socket buffers take on loopback (a few MB), so without the
    // connection's own buffer the handler's thread would wait for the reader.
    int buffer = 16 * 1024 * 1024;
    byte[] answer = new byte[buffer * 3 / 4];
    start(
        1,
        new HttpListener.Limits(Duration.ofMinutes(1), Duration.ofMinutes(1), 16, 4, buffer),
        Map.of(
            "/big",
            exchange -> {
              exchange.sendResponseHeaders(200, answer.length);
              try (OutputStream out = exchange.getResponseBody()) {
                out.write(answer);
              }
            },
            "/",
            text("ok")));
    // Tiny windows, so the kernel takes little of the answer off the listener's hands.
    for (int i = 0; i < 3; i++) {
      Socket stalled = new Socket();
      stalled.setReceiveBufferSize(1024);
      stalled.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.port()));
      sockets.add(stalled);
      send(stalled, get("/big"));
    }

    Socket scrape = connect();
    send(scrape, get("/"));

    assertThat(readAnswer(scrape.getInputStream()))
        .as("the one thread is free while three readers stall")
        .endsWith("ok");
  }

  @Test
  void plainExchanges_areNotSecure() throws Exception {
    CompletableFuture<Boolean> secure = new CompletableFuture<>();
    start(
        1,
        HttpListener.Limits.DEFAULT,
        Map.of(
            "/",
            exchange -> {
              secure.complete(HttpListener.isSecure(exchange));
              text("ok").handle(exchange);
            }));
    Socket socket = connect();
    send(socket, get("/"));
    readAnswer(socket.getInputStream());

    assertThat(secure.get(10, TimeUnit.SECONDS)).isFalse();
  }
}
