package dev.berth.client.worker;

import dev.berth.client.AcquireOptions;
import dev.berth.client.BrokerException;
import dev.berth.client.BundleOptions;
import dev.berth.client.BundleResult;
import dev.berth.client.Lease;
import dev.berth.client.LeaseBundle;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokedLease;
import dev.berth.client.Ticker;
import dev.berth.client.WorkerSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The leases one page works under: RENDER for its URL, with PDFs a PDF lease, and the session's
 * WASM lease. They come as one bundle, granted together or not at all, so a page never holds its
 * RENDER slot while it waits for another kind.
 *
 * <p>The broker keeps one WASM lease per session and puts that same lease in every bundle; it is
 * {@link Extraction}'s, for as long as it lasts, and never released by a page: {@link #close()}
 * releases the RENDER and PDF leases only. (Releasing it with one page would take the instance away
 * from every other page still extracting under it.)
 *
 * @param render the page's RENDER lease
 * @param pdf its PDF lease; null without PDFs
 * @param wasm the session's WASM lease, which {@link #close()} leaves alone
 */
record PageLeases(Lease render, Lease pdf, Lease wasm) implements AutoCloseable {
  /** Prints a page to a file: the page's browser in the worker. */
  interface Printer {
    void print(Path to) throws IOException;
  }

  /**
   * Prints the page under the PDF lease, into {@code partial}, then moved onto {@code target}. The
   * lease is checked before printing, so nothing is printed under a lease that was revoked or is no
   * longer valid, and again after, so a file the lease did not last through is deleted.
   *
   * @param revoked the PDF lease's revocation, once its {@code onRevoked} has told it; else null
   * @return null once printed to {@code target}; else why not, as {@code aborted: PDF lease revoked
   *     (ADMIN)} or {@code aborted: PDF lease no longer valid}
   * @throws IOException when the file cannot be deleted or moved, or from {@code printer}
   */
  String printPdf(Printer printer, Path partial, Path target, Supplier<RevokedLease> revoked)
      throws IOException {
    String ended = pdfEnded(revoked);
    if (ended != null) {
      return ended;
    }
    printer.print(partial);
    ended = pdfEnded(revoked);
    if (ended != null) {
      Files.deleteIfExists(partial);
      return ended;
    }
    Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    return null;
  }

  /** Why the PDF lease may not be printed under now; null while it may. */
  private String pdfEnded(Supplier<RevokedLease> revoked) {
    RevokedLease r = revoked.get();
    return r != null || !pdf.isValid() ? Crawl.abortedBy("PDF", r) : null;
  }

  /** Releases the page's RENDER and PDF leases, each with its recorded outcome. */
  @Override
  public void close() {
    render.close();
    if (pdf != null) {
      pdf.close();
    }
  }

  /**
   * Acquires pages' bundles for one session. A transient failure (the broker restarting or out of
   * reach for longer than a call's deadline) is tried again with back-off, until the acquire
   * timeout or until the crawl stops: it is not the page's fault. {@link #cancelWaits} ends every
   * acquire at once, for a worker told to stop. Thread-safe.
   */
  static final class Acquirer {
    /** How long one acquire may wait in the broker's queue before asking again. */
    static final Duration QUEUE_WAIT = Duration.ofSeconds(20);

    /** The first pause after a transient failure; it doubles up to {@link #MAX_BACKOFF}. */
    static final Duration FIRST_BACKOFF = Duration.ofMillis(250);

    static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    private final WorkerSession session;
    private final String module;
    private final boolean pdf;
    private final Duration timeout;
    private final Ticker ticker;
    private final Consumer<String> log;
    private final BooleanSupplier stopping;

    /** The threads in {@link #acquire} now; guarded by {@code this}. */
    private final Set<Thread> acquiring = new HashSet<>();

    /** Set by {@link #cancelWaits}: no acquire starts or goes on. Guarded by {@code this}. */
    private boolean cancelled;

