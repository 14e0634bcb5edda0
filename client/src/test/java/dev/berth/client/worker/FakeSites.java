package dev.berth.client.worker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Several web sites on one loopback port, told apart by the Host header (Chromium maps {@code
 * *.test} to 127.0.0.1). Page {@code /page/N} of host H has the title {@code "H page N"} (set by a
 * script, so only a real render shows it) and N + 1 links, one of them added by the script. Hosts
 * named in {@code throttled} answer the first request of each page 429 with {@code Retry-After: 1}.
 * Paths under {@code /slow/} answer only after {@link #SLOW_MILLIS}, for aborting a page mid-load.
 * Paths under {@code /loop/} load, then run a script that never yields: the page's renderer is busy
 * for good, and reading or printing the page never returns.
 *
 * <p>Every request is recorded with its arrival time, and the most requests in flight at once is
 * kept: the server-side truth about politeness and concurrency. Thread-safe.
 */
final class FakeSites implements AutoCloseable {
  /** How long {@code /slow/...} pages take to answer: longer than any test waits. */
  static final long SLOW_MILLIS = 60_000;

  /** One request as the site saw it. */
  record Hit(String host, String path, long arrivedNanos, int status) {}

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final long delayMillis;
  private final Set<String> throttled;
  private final Set<String> throttledOnce = ConcurrentHashMap.newKeySet();
  private final List<Hit> hits = new CopyOnWriteArrayList<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private final Map<String, AtomicInteger> pageCounts = new ConcurrentHashMap<>();

  FakeSites(long delayMillis, Set<String> throttled) throws IOException {
    this.delayMillis = delayMillis;
    this.throttled = throttled;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  String url(String host, int page) {
    return "http://" + host + ":" + port() + "/page/" + page;
  }

  static String title(String host, int page) {
    return host + " page " + page;
  }

  /** Links on page N: N static ones and one added by script. */
  static int links(int page) {
    return page + 1;
  }

  private void handle(HttpExchange exchange) throws IOException {
    long arrived = System.nanoTime();
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    String host = exchange.getRequestHeaders().getFirst("Host");
    host = host == null ? "" : host.replaceFirst(":\\d+$", "").toLowerCase(Locale.ROOT);
    String path = exchange.getRequestURI().getPath();
    int status = 200;
    try {
      // A site's response time, on the real clock: the end-to-end tests drive real Chromium at it.
      Thread.sleep(path.startsWith("/slow/") ? SLOW_MILLIS : delayMillis);
      byte[] body;
      if (path.startsWith("/slow/")) {
        body = page(host, 0).getBytes(StandardCharsets.UTF_8);
      } else if (path.startsWith("/loop/")) {
        body = LOOPING_PAGE.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
      } else if (!path.startsWith("/page/")) {
        status = 404;
        body = "not here".getBytes(StandardCharsets.UTF_8);
      } else if (throttled.contains(host) && throttledOnce.add(host + path)) {
        status = 429;
        exchange.getResponseHeaders().add("Retry-After", "1");
        body = "slow down".getBytes(StandardCharsets.UTF_8);
      } else {
        int page = Integer.parseInt(path.substring("/page/".length()));
        pageCounts.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
        body = page(host, page).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
      }
      exchange.sendResponseHeaders(status, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      hits.add(new Hit(host, path, arrived, status));
      inFlight.decrementAndGet();
      exchange.close();
    }
  }

  /** A page that loads, then loops forever on its main thread. */
  private static final String LOOPING_PAGE =
      "<!DOCTYPE html><html><head><title>loop</title></head>"
          + "<body onload=\"setTimeout(() => { for (;;) {} }, 0)\">never done</body></html>\n";

  /** A page that loads and then never yields. */
  String loopUrl(String host) {
    return "http://" + host + ":" + port() + "/loop/1";
  }

  private static String page(String host, int page) {
    StringBuilder html =
        new StringBuilder("<!DOCTYPE html><html><head><title>loading</title></head><body>\n");
    html.append("<h1>Welcome to ").append(host).append("</h1>\n");
    for (int i = 0; i < page; i++) {
      html.append("<p><a href=\"/page/")
          .append(i)
          .append("\">page ")
          .append(i)
          .append("</a></p>\n");
    }
    html.append("<script>document.title = '")
        .append(title(host, page))
        .append("'; document.body.insertAdjacentHTML('beforeend', '<a href=\"/js\">js</a>');")
        .append("</script>\n</body></html>\n");
    return html.toString();
  }

  /** Every request so far, in arrival order per thread. */
  List<Hit> hits() {
    return new ArrayList<>(hits);
  }

  /** The most requests that were being answered at once. */
  int maxInFlight() {
    return maxInFlight.get();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
