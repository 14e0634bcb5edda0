package dev.berth.server.wasm;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * One loaded, validated WASM module: its bytes, their SHA-256 digest and its export names.
 * Immutable.
 */
public final class WasmModule {
  private final String name;
  private final Path path;
  private final byte[] bytes;
  private final String digest;
  private final List<String> exports;

  WasmModule(String name, Path path, byte[] bytes, String digest, List<String> exports) {
    this.name = requireNonNull(name, "name");
    this.path = requireNonNull(path, "path");
    this.bytes = bytes.clone();
    this.digest = requireNonNull(digest, "digest");
    this.exports = List.copyOf(exports);
  }

  public String name() {
    return name;
  }

  /** The file it was loaded from. */
  public Path path() {
    return path;
  }

  /** The module's bytes, read-only. */
  public ByteBuffer bytes() {
    return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
  }

  public int size() {
    return bytes.length;
  }

  /** SHA-256 of the bytes, lower-case hex. */
  public String digest() {
    return digest;
  }

  /** Every export's name, in the module's order. */
  public List<String> exports() {
    return exports;
  }

  @Override
  public String toString() {
    return name + "@" + digest.substring(0, 12) + " (" + path + ", " + bytes.length + " bytes)";
  }
}
