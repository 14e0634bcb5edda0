package dev.berth.server.config;

import dev.berth.server.settings.ConfigException;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * One configuration key: its dotted name (the same in the file, the environment and flags), the
 * {@link Codec} of its values, whether it changes live on reload, and how its value is set on and
 * read back from the built configuration. Immutable and thread-safe; {@link ConfigKeys} defines
 * every key.
 *
 * @param <T> the Java type of its values
 */
public final class ConfigKey<T> {

  /** Which part of the configuration a key belongs to; a reload rebuilds only the parts changed. */
  public enum Part {
    DAEMON,
    BROKER,
    RATE_LIMIT,
    MEMORY,
    PERFORMANCE,
    CAPS,
    JOBS
  }

  private final String name;
  private final Codec<T> codec;
  private final Part part;
  private final String section;
  private final boolean live;
  private final String description;
  private final BiConsumer<Builders, T> setter;
  private final BiFunction<Policy, DaemonSettings, T> getter;

  ConfigKey(
      String name,
      Codec<T> codec,
      Part part,
      String section,
      boolean live,
      String description,
      BiConsumer<Builders, T> setter,
      BiFunction<Policy, DaemonSettings, T> getter) {
    this.name = name;
    this.codec = codec;
    this.part = part;
    this.section = section;
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

  /** The heading it is listed under in help and the configuration reference, e.g. "Daemon". */
  public String section() {
    return section;
  }

  /** Whether a reload applies a change of this key; otherwise it needs a restart. */
  public boolean live() {
    return live;
  }

  /** One sentence for people. */
  public String description() {
    return description;
  }

  /** How its values are read and written. */
  public Codec<T> codec() {
    return codec;
  }

  /** What a value looks like, e.g. "a duration like 500ms, 10s, 1m30s or 1h". */
  public String expected() {
    return codec.expected();
  }

  /**
   * Converts a raw value from {@code origin} to this key's type.
   *
   * @throws ConfigException naming this key, the expected type and where the value came from
   */
  T parse(Object raw, Origin origin) {
    try {
      return codec.parse(name, raw);
    } catch (ConfigException e) {
      throw origin.attachTo(e);
    }
  }

  void apply(Builders builders, T value) {
    setter.accept(builders, value);
  }

  /** This key's value in a built configuration; null for an optional value left unset. */
  public T read(Policy policy, DaemonSettings daemon) {
    return getter.apply(policy, daemon);
  }

  /** A value of this key as an operator would write it; {@code ~} for an unset optional value. */
  public String format(T value) {
    return value == null ? "~" : codec.format(value);
  }

  /** A value of this key in a YAML document. */
  String yaml(T value) {
    return value == null ? "~" : codec.yaml(value);
  }

  /** A value of this key for a log line: as {@link #format}, but never a secret (token hashes). */
  public String forLog(T value) {
    return value == null ? "~" : codec.forLog(value);
  }

  /**
   * A change of this key's value for a log line and reload results, {@code old -> new}, never
   * revealing a secret.
   */
  public String change(T before, T after) {
    return before == null || after == null
        ? forLog(before) + " -> " + forLog(after)
        : codec.change(before, after);
  }

  @Override
  public String toString() {
    return name;
  }
}
