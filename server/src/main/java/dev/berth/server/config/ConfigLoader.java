package dev.berth.server.config;

import dev.berth.server.config.ConfigKeys.EntryFlag;
import dev.berth.server.config.ConfigKeys.EntryRef;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.wasm.WasmConfig;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the config file, the environment and the flags, in that order of precedence (flags win),
 * into one validated {@link BerthConfig}. Every name is checked: an unknown key in any source is an
 * error naming it, where it came from, and the closest known key.
 *
 * <p>A key set by a source replaces the value of lower sources whole, maps included. Within one
 * source a key given twice takes its last value, and the entries of a map key set field by field
 * ({@code --wasm.modules.NAME.path}) or by an entry flag ({@code --wasm-module}) accumulate, over
 * the whole map when it came first; the whole map after entries in the same source is an error.
 */
final class ConfigLoader {
  /**
   * One value set by a source.
   *
   * @param byEntries whether a map's value was built entry by entry (field flags, entry flags,
   *     dotted file keys) rather than given whole
   */
  record Setting<T>(ConfigKey<T> key, T value, Origin origin, boolean byEntries) {
    void applyTo(Builders builders) {
      if (value != null) {
        key.apply(builders, value);
      }
    }
  }

  /**
   * The values set so far, each with its origin, keyed by key: a map whose values' types follow
   * their keys' (put and get are the only ways in and out).
   */
  static final class Values {
    private final Map<ConfigKey<?>, Setting<?>> settings = new LinkedHashMap<>();

    <T> void put(ConfigKey<T> key, T value, Origin origin) {
      settings.put(key, new Setting<>(key, value, origin, false));
    }

    <T> void putEntries(ConfigKey<T> key, T value, Origin origin) {
      settings.put(key, new Setting<>(key, value, origin, true));
    }

    /** The setting of {@code key}, or null. */
    @SuppressWarnings("unchecked") // put stores a Setting<T> under each ConfigKey<T> only
    <T> Setting<T> get(ConfigKey<T> key) {
      return (Setting<T>) settings.get(key);
    }

    Map<ConfigKey<?>, Setting<?>> all() {
      return Collections.unmodifiableMap(settings);
    }
  }

  private ConfigLoader() {}

  static BerthConfig load(ConfigSources sources) {
    Values values = new Values();
    if (sources.file() != null) {
      readFile(sources.file(), values);
    }
    readEnv(sources.env().get(), values);
    readFlags(sources, values);
    return build(values, sources.file());
  }

  private static void readFile(Path file, Values values) {
    Origin origin = Origin.file(file.toString());
    for (Map.Entry<String, Object> e : YamlConfigFile.read(file).entrySet()) {
      if (e.getValue() == null) {
        if (ConfigKeys.find(e.getKey()) == null && ConfigKeys.mapEntry(e.getKey()) == null) {
          throw unknownInFile(e.getKey(), file);
        }
        continue; // a key without a value leaves the default
      }
      if (!set(values, e.getKey(), e.getValue(), origin)) {
        throw unknownInFile(e.getKey(), file);
      }
    }
  }

  private static ConfigException unknownInFile(String name, Path file) {
    return new ConfigException(
        name,
        "unknown key in "
            + file
            + Suggestions.didYouMean(
                name, ConfigKeys.all().stream().map(ConfigKey::name).toList()));
  }

