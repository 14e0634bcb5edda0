package dev.berth.client.worker;

import dev.berth.client.BrokerException;
import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.WasmModule;
import dev.berth.client.WorkerSession;
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
 * <p>Thread-safe: extractions run one at a time; {@link #adopt} never waits for one.
 */
final class Extraction implements AutoCloseable {
  private final WorkerSession session;
  private final Consumer<String> log;

  private final Object leaseLock = new Object();

  /** The session's WASM lease, the latest a page brought; null before the first. */
  private Lease lease; // guarded by leaseLock

  private Extractor extractor;

  /** The module digest {@link #extractor} was loaded from; null when none is loaded. */
  private String extractorDigest;

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
  synchronized Extracted extract(byte[] html, Lease wasm) {
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
      throw e;
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
    if (extractor != null
        && !wasmLease.moduleDigest().isEmpty()
        && wasmLease.moduleDigest().equals(extractorDigest)) {
      return;
    }
    try {
      WasmModule wasm = session.fetchModule(wasmLease);
      extractor = Extractor.load(wasm.bytes());
      extractorDigest = wasm.digest();
      log.accept("WASM module " + wasm + " instantiated under lease " + wasmLease.leaseId());
    } catch (BrokerException | IllegalArgumentException e) {
      extractor = null;
      extractorDigest = null;
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
