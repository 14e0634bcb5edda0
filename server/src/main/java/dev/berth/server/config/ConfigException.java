package dev.berth.server.config;

/** A configuration value breaks its rule; the message names the key and the rule. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public ConfigException(String key, String rule) {
    super(key + ": " + rule);
    this.key = key;
  }

  /** The configuration key at fault, e.g. {@code session.ttl}. */
  public String key() {
    return key;
  }
}
