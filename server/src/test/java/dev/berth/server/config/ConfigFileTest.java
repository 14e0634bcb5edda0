package dev.berth.server.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the tests that load configuration from every source: a config file in a temporary
 * directory, an environment the test fills, and flags.
 */
abstract class ConfigFileTest {
  @TempDir Path dir;

  /** The environment {@link #load} reads; empty unless the test puts variables in. */
  final Map<String, String> env = new HashMap<>();

  /** Writes {@code yaml} as the config file. */
  Path file(String yaml) throws IOException {
    Path f = dir.resolve("berth.yaml");
    Files.writeString(f, yaml);
    return f;
  }

  /** Loads {@code file}, {@link #env} and {@code flags} as the daemon would. */
  BerthConfig load(Path file, Flag... flags) {
    return ConfigSources.of(file, () -> env, List.of(flags)).load();
  }
}
