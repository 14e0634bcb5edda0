package dev.berth.server.config;

import dev.berth.server.settings.ConfigException;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * A {@link Policy} as bytes another broker reads back, for the cluster's replicated policy record:
 * every key of the policy as an operator would write it (its text, {@code name=value} lines), read
 * back through the same loader and checks as the configuration itself. Keys this version does not
 * know are refused on reading, naming the key, rather than dropped. Stateless.
 */
public final class PolicyText {
  private PolicyText() {}

  /** The policy's keys and their values, as text. */
  public static byte[] encode(Policy policy) {
    DaemonSettings daemon = BerthConfig.defaults().daemon();
    Properties keys = new Properties();
    for (ConfigKey<?> key : ConfigKeys.all()) {
      if (key.part() != ConfigKey.Part.DAEMON) {
        put(keys, key, policy, daemon);
      }
    }
    StringWriter out = new StringWriter();
    try {
      keys.store(out, null);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static <T> void put(
      Properties keys, ConfigKey<T> key, Policy policy, DaemonSettings daemon) {
    T value = key.read(policy, daemon);
    if (value != null) {
      keys.setProperty(key.name(), key.format(value));
    }
  }

  /**
   * The policy {@link #encode} wrote.
   *
   * @throws ConfigException naming the key when a value does not load (e.g. written by a newer
   *     version with a key this one does not know)
   */
  public static Policy decode(byte[] text) {
    Properties keys = new Properties();
    try {
      keys.load(new StringReader(new String(text, StandardCharsets.UTF_8)));
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException("policy", "cannot read a replicated policy: " + e.getMessage());
    }
    Map<String, String> env = new HashMap<>();
    for (String name : keys.stringPropertyNames()) {
      env.put(ConfigKey.envName(name), keys.getProperty(name));
    }
    return new ConfigSources(null, () -> env, java.util.List.of()).load().policy();
  }
}
