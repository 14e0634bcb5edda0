package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Keeps the operator-facing files true: the example config names every key at its default, the
 * configuration reference documents every key with its default, and systemd accepts the unit.
 */
public class DistFilesTest {
  /** Keys the example sets to something other than the default, on purpose. */
  private static final Set<String> EXAMPLE_DIFFERS = Set.of("state_dir");

  /**
   * Keys the example leaves commented out, on purpose: {@code wasm.modules}, even empty, counts as
   * configured, and {@code bin/berth serve} then adds no reference extractor.
   */
  private static final Set<String> EXAMPLE_COMMENTED = Set.of("wasm.modules");

  /** The repository's root: the directory above the working directory holding src/dist. */
  public static Path repo() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("src/dist"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("no src/dist above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }

  @Test
  void exampleConfig_namesEveryKey_atItsDefault() {
    Path example = repo().resolve("src/dist/berth.yaml");

    Map<String, Object> written = YamlConfigFile.read(example);
    BerthConfig loaded = ConfigSources.of(example, Map::of, List.of()).load();

    assertThat(written.keySet())
        .containsExactlyInAnyOrderElementsOf(
            ConfigKeys.all().stream()
                .map(ConfigKey::name)
                .filter(name -> !EXAMPLE_COMMENTED.contains(name))
                .toList());
    for (String name : EXAMPLE_COMMENTED) {
      assertThat(loaded.origin(ConfigKeys.get(name))).as(name).isEqualTo(Origin.DEFAULT);
    }
    BerthConfig defaults = BerthConfig.defaults();
    for (ConfigKey<?> key : ConfigKeys.all()) {
      if (!EXAMPLE_DIFFERS.contains(key.name())) {
        assertThat(loaded.text(key)).as(key.name()).isEqualTo(defaults.text(key));
      }
    }
    assertThat(loaded.daemon().stateDir()).isEqualTo(Path.of("/var/lib/berth"));
  }

  @Test
  void configurationDoc_hasARowPerKey_withItsDefaultAndReload() throws IOException {
    List<String> lines =
        Files.readAllLines(repo().resolve("docs/configuration.md"), StandardCharsets.UTF_8);
    BerthConfig defaults = BerthConfig.defaults();

    for (ConfigKey<?> key : ConfigKeys.all()) {
      List<String> rows =
          lines.stream().filter(l -> l.startsWith("| `" + key.name() + "` |")).toList();
      assertThat(rows).as("rows for %s", key.name()).hasSize(1);
      assertThat(rows.get(0))
          .as(key.name())
          .contains("`" + defaults.text(key) + "`")
          .contains(key.live() ? "| live |" : "| restart |");
    }
  }

  @Test
  void systemdUnit_passesSystemdAnalyzeVerify() throws Exception {
    Path analyze = Path.of("/usr/bin/systemd-analyze");
    assumeTrue(Files.isExecutable(analyze), "systemd-analyze is not installed; unit not verified");
    Path unit = repo().resolve("src/dist/berth.service");

    Process p =
        new ProcessBuilder(analyze.toString(), "verify", unit.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).as("systemd-analyze verify output").isEmpty();
    String text = Files.readString(unit);
    assertThat(text)
        .contains("ExecStart=/usr/bin/java ")
        .contains("serve --config /etc/berth/berth.yaml")
        .contains("ExecReload=/bin/kill -HUP $MAINPID")
        .contains("Restart=on-failure")
        .contains("User=berth")
        .contains("StateDirectory=berth");
  }
}
