package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.common.base.Splitter;
import dev.berth.server.settings.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  void configurationDoc_namesNoKeyTheDaemonDoesNotKnow() throws IOException {
    List<String> documented =
        keyRows().stream().map(row -> row.substring(3, row.indexOf('`', 3))).toList();

    assertThat(documented).isNotEmpty();
    for (String name : documented) {
      assertThat(ConfigKeys.find(name)).as("documented key %s", name).isNotNull();
    }
  }

  /**
   * Every integer key whose documented rule starts with a range {@code A..B} accepts A and B and
   * refuses A-1 and B+1, so the reference cannot drift from the validators.
   */
  @Test
  void configurationDoc_integerRanges_areTheOnesTheDaemonEnforces() throws IOException {
    Pattern range = Pattern.compile("^(\\d+)\\.\\.(\\d+)");
    int checked = 0;
    for (String row : keyRows()) {
      List<String> cells = Splitter.on('|').trimResults().splitToList(row);
      String name = cells.get(1).replace("`", "");
      Matcher m = range.matcher(cells.get(4));
      if (!cells.get(2).equals("integer") || !m.find()) {
        continue;
      }
      long lo = Long.parseLong(m.group(1));
      long hi = Long.parseLong(m.group(2));
      assertThat(loads(name, lo)).as("%s = %d (documented %d..%d)", name, lo, lo, hi).isNull();
      assertThat(loads(name, hi)).as("%s = %d (documented %d..%d)", name, hi, lo, hi).isNull();
      assertThat(loads(name, lo - 1))
          .as("%s = %d (documented %d..%d)", name, lo - 1, lo, hi)
          .startsWith(name + ":");
      assertThat(loads(name, hi + 1))
          .as("%s = %d (documented %d..%d)", name, hi + 1, lo, hi)
          .startsWith(name + ":");
      checked++;
    }
    assertThat(checked).as("integer keys with a documented range").isGreaterThan(20);
  }

  /** The rows of configuration.md's key tables: each starts with a key in backquotes. */
  private static List<String> keyRows() throws IOException {
    return Files.readAllLines(repo().resolve("docs/configuration.md"), StandardCharsets.UTF_8)
        .stream()
        .filter(l -> l.matches("^\\| `[a-z_][a-z0-9_.]*` \\|.*"))
        .filter(l -> !l.startsWith("| `berth_"))
        .toList();
  }

  /** Null when the key at this value (with a cluster's members for cluster keys) loads. */
  private static String loads(String name, long value) {
    Map<String, String> env = new HashMap<>();
    env.put(ConfigKeys.get(name).envName(), Long.toString(value));
    if (name.startsWith("cluster.")) {
      env.put("BERTH_CLUSTER_ID", "c");
      env.put("BERTH_CLUSTER_SELF", "n1");
      env.put(
          "BERTH_CLUSTER_PEERS",
          "{n1: {raft: '127.0.0.1:7501', api: '127.0.0.1:7433'},"
              + " n2: {raft: '127.0.0.1:7502', api: '127.0.0.1:7434'},"
              + " n3: {raft: '127.0.0.1:7503', api: '127.0.0.1:7435'}}");
    }
    try {
      ConfigSources.of(null, () -> env, List.of()).load();
      return null;
    } catch (ConfigException e) {
      return e.getMessage();
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
