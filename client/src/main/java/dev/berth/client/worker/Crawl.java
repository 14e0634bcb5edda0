package dev.berth.client.worker;

import com.microsoft.playwright.PlaywrightException;
import dev.berth.client.BrokerClient;
import dev.berth.client.BrokerException;
import dev.berth.client.BundleResult;
import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.RefusalReason;
import dev.berth.client.RevokedLease;
import dev.berth.client.SessionOptions;
import dev.berth.client.Ticker;
import dev.berth.client.WorkerSession;
import dev.berth.client.cli.options.ConnectionOptions;
import dev.berth.client.cli.options.Failures;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * One run of the reference worker: a session, a queue of URLs, and {@code --concurrency} render
 * threads, each with its own browser, taking URLs until the queue is empty, the broker drains the
 * session, or the process is asked to stop.
 *
 * <p>For each URL: acquire one bundle — RENDER for the URL, with PDFs a PDF lease, and the
 * session's WASM lease — granted together or not at all, so a page never waits for another slot
 * while holding its RENDER slot (the broker queues the acquire while the host's rate limit or a
 * pool is full; {@link PageLeases}); render, extract under the WASM lease, print under the PDF
 * lease, write the result, and release the RENDER and PDF leases with their outcome. The WASM lease
 * is the session's, {@link Extraction}'s until the end. A 429 or 503 is released as such, with the
 * site's {@code Retry-After}, so the broker slows that host for the whole fleet; the URL goes to
 * the back of the queue until its attempts run out.
 *
 * <p>Pushes: a revoke of a lease in use aborts that page (its requests are cut off and its result
 * says so); a cleanup closes the idle browser contexts of every renderer at its next page boundary
 * and collects garbage; a drain lets the current pages finish and acquires nothing new.
 *
 * <p>A {@link Watchdog} kills a renderer's browser when its page is still in it past its time or
 * its lease's end (a script that never yields blocks Playwright for good); the page fails and the
 * thread launches another browser.
 */
final class Crawl {
  private record Task(int index, String url, String host, int attempt) {
    Task next() {
      return new Task(index, url, host, attempt + 1);
    }
  }

  private final WorkerOptions options;
  private final BrokerClient client;
  private final Clock clock;
  private final RetryAfter retryAfter;
  private final ResultWriter results;
  private final PrintStream out;
  private final PrintStream err;
  private final Deque<Task> queue = new ConcurrentLinkedDeque<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final AtomicBoolean chromiumFailed = new AtomicBoolean();
  private final AtomicLong cleanups = new AtomicLong();
  private final AtomicInteger finished = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final CountDownLatch done = new CountDownLatch(1);

  private final PageSpans spans;
  private WorkerSession session;
  private Extraction extraction;
  private Watchdog watchdog;
  private volatile PageLeases.Acquirer acquirer;

  /** A crawl of {@code options}' URLs over {@code client}, which the caller owns and closes. */
  Crawl(WorkerOptions options, BrokerClient client, Clock clock, PrintStream out, PrintStream err) {
    this(options, client, clock, out, err, OpenTelemetry.noop().getTracer(WorkerTracing.SCOPE));
  }

  /** A crawl whose pages are traced with {@code tracer} ({@link PageSpans}). */
  Crawl(
      WorkerOptions options,
      BrokerClient client,
      Clock clock,
      PrintStream out,
      PrintStream err,
      Tracer tracer) {
    this.spans = new PageSpans(tracer);
    this.options = options;
    this.client = client;
    this.clock = clock;
    this.retryAfter = new RetryAfter(clock);
    this.results = new ResultWriter(options.out());
    this.out = out;
    this.err = err;
    for (int i = 0; i < options.urls().size(); i++) {
      String url = options.urls().get(i);
      queue.add(new Task(i, url, host(url), 1));
    }
  }

  /** Runs the crawl to its end; returns the exit status. */
  int run() {
    try {
      return crawl();
    } finally {
      done.countDown();
    }
  }

