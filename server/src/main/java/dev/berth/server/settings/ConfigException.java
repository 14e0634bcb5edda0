package dev.berth.server.settings;

/**
 * A configuration value breaks its rule; the message names the key and the rule, e.g. {@code
 * session.ttl: must be a positive duration, got 0s}. Immutable.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public ConfigException(String key, String rule) {
    super(key + ": " + rule);
    this.key = key;
  }

  /**
   * The same error with where the value came from appended, e.g. {@code session.ttl: must be ...
   * (from env BERTH_SESSION_TTL)}.
   *
   * @param source the source in words, e.g. {@code env BERTH_SESSION_TTL}
   */
  public ConfigException from(String source) {
    ConfigException withSource = new ConfigException(key, rule() + " (from " + source + ")");
    withSource.setStackTrace(getStackTrace());
    return withSource;
  }

  /** The configuration key at fault, e.g. {@code session.ttl}. */
  public String key() {
    return key;
  }

  /** The rule broken, without the key, e.g. {@code must be a positive duration, got 0s}. */
  public String rule() {
    return getMessage().substring(key.length() + 2);
  }
}
