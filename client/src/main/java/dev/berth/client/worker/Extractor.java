package dev.berth.client.worker;

import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import com.dylibso.chicory.wasm.types.MemorySection;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One Chicory instance of an extractor module that follows the protocol of {@code
 * src/wasm/extractor.wat}: {@code alloc(len) -> ptr}, write the document there, {@code extract(ptr,
 * len) -> res}, and read five i32 values at {@code res}: title pointer and length, links, words and
 * images.
 *
 * <p>Not thread-safe: a WASM instance runs one call at a time.
 */
final class Extractor {
  /** Longer documents are cut to this many bytes before extraction. */
  static final int MAX_DOCUMENT_BYTES = 8 << 20;

  /**
   * The most memory an instance may have, in 64 KiB pages: 4096, 256 MiB, the bound the broker
   * holds a module to when it loads it. Past it {@code memory.grow} answers -1, so a module that
   * allocates without end fails its document instead of filling the worker's heap.
   */
  static final int MAX_PAGES = 4096;

  private final Instance instance;
  private final ExportFunction alloc;
  private final ExportFunction extract;
  private final Memory memory;

  private Extractor(Instance instance) {
    this.instance = instance;
    this.alloc = instance.export("alloc");
    this.extract = instance.export("extract");
    this.memory = instance.memory();
  }

  /**
   * Instantiates {@code wasm}.
   *
   * @throws IllegalArgumentException when it is not a module with {@code memory}, {@code alloc} and
   *     {@code extract}
   */
  static Extractor load(byte[] wasm) {
    return load(wasm, MAX_PAGES);
  }

  /** As {@link #load(byte[])}, with at most {@code maxPages} pages of memory. */
  static Extractor load(byte[] wasm, int maxPages) {
    try {
      WasmModule module = Parser.parse(wasm);
      Instance.Builder instance = Instance.builder(module);
      MemorySection memories = module.memorySection().orElse(null);
      if (memories != null && memories.memoryCount() > 0) {
        MemoryLimits declared = memories.getMemory(0).limits();
        instance.withMemoryLimits(
            new MemoryLimits(
                Math.min(declared.initialPages(), maxPages),
                Math.min(declared.maximumPages(), maxPages)));
      }
      return new Extractor(instance.build());
    } catch (ChicoryException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "not an extractor module (needs exports memory, alloc and extract): " + e.getMessage(),
          e);
    }
  }

  /**
   * Extracts facts from a UTF-8 HTML document. An interrupt of the calling thread stops a module
   * that runs too long: Chicory's interpreter checks for it as it runs.
   *
   * @throws ExtractionException when the module traps, refuses the document or is interrupted; the
   *     instance's state is undefined then, so load another
   */
  PageFacts extract(byte[] html) {
    boolean truncated = html.length > MAX_DOCUMENT_BYTES;
    byte[] doc = truncated ? Arrays.copyOf(html, MAX_DOCUMENT_BYTES) : html;
    try {
      int ptr = (int) alloc.apply(doc.length)[0];
      if (ptr == 0) {
        throw new ExtractionException("the module could not allocate " + doc.length + " bytes");
      }
      memory.write(ptr, doc);
      int res = (int) extract.apply(ptr, doc.length)[0];
      int titlePtr = memory.readInt(res);
      int titleLen = memory.readInt(res + 4);
      String title =
          titleLen > 0
              ? new String(memory.readBytes(titlePtr, titleLen), StandardCharsets.UTF_8)
              : "";
      return new PageFacts(
          collapse(title),
          memory.readInt(res + 8),
          memory.readInt(res + 12),
          memory.readInt(res + 16),
          truncated);
    } catch (ChicoryException | IndexOutOfBoundsException e) {
      throw new ExtractionException("the extractor failed: " + e, e);
    }
  }

  /** The instance, for tests. */
  Instance instance() {
    return instance;
  }

  /** White space runs as one space, trimmed: how a browser shows a title. */
  static String collapse(String text) {
    return text.replaceAll("[\\s\\u00a0]+", " ").strip();
  }

  /** The extractor could not process a document. */
  static final class ExtractionException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ExtractionException(String message) {
      super(message);
    }

    ExtractionException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
