package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

import dev.berth.server.settings.ConfigException;

/**
 * Where a configuration value came from, so errors and {@code --print-config} can point at it.
 *
 * @param kind the layer: default, file, environment or command line
 * @param where the file path, environment variable or flag as written; empty for defaults
 */
public record Origin(Kind kind, String where) {

  /** The layers, lowest precedence first. */
  public enum Kind {
    DEFAULT,
    FILE,
    ENV,
    FLAG,
    /** Kept from the running broker by a reload (a key that cannot change live). */
    RUNNING
  }

  public static final Origin DEFAULT = new Origin(Kind.DEFAULT, "");

  public Origin {
    requireNonNull(kind, "kind");
    requireNonNull(where, "where");
  }

  public static Origin file(String path) {
    return new Origin(Kind.FILE, path);
  }

  public static Origin env(String name) {
    return new Origin(Kind.ENV, name);
  }

  public static Origin flag(String flag) {
    return new Origin(Kind.FLAG, flag);
  }

  /** E.g. {@code file /etc/berth/berth.yaml}, {@code env BERTH_SESSION_TTL}, {@code default}. */
  public String describe() {
    return switch (kind) {
      case DEFAULT -> "default";
      case FILE -> "file " + where;
      case ENV -> "env " + where;
      case FLAG -> "flag " + where;
      case RUNNING -> "running value";
    };
  }

  /**
   * {@code e} with this origin appended ({@code ... (from env BERTH_SESSION_TTL)}); defaults are
   * not named.
   */
  public ConfigException attachTo(ConfigException e) {
    return kind == Kind.DEFAULT ? e : e.from(describe());
  }
}
