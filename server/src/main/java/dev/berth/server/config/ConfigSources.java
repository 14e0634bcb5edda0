package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

import dev.berth.server.settings.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Where configuration is read from, lowest precedence first: the YAML file, the environment, and
 * the command line. Kept by the daemon so a reload reads the same sources again, and the flags it
 * was started with still win.
 *
 * @param file the YAML file, or null for none
 * @param env reads the environment (a fixed map in tests)
 * @param flags the command-line options in the order given
 */
public record ConfigSources(Path file, Supplier<Map<String, String>> env, List<Flag> flags) {

  public ConfigSources {
    requireNonNull(env, "env");
    flags = List.copyOf(flags);
  }

  /**
   * The sources of a daemon started with {@code --config configFlag} (null when not given): the
   * flag names the file, else {@code BERTH_CONFIG} does, else there is none.
   */
  public static ConfigSources of(
      Path configFlag, Supplier<Map<String, String>> env, List<Flag> flags) {
    Path file = configFlag;
    if (file == null) {
      String fromEnv = env.get().get("BERTH_CONFIG");
      if (fromEnv != null && !fromEnv.isBlank()) {
        file = Path.of(fromEnv.trim());
      }
    }
    return new ConfigSources(file, env, flags);
  }

  /** Defaults only: no file, an empty environment, no flags. */
  public static ConfigSources none() {
    return new ConfigSources(null, Map::of, List.of());
  }

  /**
   * Reads and validates every source.
   *
   * @throws ConfigException naming the key, the rule and where the value came from
   */
  public BerthConfig load() {
    return ConfigLoader.load(this);
  }
}
