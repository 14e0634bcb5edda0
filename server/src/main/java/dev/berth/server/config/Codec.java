package dev.berth.server.config;

/**
 * How the values of one configuration type are read and written: {@link #parse} turns what the YAML
 * file, an environment variable or a flag gives into a {@code T}, {@link #format} writes a {@code
 * T} back the way an operator types it (for {@code --print-config}, help and logs), and {@link
 * #expected} describes a valid value for errors. Values from YAML arrive as SnakeYAML's plain types
 * (String, Integer, Long, Double, Boolean, List, Map); values from the environment and flags arrive
 * as strings.
 *
 * <p>Implementations are stateless and thread-safe.
 *
 * @param <T> the Java type of the values
 */
public interface Codec<T> {
  /** The type in one word, as the configuration reference names it, e.g. {@code duration}. */
  String typeName();

  /** The placeholder of a value in help, e.g. {@code DURATION} or {@code HOST:PORT}. */
  String label();

  /** What a valid value looks like, for errors, e.g. {@code a whole number}. */
  String expected();

  /**
   * Converts a raw value.
   *
   * @throws dev.berth.server.settings.ConfigException naming {@code key} and what was expected
   */
  T parse(String key, Object raw);

  /** The value as an operator would write it; {@link #parse} reads it back. */
  default String format(T value) {
    return String.valueOf(value);
  }

  /** The value in a YAML document: {@link #format}, quoted where YAML would read it otherwise. */
  default String yaml(T value) {
    return YamlText.quoted(format(value));
  }

  /** The value for a log line: {@link #format} unless that would reveal a secret. */
  default String forLog(T value) {
    return format(value);
  }

  /** A change of value for a log line, {@code old -> new} unless that would reveal a secret. */
  default String change(T before, T after) {
    return forLog(before) + " -> " + forLog(after);
  }
}
