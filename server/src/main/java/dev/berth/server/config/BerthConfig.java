package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Map;

/**
 * A loaded, validated configuration: the broker's {@link Policy}, the {@link DaemonSettings}, and
 * where each value that is not a default came from. Immutable.
 *
 * @param file the YAML file it was read from, or null
 */
public record BerthConfig(
    Policy policy, DaemonSettings daemon, Map<ConfigKey<?>, Origin> origins, Path file) {

  public BerthConfig {
    requireNonNull(policy, "policy");
    requireNonNull(daemon, "daemon");
    origins = Map.copyOf(origins);
  }

  /** Every key at its default. */
  public static BerthConfig defaults() {
    return ConfigSources.none().load();
  }

  /** The value of {@code key} in force; null for an optional value left unset. */
  public <T> T value(ConfigKey<T> key) {
    return key.read(policy, daemon);
  }

  /** {@code key}'s value as an operator would write it. */
  public <T> String text(ConfigKey<T> key) {
    return key.format(value(key));
  }

  /** Where {@code key}'s value came from. */
  public Origin origin(ConfigKey<?> key) {
    return origins.getOrDefault(key, Origin.DEFAULT);
  }

  /**
   * The effective configuration as YAML, one flat dotted key per line with its source as a comment;
   * the loader reads it back as it is.
   */
  public String toYaml() {
    StringBuilder b = new StringBuilder();
    b.append("# Effective Berth configuration; each line says where its value came from.\n");
    b.append("# config file: ").append(file == null ? "none" : file.toString()).append('\n');
    for (ConfigKey<?> key : ConfigKeys.all()) {
      String line = key.name() + ": " + yamlValue(key);
      b.append(line);
      b.append(" ".repeat(Math.max(1, 48 - line.length())));
      b.append("# ").append(origin(key).describe());
      if (!key.live()) {
        b.append(" (restart to change)");
      }
      b.append('\n');
    }
    return b.toString();
  }

  private <T> String yamlValue(ConfigKey<T> key) {
    return key.yaml(value(key));
  }
}
