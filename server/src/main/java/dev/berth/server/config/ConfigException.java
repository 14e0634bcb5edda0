package dev.berth.server.config;

/** A configuration value breaks its rule; the message names the key and the rule. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public ConfigException(String key, String rule) {
    super(key + ": " + rule);
    this.key = key;
  }

  /**
   * The same error with where the value came from appended, e.g. {@code session.ttl: must be ...
   * (from env BERTH_SESSION_TTL)}. Defaults are not named.
   */
  public static ConfigException from(ConfigException e, Origin origin) {
    if (origin.kind() == Origin.Kind.DEFAULT) {
      return e;
    }
    ConfigException withOrigin =
        new ConfigException(e.key, e.rule() + " (from " + origin.describe() + ")");
    withOrigin.setStackTrace(e.getStackTrace());
    return withOrigin;
  }

  /** The configuration key at fault, e.g. {@code session.ttl}. */
  public String key() {
    return key;
  }

  /** The rule broken, without the key, e.g. {@code must be a positive duration, got PT0S}. */
  public String rule() {
    return getMessage().substring(key.length() + 2);
  }
}
