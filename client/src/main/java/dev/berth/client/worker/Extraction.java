package dev.berth.client.worker;

import dev.berth.client.BrokerException;
import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.WasmModule;
import dev.berth.client.WorkerSession;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The session's WASM extractor: the session's one WASM lease, the module it names (fetched from the
 * broker) and one Chicory instance of it, shared by the render threads. Every call is counted on
 * the lease, so the broker sees the instance in use.
 *
 * <p>Extraction never acquires: each page brings the WASM lease its bundle was granted with ({@link
 * PageLeases}), which the broker makes the session's one lease, so no page waits for it while it
 * holds a RENDER slot. The lease belongs to this extraction from then on, across pages, and {@link
 * #close()} releases it. When the broker takes it back (e.g. IDLE after a long wait) the next
 * bundle brings another, which replaces it; the instance is kept while the module's digest stays
 * the same, so a new lease costs no fetch.
 *
 * <p>A failed extraction (a trap, memory the module cannot grow past {@link Extractor#MAX_PAGES},
 * or an interrupt of a call that ran past its page's time) discards the instance: the next page
 * gets a fresh one of the same module.
 *
 * <p>Thread-safe: extractions run one at a time, and a thread waiting for its turn stops when
 * interrupted; {@link #adopt} never waits for one.
 */
final class Extraction implements AutoCloseable {
  private final WorkerSession session;
  private final Consumer<String> log;

  private final Object leaseLock = new Object();

  /** The session's WASM lease, the latest a page brought; null before the first. */
  private Lease lease; // guarded by leaseLock

  /** Held while an extraction runs: one at a time, since a WASM instance runs one call. */
  private final ReentrantLock running = new ReentrantLock();

  private Extractor extractor; // guarded by running

  /** The module digest {@link #extractor} was loaded from; null when none is loaded. */
  private String extractorDigest; // guarded by running

  /** The module's bytes of {@link #extractorDigest}, to instantiate again after a failure. */
  private byte[] moduleBytes; // guarded by running

  /**
   * @param log where to say what happens to the lease
   */
  Extraction(WorkerSession session, Consumer<String> log) {
    this.session = session;
    this.log = log;
  }

  /** The outcome of one extraction: the facts and the WASM lease they were made under. */
  record Extracted(PageFacts facts, Lease lease) {}

  /**
   * Extracts facts from {@code html} under {@code wasm}, the session's WASM lease as the page's
   * bundle brought it (and {@link #adopt} took it).
   *
   * @throws Extractor.ExtractionException when the lease is no longer valid, the module cannot be
   *     had, or it fails on the document
   */
  Extracted extract(byte[] html, Lease wasm) {
    try {
      // Interruptibly: a page past its time stops waiting for another page's extraction too.
      running.lockInterruptibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // the caller's watchdog asked; it clears the flag
      throw new Extractor.ExtractionException("interrupted while waiting for the extractor", e);
    }
    try {
      if (!wasm.isValid()) {
        throw new Extractor.ExtractionException(
            "WASM lease " + wasm.leaseId() + " is no longer valid");
      }
      load(wasm);
      try {
        PageFacts facts = extractor.extract(html);
        wasm.recordWasmCall(true);
        return new Extracted(facts, wasm);
      } catch (Extractor.ExtractionException e) {
        wasm.recordWasmCall(false);
        // A trap or an interrupt leaves the instance's memory and globals as they were at that
        // instant: the next page gets a fresh instance of the module (no fetch, it is kept).
        extractor = null;
        throw e;
      }
    } finally {
      running.unlock();
    }
  }

  /**
   * Makes {@code wasm}, the WASM lease of a bundle just granted, the session's lease, to be held
   * until {@link #close()} or until another replaces it; gives back the one it replaces. A lease no
   * longer valid is ignored: it must not displace the one a later bundle brought.
   */
  void adopt(Lease wasm) {
    Lease replaced;
    synchronized (leaseLock) {
      if (wasm == lease || !wasm.isValid()) {
        return;
      }
      replaced = lease;
      lease = wasm;
    }
    if (replaced != null) {
      log.accept("WASM lease " + replaced.leaseId() + " replaced by " + wasm.leaseId());
      replaced.close(); // ended at the broker already, or the broker would not grant another
    }
  }

  /**
   * Makes {@link #extractor} an instance of the module {@code wasmLease} names, fetching it unless
   * the one loaded has the same digest.
   */
  private void load(Lease wasmLease) {
    boolean same =
        !wasmLease.moduleDigest().isEmpty() && wasmLease.moduleDigest().equals(extractorDigest);
    if (same && extractor != null) {
      return;
    }
    if (same) {
      extractor = Extractor.load(moduleBytes); // it loaded before: after a failure
      log.accept("WASM module instantiated again after a failed extraction");
      return;
    }
    try {
      WasmModule wasm = session.fetchModule(wasmLease);
      extractor = Extractor.load(wasm.bytes());
      extractorDigest = wasm.digest();
      moduleBytes = wasm.bytes();
      log.accept("WASM module " + wasm + " instantiated under lease " + wasmLease.leaseId());
    } catch (BrokerException | IllegalArgumentException e) {
      extractor = null;
      extractorDigest = null;
      moduleBytes = null;
      wasmLease.recordOutcome(Outcome.failed("module unusable: " + e.getMessage()));
      throw new Extractor.ExtractionException(
          "WASM module '" + wasmLease.module() + "' unusable: " + e.getMessage(), e);
    }
  }

  /** Gives the session's WASM lease back. */
  @Override
  public void close() {
    Lease held;
    synchronized (leaseLock) {
      held = lease;
      lease = null;
    }
    if (held != null) {
      held.recordOutcome(Outcome.succeeded());
      held.close();
    }
  }
}
