package dev.berth.server.wasm;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WASM modules the broker serves, by name, and how long a WASM lease may sit unused. Every
 * module was parsed and instantiated with Chicory before it got here (see {@link #load}).
 *
 * <p>A {@link #reload} is all or nothing: when any module of the new set cannot be loaded, the
 * registry keeps serving the last good set and reports every problem, each naming its file.
 *
 * <p>With no modules configured, WASM leases are plain capacity: they name the module asked for,
 * with no digest, and {@code GetModule} finds nothing.
 *
 * <p>This class is thread-safe; lookups read an immutable snapshot without locking.
 */
public final class ModuleRegistry {
  private static final Logger log = LoggerFactory.getLogger(ModuleRegistry.class);

  /** How long instantiating one module may take while validating it. */
  static final Duration INSTANTIATE_TIMEOUT = Duration.ofSeconds(10);

  /** What a reload did. */
  public record ReloadResult(boolean applied, List<String> errors) {
    public ReloadResult {
      errors = List.copyOf(errors);
    }
  }

  private record Snapshot(Map<String, WasmModule> modules, Duration idleTimeout) {}

  private final ModuleLoader loader;
  private volatile Snapshot current;

  private ModuleRegistry(ModuleLoader loader, Snapshot initial) {
    this.loader = loader;
    this.current = initial;
  }

  /** A registry with no modules and the default idle timeout. */
  public static ModuleRegistry empty() {
    return new ModuleRegistry(
        new ModuleLoader(INSTANTIATE_TIMEOUT),
        new Snapshot(Map.of(), WasmConfig.DEFAULT_IDLE_TIMEOUT));
  }

  /**
   * Loads every configured module, for the broker's start; warns once when none is configured.
   *
   * @throws ModuleLoadException for the first module that cannot be served, naming its file
   */
  public static ModuleRegistry load(WasmConfig config) {
    if (config.modules().isEmpty()) {
      log.warn(
          "no WASM module is configured ({}): WASM leases are plain capacity with no module to"
              + " fetch, so a worker that runs one (GetModule) fails every WASM lease until a"
              + " module is configured",
          WasmConfig.Keys.MODULES);
    }
    ModuleLoader loader = new ModuleLoader(INSTANTIATE_TIMEOUT);
    List<String> errors = new ArrayList<>();
    Snapshot snapshot = snapshot(loader, config, errors, true);
    return new ModuleRegistry(loader, snapshot);
  }

  /**
   * Replaces the module set and idle timeout with {@code config}'s, if every module in it loads;
   * otherwise keeps the current set (and idle timeout) and returns the problems.
   */
  public synchronized ReloadResult reload(WasmConfig config) {
    List<String> errors = new ArrayList<>();
    Snapshot next = snapshot(loader, config, errors, false);
    if (next == null) {
      log.error(
          "WASM modules not reloaded; still serving {}: {}",
          current.modules().keySet(),
          String.join("; ", errors));
      return new ReloadResult(false, errors);
    }
    current = next;
    log.info("WASM modules reloaded: {}", next.modules().values());
    return new ReloadResult(true, List.of());
  }

  /** Loads all of {@code config}; null (with {@code errors} filled) when any module fails. */
  private static Snapshot snapshot(
      ModuleLoader loader, WasmConfig config, List<String> errors, boolean throwFirst) {
    Map<String, WasmModule> modules = new LinkedHashMap<>();
    for (WasmConfig.ModuleEntry entry : config.modules()) {
      try {
        WasmModule module = loader.load(entry);
        modules.put(module.name(), module);
      } catch (ModuleLoadException e) {
        if (throwFirst) {
          throw e;
        }
        errors.add(e.getMessage());
      }
    }
    if (!errors.isEmpty()) {
      return null;
    }
    return new Snapshot(Collections.unmodifiableMap(modules), config.idleTimeout());
  }

  /** The module called {@code name}, if served. */
  public Optional<WasmModule> find(String name) {
    return Optional.ofNullable(current.modules().get(requireNonNull(name, "name")));
  }

  /** True when no module is configured: WASM leases are then plain capacity. */
  public boolean isEmpty() {
    return current.modules().isEmpty();
  }

  /** Every module served, in configured order. */
  public List<WasmModule> modules() {
    return List.copyOf(current.modules().values());
  }

  /** A WASM lease unused for this long is revoked; zero means never. */
  public Duration idleTimeout() {
    return current.idleTimeout();
  }
}
