package dev.berth.server.wasm;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.types.ExportSection;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import com.dylibso.chicory.wasm.types.MemorySection;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * Reads a configured module and proves it usable the way a worker will use it: Chicory parses it,
 * it has the exports the config names, it imports nothing (workers provide no host functions), and
 * it instantiates — start function included — within a time bound and a memory bound.
 */
final class ModuleLoader {
  /** The largest module served; GetModule answers carry the whole module. */
  static final long MAX_MODULE_BYTES = 32L << 20;

  /**
   * The most memory a module may ask for, initially or by growing it while it is instantiated: 4096
   * pages of 64 KiB, 256 MiB.
   */
  static final int MAX_INITIAL_PAGES = 4096;

  private final Duration instantiateTimeout;
  private final int maxPages;

  ModuleLoader(Duration instantiateTimeout) {
    this(instantiateTimeout, MAX_INITIAL_PAGES);
  }

  /** With another memory bound, in pages: tests show it without allocating 256 MiB. */
  ModuleLoader(Duration instantiateTimeout, int maxPages) {
    this.instantiateTimeout = instantiateTimeout;
    this.maxPages = maxPages;
  }

  /**
   * Loads and validates one module.
   *
   * @throws ModuleLoadException naming the module, its file and the problem
   */
  WasmModule load(WasmConfig.ModuleEntry entry) {
    Path path = entry.path();
    byte[] bytes = read(entry);
    com.dylibso.chicory.wasm.WasmModule parsed;
    try {
      parsed = Parser.parse(bytes);
    } catch (ChicoryException | IllegalArgumentException | IndexOutOfBoundsException e) {
      throw fail(entry, "not a valid WebAssembly module: " + e.getMessage(), e);
    }
    List<String> exports = exports(parsed);
    List<String> missing = new ArrayList<>();
    for (String required : entry.exports()) {
      if (!exports.contains(required)) {
        missing.add("'" + required + "'");
      }
    }
    if (!missing.isEmpty()) {
      throw fail(
          entry,
          "does not export "
              + String.join(", ", missing)
              + " (it exports: "
              + (exports.isEmpty() ? "nothing" : String.join(", ", exports))
              + ")",
          null);
    }
    if (parsed.importSection().importCount() > 0) {
      String imports =
          parsed.importSection().stream()
              .map(i -> i.module() + "." + i.name())
              .collect(Collectors.joining(", "));
      throw fail(entry, "imports " + imports + "; workers provide no host functions", null);
    }
    MemorySection memories = parsed.memorySection().orElse(null);
    if (memories != null) {
      for (int i = 0; i < memories.memoryCount(); i++) {
        int pages = memories.getMemory(i).limits().initialPages();
        if (pages > maxPages) {
          throw fail(
              entry,
              "asks for "
                  + pages
                  + " initial memory pages; at most "
                  + maxPages
                  + " ("
                  + (maxPages / 16)
                  + " MiB) are allowed",
              null);
        }
      }
    }
    instantiate(entry, parsed);
    return new WasmModule(entry.name(), path, bytes, sha256(bytes), exports);
  }

  /**
   * The module's bytes: a regular file of at most {@link #MAX_MODULE_BYTES}. Anything else is
   * refused before it is opened: a device such as {@code /dev/zero} would be read until the heap
   * ran out, and a FIFO would block the reload's thread until someone wrote to it. Read with a
   * bound too, in case the file grows after its size was checked.
   */
  private static byte[] read(WasmConfig.ModuleEntry entry) {
    Path path = entry.path();
    try {
      if (!Files.isRegularFile(path)) {
        if (!Files.exists(path)) {
          throw new NoSuchFileException(path.toString());
        }
        throw fail(
            entry, "not a regular file (a directory, device or pipe); name a .wasm file", null);
      }
      long size = Files.size(path);
      if (size > MAX_MODULE_BYTES) {
        throw fail(entry, size + " bytes; at most " + MAX_MODULE_BYTES + " are served", null);
      }
      byte[] bytes;
      try (InputStream in = Files.newInputStream(path)) {
        bytes = in.readNBytes((int) MAX_MODULE_BYTES + 1);
      }
      if (bytes.length > MAX_MODULE_BYTES) {
        throw fail(
            entry, "more than " + MAX_MODULE_BYTES + " bytes; at most that many are served", null);
      }
      return bytes;
    } catch (NoSuchFileException e) {
      throw fail(entry, "no such file", e);
    } catch (IOException e) {
      throw fail(entry, "cannot read it: " + e, e);
    }
  }

  private static List<String> exports(com.dylibso.chicory.wasm.WasmModule parsed) {
    ExportSection section = parsed.exportSection();
    Set<String> names = new LinkedHashSet<>();
    for (int i = 0; i < section.exportCount(); i++) {
      names.add(section.getExport(i).name());
    }
    return List.copyOf(names);
  }

  /**
   * Instantiates on a thread of its own, so a start function that never returns is interrupted
   * (Chicory's interpreter checks for interruption) instead of hanging the broker's start.
   */
  private void instantiate(WasmConfig.ModuleEntry entry, com.dylibso.chicory.wasm.WasmModule m) {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread thread =
        new Thread(
            () -> {
              try {
                Instance.Builder instance = Instance.builder(m);
                MemorySection memories = m.memorySection().orElse(null);
                if (memories != null && memories.memoryCount() > 0) {
                  // The bound holds while its start function runs too: memory.grow past it
                  // fails (answers -1) instead of filling the broker's heap.
                  MemoryLimits declared = memories.getMemory(0).limits();
                  instance.withMemoryLimits(
                      new MemoryLimits(
                          declared.initialPages(), Math.min(declared.maximumPages(), maxPages)));
                }
                instance.build();
              } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                failure.set(e);
              }
            },
            "berth-wasm-validate-" + entry.name());
    thread.setDaemon(true);
    thread.start();
    try {
      thread.join(instantiateTimeout.toMillis());
    } catch (InterruptedException e) {
      thread.interrupt();
      Thread.currentThread().interrupt();
      throw fail(entry, "interrupted while instantiating it", e);
    }
    if (thread.isAlive()) {
      thread.interrupt();
      throw fail(
          entry,
          "instantiating it took longer than "
              + instantiateTimeout.toMillis()
              + " ms (does its start function loop?)",
          null);
    }
    Throwable e = failure.get();
    if (e != null) {
      throw fail(entry, "Chicory cannot instantiate it: " + e, e);
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static ModuleLoadException fail(
      WasmConfig.ModuleEntry entry, String problem, Throwable cause) {
    return new ModuleLoadException(entry.name(), entry.path(), problem, cause);
  }
}
