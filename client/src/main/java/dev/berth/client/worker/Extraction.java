package dev.berth.client.worker;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerException;
import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.ResourceKind;
import dev.berth.client.WasmModule;
import dev.berth.client.WorkerSession;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The session's WASM extractor: one WASM lease, the module it names (fetched from the broker) and
 * one Chicory instance of it, shared by the render threads. Every call is counted on the lease, so
 * the broker sees the instance in use; when the broker takes the lease back (e.g. IDLE after a long
 * wait) the instance is dropped, and the next extraction acquires a new lease.
 *
 * <p>A page that holds a WASM lease of its own (from its bundle) extracts under that lease instead;
 * the instance is kept while the module's digest stays the same, so a page's lease costs no fetch.
 *
 * <p>Thread-safe: extractions run one at a time.
 */
final class Extraction implements AutoCloseable {
  private static final Duration ACQUIRE_DEADLINE = Duration.ofMinutes(1);

  private final WorkerSession session;
  private final String module;
  private final Consumer<String> log;

  private Lease lease;
  private Extractor extractor;

  /** The module digest {@link #extractor} was loaded from; null when none is loaded. */
  private String extractorDigest;

  /**
   * @param module the module to ask for; empty for the broker's default
   * @param log where to say what happens to the lease
   */
  Extraction(WorkerSession session, String module, Consumer<String> log) {
    this.session = session;
    this.module = module;
    this.log = log;
  }

  /** The outcome of one extraction: the facts and the WASM lease they were made under. */
  record Extracted(PageFacts facts, Lease lease) {}

  /**
   * Extracts facts from {@code html} under this session's WASM lease, acquiring one first when
   * needed.
   *
   * @throws Extractor.ExtractionException when the module fails on the document, or no WASM lease
   *     or module can be had
   */
  synchronized Extracted extract(byte[] html) {
    return extract(html, null);
  }

  /**
   * Extracts facts from {@code html} under {@code pageLease}, a WASM lease the page holds (which
   * the caller releases); under the session's own lease when it is null.
   *
   * @throws Extractor.ExtractionException as {@link #extract(byte[])} does
   */
  synchronized Extracted extract(byte[] html, Lease pageLease) {
    Lease current = pageLease != null ? load(pageLease) : ensureLease();
    try {
      PageFacts facts = extractor.extract(html);
      current.recordWasmCall(true);
      return new Extracted(facts, current);
    } catch (Extractor.ExtractionException e) {
      current.recordWasmCall(false);
      throw e;
    }
  }

  private Lease ensureLease() {
    if (lease != null && lease.isValid()) {
      return lease;
    }
    if (lease != null) {
      log.accept("WASM lease " + lease.leaseId() + " is no longer valid; acquiring another");
      lease.close();
      lease = null;
      extractor = null;
      extractorDigest = null;
    }
    AcquireOptions.Builder options = AcquireOptions.newBuilder(ResourceKind.WASM);
    if (!module.isEmpty()) {
      options.module(module);
    }
    AcquireResult result;
    try {
      result = session.acquireWithRetry(options.build(), ACQUIRE_DEADLINE);
    } catch (BrokerException e) {
      throw new Extractor.ExtractionException("no WASM lease: " + e.getMessage(), e);
    }
    if (!(result instanceof AcquireResult.Granted granted)) {
      AcquireResult.Refused refused = (AcquireResult.Refused) result;
      throw new Extractor.ExtractionException(
          "no WASM lease: " + refused.reason() + ", " + refused.detail());
    }
    Lease fresh = granted.lease();
    try {
      load(fresh);
    } catch (Extractor.ExtractionException e) {
      fresh.close();
      throw e;
    }
    lease = fresh;
    return fresh;
  }

  /**
   * Makes {@link #extractor} an instance of the module {@code wasmLease} names, fetching it unless
   * the one loaded has the same digest; returns the lease.
   */
  private Lease load(Lease wasmLease) {
    if (extractor != null
        && !wasmLease.moduleDigest().isEmpty()
        && wasmLease.moduleDigest().equals(extractorDigest)) {
      return wasmLease;
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
    return wasmLease;
  }

  /** Gives the WASM lease back. */
  @Override
  public synchronized void close() {
    if (lease != null) {
      lease.recordOutcome(Outcome.succeeded());
      lease.close();
      lease = null;
      extractor = null;
    }
  }
}
