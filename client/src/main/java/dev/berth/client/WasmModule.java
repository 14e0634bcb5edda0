package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A WASM module as the broker serves it, fetched with {@link WorkerSession#fetchModule}: its bytes,
 * checked against its SHA-256 digest, and the names it exports. Immutable.
 */
public final class WasmModule {
  private final String name;
  private final String digest;
  private final byte[] bytes;
  private final List<String> exports;

  /**
   * @param name the module's name at the broker
   * @param digest SHA-256 of {@code bytes}, lower-case hex
   * @param bytes the module (copied)
   * @param exports the names it exports
   */
  public WasmModule(String name, String digest, byte[] bytes, List<String> exports) {
    this.name = requireNonNull(name, "name");
    this.digest = requireNonNull(digest, "digest");
    this.bytes = requireNonNull(bytes, "bytes").clone();
    this.exports = List.copyOf(exports);
  }

  public String name() {
    return name;
  }

  /** SHA-256 of the bytes, lower-case hex. */
  public String digest() {
    return digest;
  }

  /** A copy of the module's bytes, ready for a WebAssembly runtime such as Chicory. */
  public byte[] bytes() {
    return bytes.clone();
  }

  public int size() {
    return bytes.length;
  }

  /** Every name the module exports. */
  public List<String> exports() {
    return exports;
  }

  @Override
  public String toString() {
    return name
        + "@"
        + digest.substring(0, Math.min(12, digest.length()))
        + " ("
        + bytes.length
        + " bytes)";
  }
}
