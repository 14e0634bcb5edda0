package dev.berth.server.config;

import dev.berth.server.settings.ConfigException;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * One configuration key: its dotted name (the same in the file, the environment and flags), its
 * type, whether it changes live on reload, and how it is set on and read back from the built
 * configuration. Immutable.
 */
public final class ConfigKey {

  /** Which part of the configuration a key belongs to; a reload rebuilds only the parts changed. */
  public enum Part {
    DAEMON,
    BROKER,
    RATE_LIMIT,
    MEMORY,
    PERFORMANCE,
    CAPS
  }

  private final String name;
  private final ValueType type;
  private final Part part;
  private final boolean live;
  private final String description;
  private final BiConsumer<Builders, Object> setter;
  private final BiFunction<Policy, DaemonSettings, Object> getter;

  ConfigKey(
      String name,
      ValueType type,
      Part part,
      boolean live,
      String description,
      BiConsumer<Builders, Object> setter,
      BiFunction<Policy, DaemonSettings, Object> getter) {
    this.name = name;
    this.type = type;
    this.part = part;
    this.live = live;
    this.description = description;
    this.setter = setter;
    this.getter = getter;
  }

  /** The dotted name, e.g. {@code pools.render.limit}. */
  public String name() {
    return name;
  }

  /** The environment variable that sets it, e.g. {@code BERTH_POOLS_RENDER_LIMIT}. */
  public String envName() {
    return envName(name);
  }

  static String envName(String key) {
    return "BERTH_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /** The long flag that sets it, e.g. {@code --pools.render.limit}. */
  public String flagName() {
    return "--" + name;
  }

  public Part part() {
    return part;
  }

  /** Whether a reload applies a change of this key; otherwise it needs a restart. */
  public boolean live() {
    return live;
  }

  /** One sentence for people. */
  public String description() {
    return description;
  }

  /** What a value looks like, e.g. "a duration like 500ms, 10s, 1m30s or 1h". */
  public String expected() {
    return type.expected();
  }

  /**
   * Converts a raw value from {@code origin} to this key's type.
   *
   * @throws ConfigException naming this key, the expected type and where the value came from
   */
  Object parse(Object raw, Origin origin) {
    try {
      return type.parse(name, raw);
    } catch (ConfigException e) {
      throw origin.attachTo(e);
    }
  }

  void apply(Builders builders, Object value) {
    setter.accept(builders, value);
  }

  /** This key's value in a built configuration; null for an optional value left unset. */
  public Object read(Policy policy, DaemonSettings daemon) {
    return getter.apply(policy, daemon);
  }

  /** A value of this key as an operator would write it; {@code ~} for an unset optional value. */
  public String format(Object value) {
    return value == null ? "~" : type.format(value);
  }

  /** A value of this key for a log line: as {@link #format}, but never a secret (token hashes). */
  public String forLog(Object value) {
    return value == null ? "~" : type.forLog(value);
  }

  /**
   * A change of this key's value for a log line and reload results, {@code old -> new}, never
   * revealing a secret.
   */
  public String change(Object before, Object after) {
    return before == null || after == null
        ? forLog(before) + " -> " + forLog(after)
        : type.change(before, after);
  }

  @Override
  public String toString() {
    return name;
  }
}