  /**
   * Asks a running crawl to stop as a drain does, and waits up to {@code patience} for it to
   * release its leases and close its session. For a shutdown hook. Acquires waiting for a page's
   * bundle end at once, cancelled at the broker: their pages are not attempted.
   */
  void stop(Duration patience) {
    if (stopping.compareAndSet(false, true)) {
      info("stopping: finishing current pages, acquiring nothing new");
    }
    PageLeases.Acquirer a = acquirer;
    if (a != null) {
      a.cancelWaits();
    }
    try {
      done.await(patience.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private int crawl() {
    if (!Files.isExecutable(options.chromium())) {
      err.println(
          "berth worker: no Chromium at "
              + options.chromium()
              + " (apt-get install chromium, or pass --chromium PATH)");
      return 1;
    }
    try {
      Files.createDirectories(options.out());
    } catch (IOException e) {
      err.println("berth worker: cannot create --out " + options.out() + ": " + e);
      return 1;
    }
    long started = System.nanoTime();
    SessionOptions sessionOptions =
        SessionOptions.newBuilder()
            .job(options.job())
            .label("role", "reference-worker")
            .memoryLimitMb(options.memoryLimitMb())
            .build();
    try {
      session = client.openSession(options.workerId(), sessionOptions);
    } catch (BrokerException e) {
      if (e.condition() == BrokerException.Condition.UNAVAILABLE
          || e.condition() == BrokerException.Condition.DEADLINE_EXCEEDED) {
        // Said and exited as every berth command says it: exit 3, unreachable.
        Failures.Report report =
            Failures.of(e, options.connection().target(), options.connection().timeout())
                .as("berth worker");
        err.println(report.message());
        return report.exitCode();
      }
      err.println(
          "berth worker: cannot open a session at "
              + options.connection().target()
              + ": "
              + ConnectionOptions.inFlagTerms(e.getMessage()));
      return 1;
    }
    try (WorkerSession s = session;
        Extraction x = new Extraction(s, this::info);
        Watchdog w = Watchdog.start()) {
      extraction = x;
      watchdog = w;
      acquirer =
          new PageLeases.Acquirer(
              s,
              options.module(),
              options.pdf(),
              options.acquireTimeout(),
              Ticker.system(),
              this::info,
              this::stopped);
      if (stopping.get()) {
        acquirer.cancelWaits(); // stop came before the acquirer: nothing is acquired
      }
      listen(s);
      info(
          options.workerId()
              + ": session "
              + s.sessionId()
              + " at "
              + options.connection().target()
              + ", "
              + options.urls().size()
              + " URLs, concurrency "
              + options.concurrency()
              + (options.pdf() ? ", with PDFs" : ""));
      runThreads();
    }
    int total = options.urls().size();
    int notAttempted = total - finished.get();
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    info(
        "done: "
            + finished.get()
            + "/"
            + total
            + " pages ("
            + (finished.get() - failed.get())
            + " ok, "
            + failed.get()
            + " failed) in "
            + seconds(took)
            + (notAttempted > 0 ? "; " + notAttempted + " not attempted" : ""));
    if (chromiumFailed.get() || failed.get() > 0) {
      return 1;
    }
    if (notAttempted > 0) {
      return draining.get() || stopping.get() ? 0 : 1;
    }
    return 0;
  }

  private void listen(WorkerSession s) {
    s.onDrain(
        d -> {
          draining.set(true);
          info("drain: the broker asks to finish by " + d.deadline() + "; acquiring nothing new");
        });
    s.onCleanup(
        c -> {
          cleanups.incrementAndGet();
          System.gc();
          info(
              "cleanup: the broker asks to free "
                  + c.targetFreeMb()
                  + " MiB ("
                  + c.reason()
                  + "); closing idle browser contexts");
        });
    s.onRevoked(r -> info("revoked: lease " + r.leaseId() + " (" + r.reason() + ")"));
    s.onSessionLost(
        l -> info("session " + l.sessionId() + " lost (" + l.reason() + "); carrying on"));
  }

  private boolean stopped() {
    return draining.get() || stopping.get() || chromiumFailed.get();
  }

  private void runThreads() {
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < options.concurrency(); i++) {
      Thread t = new Thread(this::renderLoop, "berth-render-" + (i + 1));
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stopping.set(true);
      }
    }
  }

  private void renderLoop() {
    Renderer renderer = null;
    long seenCleanups = cleanups.get();
    try {
      while (!stopped()) {
        Task task = queue.pollFirst();
        if (task == null) {
          return;
        }
        if (renderer != null && !renderer.isConnected()) {
          info("the browser went away; starting another");
          closeQuietly(renderer);
          renderer = null;
        }
        if (renderer == null) {
          try {
            renderer = Renderer.launch(options.chromium(), options.chromiumArgs());
          } catch (PlaywrightException e) {
            queue.addFirst(task);
            if (chromiumFailed.compareAndSet(false, true)) {
              err.println(
                  "berth worker: cannot start Chromium at "
                      + options.chromium()
                      + ": "
                      + firstLine(e.getMessage()));
            }
            return;
          }
        }
        seenCleanups = cleanUp(renderer, seenCleanups);
        process(task, renderer);
        seenCleanups = cleanUp(renderer, seenCleanups);
      }
    } catch (RuntimeException e) {
      err.println("berth worker: render thread failed: " + e);
      e.printStackTrace(err);
    } finally {
      if (renderer != null) {
        closeQuietly(renderer);
      }
    }
  }

  private static void closeQuietly(Renderer renderer) {
    try {
      renderer.close();
    } catch (PlaywrightException e) {
      // The browser is gone already.
    }
  }

  /** Answers cleanup requests that came since {@code seen}; returns the new count. */
  private long cleanUp(Renderer renderer, long seen) {
    long now = cleanups.get();
    if (now != seen) {
      int closed = renderer.closeIdleContexts();
      info("cleanup: closed " + closed + " idle browser context(s)");
    }
    return now;
  }

  private void process(Task task, Renderer renderer) {
    PageResult result = new PageResult(task.url(), task.host(), options.workerId());
    result.attempts = task.attempt();
    try {
      spans.page(
          task.url(),
          task.host(),
          task.attempt(),
          () -> {
            process(task, renderer, result);
            return result;
          });
    } catch (RuntimeException e) {
      // A bug, or the unforeseen: the page's leases are released already; its URL is not lost.
      err.println("berth worker: " + task.url() + " failed: " + e);
      e.printStackTrace(err);
      if (result.finishedAt == null) {
        result.facts = null;
        result.error = "worker: " + firstLine(e.toString());
        finish(task, result);
      }
    }
  }

  private void process(Task task, Renderer renderer, PageResult result) {
    BundleResult acquired;
    try {
      acquired = acquirer.acquire(task.url());
    } catch (BrokerException e) {
      if ((e.isTransient() || e.condition() == BrokerException.Condition.CANCELLED) && stopped()) {
        // Not attempted: the crawl stops while the broker is away, or stop cancelled the wait.
        queue.addFirst(task);
        return;
      }
      result.error = "no page bundle: " + e.getMessage();
      finish(task, result);
      return;
    }
    if (acquired instanceof BundleResult.Refused refused) {
      refused(
          task,
          result,
          "no page bundle (item " + refused.item() + ", " + refused.kind() + ")",
          refused.reason(),
          refused.detail());
      return;
    }
    PageLeases leases = acquirer.leases(((BundleResult.Granted) acquired).leases());
    if (stopping.get()) {
      // Granted as the worker was told to stop: the page is not started, its slots go back now.
      extraction.adopt(leases.wasm());
      leases.close();
      queue.addFirst(task);
      return;
    }
    long t0 = System.nanoTime();
    boolean retry;
    try (leases) {
      extraction.adopt(leases.wasm()); // the session's, not the page's: never released with it
      retry = spans.step(PageSpans.RENDER, () -> render(task, renderer, leases, result));
    }
    result.duration = Duration.ofNanos(System.nanoTime() - t0);
    if (!retry) {
      finish(task, result);
    }
  }

  /** Handles a final refusal: a draining session puts the page back, anything else fails it. */
  private void refused(
      Task task, PageResult result, String what, RefusalReason reason, String detail) {
    if (reason == RefusalReason.DRAINING) {
      queue.addFirst(task); // not attempted: the session is draining
      draining.set(true);
      return;
    }
    result.error =
        what + " within " + seconds(options.acquireTimeout()) + ": " + reason + ", " + detail;
    finish(task, result);
  }

  /**
   * Renders under {@code render}; returns true when the URL went back to the queue (429/503 with
   * attempts left).
   */
  private boolean render(Task task, Renderer renderer, PageLeases leases, PageResult result) {
    Lease render = leases.render();
    result.lease("render", render);
    AtomicReference<RevokedLease> revoked = new AtomicReference<>();
    render.onRevoked(revoked::set);
    BooleanSupplier aborted = () -> revoked.get() != null || !render.isValid();
    // Validity is renewed by heartbeats while the page loads (and polled per request), so the
    // navigation is bounded only by the lease's max hold.
    Duration untilMaxHold = Duration.between(clock.instant(), render.expiresAt());
    Duration timeout =
        min(options.navigationTimeout(), untilMaxHold.isNegative() ? Duration.ZERO : untilMaxHold);
    // A page whose script never yields blocks Playwright for good: past its time, or once its lease
    // ended, the watchdog kills its browser, the blocked call throws and the next page relaunches.
    // It also interrupts this thread: an extractor module that never returns runs in this JVM, not
    // in the browser, and Chicory stops at an interrupt (so does a wait for the extractor).
    Thread self = Thread.currentThread();
    Watchdog.Watch watch =
        watchdog.watch(
            timeout,
            aborted,
            () -> {
              try {
                renderer.kill();
              } finally {
                self.interrupt();
              }
            });
    try {
      return render(task, renderer, leases, result, render, revoked, aborted, timeout, watch);
    } finally {
      if (watch.fired() != null) {
        // Closed by now, so no interrupt comes after this: the page's releases and the next page
        // must not see it.
        Thread.interrupted();
      }
    }
  }

  private boolean render(
      Task task,
      Renderer renderer,
      PageLeases leases,
      PageResult result,
      Lease render,
      AtomicReference<RevokedLease> revoked,
      BooleanSupplier aborted,
      Duration timeout,
      Watchdog.Watch watch) {
    try (watch;
        Renderer.Visit visit = renderer.visit(task.url(), task.host(), timeout, aborted)) {
      result.httpStatus = visit.status();
      if (aborted.getAsBoolean()) {
        result.error = abortedBy("RENDER", revoked.get());
        return false;
      }
      if (visit.status() == 429 || visit.status() == 503) {
        result.siteRetryAfter = retryAfter.parse(visit.retryAfter()).orElse(Duration.ZERO);
        render.recordOutcome(
            Outcome.http(visit.status()).withSiteRetryAfter(result.siteRetryAfter));
        if (task.attempt() < options.attempts()) {
          queue.addLast(task.next());
          progress(
              "["
                  + finished.get()
                  + "/"
                  + options.urls().size()
                  + "] "
                  + task.url()
                  + " "
                  + visit.status()
                  + " retry-after "
                  + seconds(result.siteRetryAfter)
                  + ": again later (attempt "
                  + task.attempt()
                  + "/"
                  + options.attempts()
                  + ")");
          return true;
        }
        result.error = "HTTP " + visit.status() + " on every attempt";
        return false;
      }
      Extraction.Extracted extracted;
      try {
        extracted =
            spans.step(PageSpans.EXTRACT, () -> extraction.extract(visit.html(), leases.wasm()));
      } catch (Extractor.ExtractionException e) {
        result.error = "extraction: " + failure(watch, e);
        render.recordOutcome(Outcome.http(visit.status()).withError(clip(result.error)));
        return false;
      }
      result.facts = extracted.facts();
      result.lease("wasm", extracted.lease());
      if (options.pdf()) {
        spans.step(
            PageSpans.PDF,
            () -> {
              printPdf(task, visit, result, aborted, leases, watch);
              return null;
            });
      }
      if (aborted.getAsBoolean()) {
        result.error = abortedBy("RENDER", revoked.get());
        result.facts = null;
        deletePdf(result);
        return false;
      }
      render.recordOutcome(
          result.error.isEmpty()
              ? Outcome.http(visit.status())
              : Outcome.http(visit.status()).withError(clip(result.error)));
      return false;
    } catch (Renderer.Aborted e) {
      result.error = abortedBy("RENDER", revoked.get());
      return false;
    } catch (PlaywrightException e) {
      if (aborted.getAsBoolean()) {
        result.error = abortedBy("RENDER", revoked.get());
      } else {
        result.error = "render: " + failure(watch, e);
        render.recordOutcome(Outcome.failed(clip(result.error)));
      }
      return false;
    }
  }

  /**
   * Prints the page under the page bundle's PDF lease, while it lasts ({@link
   * PageLeases#printPdf}); a failure or revoke is recorded in {@code result}. The page's {@link
   * PageLeases} release the lease.
   */
  private void printPdf(
      Task task,
      Renderer.Visit visit,
      PageResult result,
      BooleanSupplier renderAborted,
      PageLeases leases,
      Watchdog.Watch watch) {
    Lease pdf = leases.pdf();
    result.lease("pdf", pdf);
    AtomicReference<RevokedLease> revoked = new AtomicReference<>();
    pdf.onRevoked(revoked::set);
    if (renderAborted.getAsBoolean()) {
      return;
    }
    Path target = results.pdf(task.url());
    try {
      String notPrinted =
          leases.printPdf(visit::pdf, ResultWriter.partial(target), target, revoked::get);
      if (notPrinted != null) {
        result.error = notPrinted;
        return;
      }
      result.pdf = target.toAbsolutePath();
      pdf.recordOutcome(Outcome.succeeded());
    } catch (PlaywrightException | IOException e) {
      result.error = "pdf: " + failure(watch, e);
      pdf.recordOutcome(Outcome.failed(clip(result.error)));
    }
  }

  /** What made a browser call fail: the watchdog, when it killed the browser, else {@code e}. */
  private static String failure(Watchdog.Watch watch, Exception e) {
    String fired = watch.fired();
    return fired != null ? fired : firstLine(e.getMessage());
  }

  private void deletePdf(PageResult result) {
    if (result.pdf != null) {
      try {
        Files.deleteIfExists(result.pdf);
      } catch (IOException e) {
        err.println("berth worker: cannot delete " + result.pdf + ": " + e);
      }
      result.pdf = null;
    }
  }

  static String abortedBy(String kind, RevokedLease revoked) {
    return "aborted: "
        + kind
        + " lease "
        + (revoked != null ? "revoked (" + revoked.reason() + ")" : "no longer valid");
  }

  /** Writes the result and reports progress; a result that cannot be written fails the page. */
  private void finish(Task task, PageResult result) {
    result.finishedAt = clock.instant();
    try {
      results.write(result);
    } catch (UncheckedIOException e) {
      result.error = (result.error.isEmpty() ? "" : result.error + "; ") + e.getMessage();
      deletePdf(result);
    }
    int n = finished.incrementAndGet();
    String head = "[" + n + "/" + options.urls().size() + "] " + task.url() + " ";
    if (result.ok()) {
      progress(
          head
              + result.httpStatus
              + " title='"
              + clipTitle(result.facts.title())
              + "' links="
              + result.facts.links()
              + (result.pdf != null ? " pdf" : "")
              + " "
              + seconds(result.duration));
    } else {
      failed.incrementAndGet();
      progress(head + (result.httpStatus > 0 ? result.httpStatus + " " : "") + result.error);
    }
  }

  private synchronized void progress(String line) {
    out.println(line);
    out.flush();
  }

  private void info(String message) {
    progress("berth worker: " + message);
  }

  // ---------------------------------------------------------------- small helpers

  static String host(String url) {
    String host = URI.create(url).getHost();
    return host == null ? "" : host.toLowerCase(Locale.ROOT);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
  }

  private static String clipTitle(String title) {
    String t = title.replace("'", "\\'");
    return t.length() > 60 ? t.substring(0, 57) + "..." : t;
  }

  private static String clip(String error) {
    return error.length() > 1000 ? error.substring(0, 1000) : error;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
