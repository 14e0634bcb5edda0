package dev.berth.client.worker;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.PlaywrightException;
import com.microsoft.playwright.Response;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * One headless Chromium driven by Playwright, with a browser context per host (cookies and cache
 * stay within a site) kept for reuse while idle. Playwright's own browser download never runs: it
 * drives the system Chromium.
 *
 * <p>Not thread-safe: Playwright objects belong to the thread that created them, so each render
 * thread owns one renderer. The one exception is {@link #kill()}, which any thread may call: it
 * touches no Playwright object, only the operating system's processes.
 */
final class Renderer implements AutoCloseable {
  /** What every launch passes to Chromium: no sandbox (containers), no GPU, no network chatter. */
  static final List<String> BASE_ARGS =
      List.of(
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage");

  /** Idle contexts kept for reuse; the least recently used is closed beyond this. */
  private static final int MAX_IDLE_CONTEXTS = 4;

  /**
   * The switch that marks a renderer's Chromium among this JVM's descendants: Chromium ignores a
   * switch it does not know, and the process keeps it in its command line.
   */
  static final String MARKER_SWITCH = "--berth-renderer=";

  private final Playwright playwright;
  private final Browser browser;
  private final String marker;
  private final LinkedHashMap<String, BrowserContext> contexts =
      new LinkedHashMap<>(8, 0.75f, true);
  private volatile boolean killed;

  private Renderer(Playwright playwright, Browser browser, String marker) {
    this.playwright = playwright;
    this.browser = browser;
    this.marker = marker;
  }

  /**
   * Starts Playwright's driver and launches {@code chromium} headless.
   *
   * @throws PlaywrightException when Chromium cannot be started
   */
  static Renderer launch(Path chromium, List<String> extraArgs) {
    Playwright playwright =
        Playwright.create(
            new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
    try {
      String marker = MARKER_SWITCH + UUID.randomUUID();
      List<String> args = new ArrayList<>(BASE_ARGS);
      args.addAll(extraArgs);
      args.add(marker);
      Browser browser =
          playwright
              .chromium()
              .launch(
                  new BrowserType.LaunchOptions()
                      .setExecutablePath(chromium)
                      .setHeadless(true)
                      .setArgs(args)
                      .setHandleSIGINT(false)
                      .setHandleSIGTERM(false)
                      .setHandleSIGHUP(false)
                      .setTimeout(60_000));
      return new Renderer(playwright, browser, marker);
    } catch (RuntimeException e) {
      playwright.close();
      throw e;
    }
  }

  /**
   * Opens {@code url} in a new page of its host's context and waits for the load event, or until
   * {@code aborted} turns true. The navigation is started from the page itself and awaited with
   * {@code waitForCondition}, which keeps dispatching Playwright's events, so an abort takes effect
   * at once even while the site has not answered yet ({@code Page.navigate} would block until it
   * did).
   *
   * @param timeout the longest the page may take to load
   * @param aborted checked while waiting and as each request of the page starts; once true, the
   *     page's requests are cut off and this throws {@link Aborted}
   * @throws Aborted when {@code aborted} turned true
   * @throws PlaywrightException when the page does not load (timeout, network error)
   */
  Visit visit(String url, String host, Duration timeout, BooleanSupplier aborted) {
    BrowserContext context = contexts.get(host);
    if (context == null) {
      context = browser.newContext();
      contexts.put(host, context);
      trimContexts(host);
    }
    Page page = context.newPage();
    try {
      AtomicReference<Response> document = new AtomicReference<>();
      AtomicReference<String> failed = new AtomicReference<>();
      AtomicBoolean loaded = new AtomicBoolean();
      page.route(
          u -> true,
          route -> {
            if (aborted.getAsBoolean()) {
              route.abort("aborted");
            } else {
              route.resume();
            }
          });
      page.onResponse(
          r -> {
            if (r.request().isNavigationRequest() && r.frame() == page.mainFrame()) {
              document.set(r); // the last one: redirects come first
            }
          });
      page.onRequestFailed(
          r -> {
            if (r.isNavigationRequest() && r.frame() == page.mainFrame()) {
              failed.set(r.failure());
            }
          });
      page.onLoad(p -> loaded.set(true));
      // Started on a timer so that evaluate returns before the navigation replaces the page.
      page.evaluate("url => { setTimeout(() => window.location.assign(url), 0); }", url);
      page.waitForCondition(
          () -> loaded.get() || failed.get() != null || aborted.getAsBoolean(),
          // Playwright takes its timeout as a double of milliseconds.
          new Page.WaitForConditionOptions().setTimeout((double) Math.max(1, timeout.toMillis())));
      if (aborted.getAsBoolean()) {
        throw new Aborted();
      }
      if (failed.get() != null && !loaded.get()) {
        throw new PlaywrightException("navigation to " + url + " failed: " + failed.get());
      }
      Response response = document.get();
      int status = response == null ? 0 : response.status();
      String retryAfter = response == null ? null : response.headerValue("retry-after");
      return new Visit(page, status, retryAfter);
    } catch (RuntimeException e) {
      page.close();
      throw e;
    }
  }

  /** A page given up because its lease ended while it loaded. */
  static final class Aborted extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Aborted() {
      super("aborted", null, false, false);
    }
  }

  /** Closes the least recently used idle contexts beyond the limit, never {@code keep}'s. */
  private void trimContexts(String keep) {
    Iterator<Map.Entry<String, BrowserContext>> it = contexts.entrySet().iterator();
    while (contexts.size() > MAX_IDLE_CONTEXTS && it.hasNext()) {
      Map.Entry<String, BrowserContext> eldest = it.next();
      if (!eldest.getKey().equals(keep)) {
        eldest.getValue().close();
        it.remove();
      }
    }
  }

  /**
   * Closes every context; called between pages, when none is in use, to answer the broker's cleanup
   * request.
   *
   * @return how many were closed
   */
  int closeIdleContexts() {
    int n = contexts.size();
    for (BrowserContext context : contexts.values()) {
      try {
        context.close();
      } catch (PlaywrightException e) {
        // Already gone with its browser; nothing to free.
      }
    }
    contexts.clear();
    return n;
  }

  int openContexts() {
    return contexts.size();
  }

  /** False once the browser has gone away (crashed or killed); launch a new renderer then. */
  boolean isConnected() {
    return !killed && browser.isConnected();
  }

  /**
   * Kills this renderer's Chromium — the process launched with this renderer's {@link
   * #MARKER_SWITCH} and every process under it — so that a Playwright call blocked on it (a page
   * whose script never yields blocks {@code content()} and {@code pdf()} for good) throws. From any
   * thread: no Playwright object is touched. The renderer is no longer {@linkplain #isConnected()
   * connected} afterwards; close it and launch another.
   *
   * @return how many processes were killed
   */
  int kill() {
    killed = true;
    List<ProcessHandle> doomed = new ArrayList<>();
    ProcessHandle.current()
        .descendants()
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false))
        .forEach(
            browserProcess -> {
              doomed.add(browserProcess);
              // Listed before the kill: orphans would no longer be its descendants.
              browserProcess.descendants().forEach(doomed::add);
            });
    for (ProcessHandle p : doomed) {
      p.destroyForcibly();
    }
    return doomed.size();
  }

  @Override
  public void close() {
    try {
      closeIdleContexts();
      browser.close();
    } finally {
      playwright.close();
    }
  }

  /** One loaded page. Close it when done. */
  static final class Visit implements AutoCloseable {
    private final Page page;
    private final int status;
    private final String retryAfter;

    private Visit(Page page, int status, String retryAfter) {
      this.page = page;
      this.status = status;
      this.retryAfter = retryAfter;
    }

    /** The HTTP status of the main document; 0 when there was no response (e.g. a data URL). */
    int status() {
      return status;
    }

    /** The main document's {@code Retry-After} header, or null. */
    String retryAfter() {
      return retryAfter;
    }

    /** The document as the browser has it now (after scripts ran), as UTF-8. */
    byte[] html() {
      return page.content().getBytes(StandardCharsets.UTF_8);
    }

    /** Prints the page to {@code path} as A4 PDF. */
    void pdf(Path path) {
      page.pdf(new Page.PdfOptions().setPath(path).setFormat("A4").setPrintBackground(true));
    }

    @Override
    public void close() {
      try {
        page.close();
      } catch (PlaywrightException e) {
        // The browser went away; the page is gone with it.
      }
    }
  }
}
