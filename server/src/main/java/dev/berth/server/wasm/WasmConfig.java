package dev.berth.server.wasm;

import static java.util.Objects.requireNonNull;

import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The broker's WASM settings ({@code wasm.*}): the modules it serves and how long a WASM lease may
 * go unused before it is revoked. Immutable; the constructors fail fast with a {@link
 * ConfigException} naming the key.
 *
 * @param modules the modules to load, by unique name
 * @param idleTimeout a WASM lease whose worker reports no call for this long is revoked (reason
 *     IDLE); zero never revokes for idleness
 */
public record WasmConfig(List<ModuleEntry> modules, Duration idleTimeout) {
  /**
   * The names of the WASM configuration keys, written once: the configuration loader defines the
   * keys with them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String MODULES = "wasm.modules";
    public static final String IDLE_TIMEOUT = "wasm.idle_timeout";

    private Keys() {}

    /** How one module is named in errors: {@code wasm.modules['NAME']}. */
    public static String module(String name) {
      return MODULES + "['" + name + "']";
    }
  }

  /** The default {@code wasm.idle_timeout}. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

  /**
   * One configured module ({@code wasm.modules['NAME']}).
   *
   * @param name what acquires and GetModule call it: letters, digits, '.', '_' and '-'
   * @param path the {@code .wasm} file
   * @param exports the exports it must have, e.g. {@code alloc} and {@code extract}
   */
  public record ModuleEntry(String name, Path path, List<String> exports) {
    public ModuleEntry {
      requireNonNull(name, "name");
      requireNonNull(path, "path");
      exports = List.copyOf(exports);
      if (!isName(name)) {
        throw new ConfigException(
            Keys.module(name), "a module name is 1..128 letters, digits, '.', '_' and '-'");
      }
      for (String export : exports) {
        if (export.isBlank()) {
          throw new ConfigException(Keys.module(name) + ".exports", "empty export name");
        }
      }
    }

    /**
     * Parses {@code NAME=PATH[:EXPORT,EXPORT...]}, the form of {@code --wasm-module}. The export
     * list follows the last ':' after the path's last '/'.
     *
     * @throws ConfigException naming {@code key}
     */
    public static ModuleEntry parse(String key, String text) {
      int eq = text.indexOf('=');
      if (eq <= 0 || eq == text.length() - 1) {
        throw new ConfigException(key, "must be NAME=PATH[:EXPORT,...], got '" + text + "'");
      }
      String name = text.substring(0, eq);
      String rest = text.substring(eq + 1);
      int colon = rest.lastIndexOf(':');
      List<String> exports = List.of();
      if (colon > rest.lastIndexOf('/') && colon >= 0) {
        String list = rest.substring(colon + 1);
        rest = rest.substring(0, colon);
        exports = new ArrayList<>();
        for (String export : list.split(",", -1)) {
          if (export.isBlank()) {
            throw new ConfigException(key, "empty export name in '" + list + "'");
          }
          exports.add(export.trim());
        }
      }
      if (rest.isEmpty()) {
        throw new ConfigException(key, "no path in '" + text + "'");
      }
      return new ModuleEntry(name, Path.of(rest), exports);
    }
  }

  public WasmConfig {
    modules = List.copyOf(modules);
    requireNonNull(idleTimeout, "idleTimeout");
    if (idleTimeout.isNegative()) {
      throw new ConfigException(
          Keys.IDLE_TIMEOUT, "must not be negative, got " + Durations.format(idleTimeout));
    }
    Set<String> names = new HashSet<>();
    for (ModuleEntry module : modules) {
      if (!names.add(module.name())) {
        throw new ConfigException(Keys.module(module.name()), "configured twice");
      }
    }
  }

  /** The rule of AcquireRequest.module, so that every configured module can be asked for. */
  static boolean isName(String value) {
    if (value.isEmpty() || value.length() > 128) {
      return false;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean ok = (Character.isLetterOrDigit(c) && c < 0x80) || c == '.' || c == '_' || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** No modules, the default idle timeout: WASM leases are plain capacity. */
  public static WasmConfig none() {
    return new WasmConfig(List.of(), DEFAULT_IDLE_TIMEOUT);
  }

  public WasmConfig withModules(List<ModuleEntry> value) {
    return new WasmConfig(value, idleTimeout);
  }

  public WasmConfig withIdleTimeout(Duration value) {
    return new WasmConfig(modules, value);
  }
}
