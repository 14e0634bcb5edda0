package dev.berth.server.config;

import java.nio.file.Path;
import java.util.List;

/**
 * One {@code wasm.modules} entry as configured; its fields may arrive one at a time ({@code
 * wasm.modules.NAME.path}), so the path's presence is checked when the daemon settings are built.
 *
 * @param path the {@code .wasm} file, or null when not given (an error once built)
 * @param exports the exports the module must have; empty for no check
 */
public record ModuleSetting(Path path, List<String> exports) {
  public ModuleSetting {
    exports = List.copyOf(exports);
  }
}