    /**
     * @param module the WASM module to ask for; empty for the broker's default
     * @param pdf whether each page also takes a PDF lease
     * @param timeout how long one page's acquire may take in all (the {@code --acquire-timeout})
     * @param ticker the clock of the timeout and the back-off
     * @param log where to say that the broker is out of reach
     * @param stopping true once the crawl stops: a transient failure is then thrown at once
     */
    Acquirer(
        WorkerSession session,
        String module,
        boolean pdf,
        Duration timeout,
        Ticker ticker,
        Consumer<String> log,
        BooleanSupplier stopping) {
      this.session = session;
      this.module = module;
      this.pdf = pdf;
      this.timeout = timeout;
      this.ticker = ticker;
      this.log = log;
      this.stopping = stopping;
    }

    /**
     * Acquires {@code url}'s bundle, waiting in the broker's queue and retrying refusals and
     * transient failures until the timeout; a refusal is returned.
     *
     * @throws BrokerException when the failure is not transient, or still there at the timeout;
     *     CANCELLED when {@link #cancelWaits} ended it (or came first)
     */
    BundleResult acquire(String url) {
      synchronized (this) {
        if (cancelled) {
          throw cancelledError(url);
        }
        acquiring.add(Thread.currentThread());
      }
      try {
        return acquireUntilDone(url);
      } finally {
        synchronized (this) {
          acquiring.remove(Thread.currentThread());
          if (cancelled) {
            // An interrupt of cancelWaits meant for this wait, which ended as it came: it must not
            // reach whatever the thread does next (a page's browser).
            boolean unused = Thread.interrupted();
          }
        }
      }
    }

    /**
     * Ends every acquire now and from now on, with CANCELLED: a wait in the broker's queue is
     * cancelled there (the SDK withdraws an interrupted call, so its slot goes to someone else),
     * and so is a back-off between tries. A grant that crossed the cancel is released by the SDK;
     * one that came just before is the caller's, who must release it.
     */
    void cancelWaits() {
      synchronized (this) {
        cancelled = true;
        for (Thread t : acquiring) {
          t.interrupt();
        }
      }
    }

    private static BrokerException cancelledError(String url) {
      return new BrokerException(
          BrokerException.Condition.CANCELLED, "the worker stops: no page bundle for " + url);
    }

    private BundleResult acquireUntilDone(String url) {
      BundleOptions.Builder bundle =
          BundleOptions.newBuilder().add(AcquireOptions.render(url)).maxWait(QUEUE_WAIT);
      if (pdf) {
        bundle.add(AcquireOptions.pdf());
      }
      AcquireOptions.Builder wasm = AcquireOptions.newBuilder(ResourceKind.WASM);
      if (!module.isEmpty()) {
        wasm.module(module);
      }
      BundleOptions options = bundle.add(wasm.build()).build();
      long deadline = ticker.nanoTime() + timeout.toNanos();
      Duration backoff = FIRST_BACKOFF;
      while (true) {
        long left = deadline - ticker.nanoTime();
        try {
          // No request id: each try is a new request. A grant whose answer was lost is released
          // by the SDK, so a try never counts twice.
          return session.acquireBundleWithRetry(options, Duration.ofNanos(Math.max(0, left)));
        } catch (BrokerException e) {
          if (!e.isTransient()
              || stopping.getAsBoolean()
              || deadline - ticker.nanoTime() - backoff.toNanos() <= 0) {
            throw e;
          }
          log.accept(
              "no page bundle for "
                  + url
                  + " ("
                  + e.getMessage()
                  + "); trying again in "
                  + Crawl.seconds(backoff));
        }
        try {
          ticker.sleep(backoff);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BrokerException(
              BrokerException.Condition.CANCELLED, "interrupted while waiting to acquire again");
        }
        backoff =
            backoff.multipliedBy(2).compareTo(MAX_BACKOFF) < 0
                ? backoff.multipliedBy(2)
                : MAX_BACKOFF;
      }
    }

    /** The page leases of a granted bundle of {@link #acquire}. */
    PageLeases leases(LeaseBundle granted) {
      return new PageLeases(
          granted.get(0), pdf ? granted.get(1) : null, granted.get(granted.leases().size() - 1));
    }
  }
}