  private static void readEnv(Map<String, String> env, Values values) {
    // Sorted, so the first error reported does not depend on the map's order.
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith("BERTH_") || ConfigKeys.NOT_KEYS.containsKey(name)) {
        continue;
      }
      ConfigKey<?> key = ConfigKeys.forEnv(name);
      if (key == null) {
        throw new ConfigException(
            name,
            "unknown environment variable; BERTH_* variables must name a config key"
                + Suggestions.didYouMean(name, ConfigKeys.envNames()));
      }
      setWhole(values, key, e.getValue(), Origin.env(name));
    }
  }

  private static void readFlags(ConfigSources sources, Values values) {
    for (Flag flag : sources.flags()) {
      Origin origin = Origin.flag(flag.name());
      EntryFlag<?> entryFlag = ConfigKeys.entryFlag(flag.name());
      if (entryFlag != null) {
        addEntry(values, entryFlag, flag.value(), origin);
        continue;
      }
      String name = ConfigKeys.nameOfFlag(flag.name());
      if (name == null || !set(values, name, flag.value(), origin)) {
        throw new ConfigException(
            flag.name(),
            "unknown option"
                + Suggestions.didYouMean(flag.name(), ConfigKeys.flagNames())
                + "; see berth serve --help");
      }
    }
  }

  /** Sets what {@code name} names, a key or a map key's entry field; false when it names none. */
  private static boolean set(Values values, String name, Object raw, Origin origin) {
    ConfigKey<?> key = ConfigKeys.find(name);
    if (key != null) {
      setWhole(values, key, raw, origin);
      return true;
    }
    EntryRef<?> entry = ConfigKeys.mapEntry(name);
    if (entry != null) {
      setField(values, entry, raw, origin);
      return true;
    }
    return false;
  }

  private static <T> void setWhole(Values values, ConfigKey<T> key, Object raw, Origin origin) {
    Setting<T> so = values.get(key);
    if (so != null && so.byEntries() && so.origin().kind() == origin.kind()) {
      // Replacing them would drop the entries silently; merging would make the whole map's
      // meaning depend on where it stands. Neither is what the operator can see, so refuse.
      throw new ConfigException(
          key.name(),
          "given whole ("
              + origin.describe()
              + ") after entries of it in the same source ("
              + so.origin().describe()
              + "); give the map whole or entry by entry, not both");
    }
    values.put(key, key.parse(raw, origin), origin);
  }

  private static <E> void setField(Values values, EntryRef<E> ref, Object raw, Origin origin) {
    ConfigKey<Map<String, E>> key = ref.mapKey().key();
    try {
      Map<String, E> next =
          ref.mapKey()
              .codec()
              .withField(
                  key.name(), sameSource(values, key, origin), ref.entry(), ref.field(), raw);
      values.putEntries(key, next, origin);
    } catch (ConfigException e) {
      throw origin.attachTo(e);
    }
  }

  private static <E> void addEntry(Values values, EntryFlag<E> flag, String text, Origin origin) {
    ConfigKey<Map<String, E>> key = flag.mapKey().key();
    try {
      Map.Entry<String, E> entry = flag.parse().apply(key.name(), text);
      Map<String, E> next =
          flag.mapKey()
              .codec()
              .withEntry(sameSource(values, key, origin), entry.getKey(), entry.getValue());
      values.putEntries(key, next, origin);
    } catch (ConfigException e) {
      throw origin.attachTo(e);
    }
  }

  /** The map {@code key} has so far from the source of {@code origin}: entries accumulate there. */
  private static <E> Map<String, E> sameSource(
      Values values, ConfigKey<Map<String, E>> key, Origin origin) {
    Setting<Map<String, E>> so = values.get(key);
    return so != null && so.origin().kind() == origin.kind() ? so.value() : Map.of();
  }

  /**
   * Applies {@code values} over the defaults and validates each part.
   *
   * @throws ConfigException naming the key, the rule, and where the value came from
   */
  static BerthConfig build(Values values, Path file) {
    Builders b = new Builders();
    Map<ConfigKey<?>, Origin> origins = new LinkedHashMap<>();
    values.all().forEach((key, setting) -> origins.put(key, setting.origin()));
    try {
      values.all().values().forEach(setting -> setting.applyTo(b));
      BrokerConfig broker = b.broker.build();
      RateLimitConfig rateLimit = b.rateLimit.build();
      MemoryConfig memory = b.memory.build();
      PerformanceConfig performance = b.performance.build();
      PrincipalCaps caps = b.caps();
      JobsConfig jobs = b.jobs.defaultBurst(rateLimit.defaultRule().burst()).build();
      // A cluster's failover timing must fit into the session TTL.
      DaemonSettings daemon = b.daemon.sessionTtl(broker.sessionTtl()).build();
      requireDefaultModuleServed(broker, daemon);
      return new BerthConfig(
          new Policy(broker, rateLimit, memory, performance, caps, jobs), daemon, origins, file);
    } catch (ConfigException e) {
      throw originOf(e.key(), origins).attachTo(e);
    }
  }

  /**
   * Refuses a {@code wasm.default_module} that names none of the modules configured: every WASM
   * acquire naming no module would then fail. Without modules, any name goes (leases are plain
   * capacity).
   */
  private static void requireDefaultModuleServed(BrokerConfig broker, DaemonSettings daemon) {
    Map<String, ModuleSetting> modules = daemon.wasmModules();
    String name = broker.defaultWasmModule();
    if (!modules.isEmpty() && !modules.containsKey(name)) {
      throw new ConfigException(
          BrokerConfig.Keys.DEFAULT_WASM_MODULE,
          "names no module of "
              + WasmConfig.Keys.MODULES
              + " "
              + modules.keySet()
              + ", got '"
              + name
              + "'");
    }
  }

  /** Where the key named in a validation error was set: the longest key its name starts with. */
  private static Origin originOf(String errorKey, Map<ConfigKey<?>, Origin> origins) {
    ConfigKey<?> best = null;
    for (ConfigKey<?> key : origins.keySet()) {
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
