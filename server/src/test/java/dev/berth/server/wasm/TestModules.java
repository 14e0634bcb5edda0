package dev.berth.server.wasm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * WASM modules for tests: the reference extractor from {@code src/wasm/}, and tiny modules
 * assembled once with {@code wat2wasm}, kept here as bytes with their source.
 */
public final class TestModules {
  private TestModules() {}

  /** The committed reference extractor, {@code src/wasm/extractor.wasm}. */
  public static Path extractor() {
    Path path = Path.of("..", "src", "wasm", "extractor.wasm").toAbsolutePath().normalize();
    if (!Files.isRegularFile(path)) {
      throw new IllegalStateException("missing " + path + "; run src/wasm/build.sh");
    }
    return path;
  }

  /** {@code (module (func (export "run")))} */
  public static final byte[] RUN =
      hex("0061736d01000000010401600000030201000707010372756e00000a040102000b");

  /** {@code (module (import "env" "log" (func $log)) (func (export "run") (call $log)))} */
  public static final byte[] IMPORTS =
      hex(
          "0061736d01000000010401600000020b0103656e76036c6f670000030201000707010372756e0001"
              + "0a0601040010000b");

  /** {@code (module (func $boom unreachable) (start $boom) (func (export "run")))} */
  public static final byte[] TRAPS_ON_START =
      hex(
          "0061736d0100000001040160000003030200000707010372756e00010801000a08020300000b0200"
              + "0b");

  /** {@code (module (func $spin (loop $l (br $l))) (start $spin) (func (export "run")))} */
  public static final byte[] LOOPS_ON_START =
      hex(
          "0061736d0100000001040160000003030200000707010372756e00010801000a0c02070003400c00"
              + "0b0b02000b");

  /** {@code (module (memory (export "memory") 5000) (func (export "run")))}: 312 MiB. */
  public static final byte[] HUGE_MEMORY =
      hex(
          "0061736d0100000001040160000003020100050401008827071002066d656d6f727902000372756e"
              + "00000a040102000b");

  /**
   * {@code (module (memory 1) (func $grow (if (i32.eq (memory.grow (i32.const 8)) (i32.const -1))
   * (then unreachable))) (start $grow) (func (export "run")))}: its start function grows its memory
   * to 9 pages and traps when it cannot.
   */
  public static final byte[] GROWS_ON_START =
      hex(
          "0061736d01000000010401600000030302000005030100010707010372756e00010801000a12020d00"
              + "41084000417f460440000b0b02000b");

  /** Writes {@code bytes} to {@code dir/name} and returns the path. */
  public static Path write(Path dir, String name, byte[] bytes) {
    try {
      return Files.write(dir.resolve(name), bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex);
  }
}
