package dev.berth.server.wasm;

import java.nio.file.Path;

/**
 * A configured WASM module cannot be served. The message names the module, its file and the
 * problem, e.g. {@code wasm.modules['extractor']: /srv/x.wasm: does not export 'extract'}.
 */
public final class ModuleLoadException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String module;
  private final transient Path file;

  ModuleLoadException(String module, Path file, String problem, Throwable cause) {
    super(WasmConfig.Keys.module(module) + ": " + file + ": " + problem, cause);
    this.module = module;
    this.file = file;
  }

  /** The configured name of the module at fault. */
  public String module() {
    return module;
  }

  /** The file at fault. */
  public Path file() {
    return file;
  }
}
