package dev.berth.server.config;

import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.settings.ConfigException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the config file, the environment and the flags, in that order of precedence (flags win),
 * into one validated {@link BerthConfig}. Every name is checked: an unknown key in any source is an
 * error naming it, where it came from, and the closest known key.
 */
final class ConfigLoader {
  /** One value set by a source. */
  record Setting(Object value, Origin origin) {}

  private ConfigLoader() {}

  static BerthConfig load(ConfigSources sources) {
    Map<ConfigKey, Setting> values = new LinkedHashMap<>();
    if (sources.file() != null) {
      readFile(sources.file(), values);
    }
    readEnv(sources.env().get(), values);
    readFlags(sources, values);
    return build(values, sources.file());
  }

  private static void readFile(Path file, Map<ConfigKey, Setting> values) {
    Origin origin = Origin.file(file.toString());
    for (Map.Entry<String, Object> e : YamlConfigFile.read(file).entrySet()) {
      ConfigKey key = ConfigKeys.find(e.getKey());
      if (key == null) {
        throw new ConfigException(
            e.getKey(),
            "unknown key in "
                + file
                + Suggestions.didYouMean(
                    e.getKey(), ConfigKeys.all().stream().map(k -> k.name()).toList()));
      }
      if (e.getValue() != null) { // a key without a value leaves the default
        values.put(key, new Setting(key.parse(e.getValue(), origin), origin));
      }
    }
  }

  private static void readEnv(Map<String, String> env, Map<ConfigKey, Setting> values) {
    // Sorted, so the first error reported does not depend on the map's order.
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith("BERTH_") || ConfigKeys.NOT_KEYS.containsKey(name)) {
        continue;
      }
      ConfigKey key = ConfigKeys.forEnv(name);
      if (key == null) {
        throw new ConfigException(
            name,
            "unknown environment variable; BERTH_* variables must name a config key"
                + Suggestions.didYouMean(name, ConfigKeys.envNames()));
      }
      Origin origin = Origin.env(name);
      values.put(key, new Setting(key.parse(e.getValue(), origin), origin));
    }
  }

  private static void readFlags(ConfigSources sources, Map<ConfigKey, Setting> values) {
    for (Flag flag : sources.flags()) {
      ConfigKey key = ConfigKeys.forFlag(flag.name());
      if (key == null) {
        throw new ConfigException(
            flag.name(),
            "unknown option"
                + Suggestions.didYouMean(flag.name(), ConfigKeys.flagNames())
                + "; see berth serve --help");
      }
      Origin origin = Origin.flag(flag.name());
      values.put(key, new Setting(key.parse(flag.value(), origin), origin));
    }
  }

  /**
   * Applies {@code values} over the defaults and validates each part.
   *
   * @throws ConfigException naming the key, the rule, and where the value came from
   */
  static BerthConfig build(Map<ConfigKey, Setting> values, Path file) {
    Builders b = new Builders();
    Map<ConfigKey, Origin> origins = new LinkedHashMap<>();
    for (Map.Entry<ConfigKey, Setting> e : values.entrySet()) {
      if (e.getValue().value() != null) {
        e.getKey().apply(b, e.getValue().value());
      }
      origins.put(e.getKey(), e.getValue().origin());
    }
    try {
      BrokerConfig broker = b.broker.build();
      RateLimitConfig rateLimit = b.rateLimit.build();
      MemoryConfig memory = b.memory.build();
      PerformanceConfig performance = b.performance.build();
      PrincipalCaps caps = b.caps();
      DaemonSettings daemon = b.daemon.build();
      return new BerthConfig(
          new Policy(broker, rateLimit, memory, performance, caps), daemon, origins, file);
    } catch (ConfigException e) {
      throw originOf(e.key(), origins).attachTo(e);
    }
  }

  /** Where the key named in a validation error was set: the longest key its name starts with. */
  private static Origin originOf(String errorKey, Map<ConfigKey, Origin> origins) {
    ConfigKey best = null;
    for (ConfigKey key : origins.keySet()) {
      String n = key.name();
      boolean matches =
          errorKey.equals(n) || errorKey.startsWith(n + "[") || errorKey.startsWith(n + ".");
      if (matches && (best == null || n.length() > best.name().length())) {
        best = key;
      }
    }
    return best == null ? Origin.DEFAULT : origins.get(best);
  }
}
