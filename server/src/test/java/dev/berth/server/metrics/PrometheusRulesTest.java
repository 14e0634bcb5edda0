package dev.berth.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.config.DistFilesTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The Prometheus rules shipped in {@code src/dist/prometheus/}: promtool accepts them, their unit
 * tests pass, every alert has a test in which it fires, and every metric they read is one the
 * daemon exports, a cluster member included (or a recording rule of the file); the cluster metrics
 * are named in the file's header.
 */
class PrometheusRulesTest {
  private static final Path DIR = DistFilesTest.repo().resolve("src/dist/prometheus");
  private static final Path RULES = DIR.resolve("berth.rules.yml");

  /** Read by the cluster alerts; exported only by cluster members, as the rules' header says. */
  private static final Set<String> CLUSTER_METRICS =
      Set.of("berth_raft_leader", "berth_raft_leader_changes_total", "berth_raft_term");

  /** Prometheus' own series. */
  private static final Set<String> PROMETHEUS_METRICS = Set.of("up");

  private static String promtool(String... args) throws Exception {
    Path promtool = ExternalTools.require("promtool", "prometheus");
    List<String> command = new ArrayList<>(List.of(promtool.toString()));
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command).directory(DIR.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("promtool finished").isTrue();
    assertThat(p.exitValue()).as("promtool %s:\n%s", String.join(" ", args), out).isZero();
    return out;
  }

  @Test
  void rules_passPromtoolCheck() throws Exception {
    assertThat(promtool("check", "rules", RULES.toString())).contains("SUCCESS");
  }

  @Test
  void unitTests_passPromtoolTest() throws Exception {
    List<Path> tests = testFiles();
    assertThat(tests).isNotEmpty();
    for (Path test : tests) {
      assertThat(promtool("test", "rules", test.getFileName().toString())).contains("SUCCESS");
    }
  }

  @Test
  void everyAlert_hasATestInWhichItFires() throws IOException {
    Set<String> alerts = new TreeSet<>();
    for (Map<String, Object> rule : rules()) {
      if (rule.containsKey("alert")) {
        alerts.add((String) rule.get("alert"));
      }
    }
    Set<String> fired = new TreeSet<>();
    for (Path file : testFiles()) {
      for (Map<String, Object> test : list(yaml(file).get("tests"))) {
        for (Map<String, Object> check : list(test.get("alert_rule_test"))) {
          if (!list(check.get("exp_alerts")).isEmpty()) {
            fired.add((String) check.get("alertname"));
          }
        }
      }
    }

    assertThat(alerts).hasSizeGreaterThanOrEqualTo(8);
    assertThat(fired).containsAll(alerts);
  }

  @Test
  void everyMetricRead_isExported_orRecordedHere() throws Exception {
    Set<String> exported = ExportedMetrics.sampleNames(ExportedMetrics.scrape(true));
    Set<String> recorded = new TreeSet<>();
    List<String> expressions = new ArrayList<>();
    for (Map<String, Object> rule : rules()) {
      if (rule.containsKey("record")) {
        recorded.add((String) rule.get("record"));
      }
      expressions.add((String) rule.get("expr"));
    }

    Set<String> read = new TreeSet<>();
    for (String expr : expressions) {
      read.addAll(PromQlNames.of(expr));
    }
    Set<String> unknown = new TreeSet<>(read);
    unknown.removeAll(exported);
    unknown.removeAll(recorded);
    unknown.removeAll(PROMETHEUS_METRICS);

    assertThat(read).contains("berth_leases_in_use", "berth_watchers_dropped_total", "up");
    assertThat(unknown).as("metrics the rules read that nothing exports").isEmpty();
    assertThat(Files.readString(RULES)).contains(CLUSTER_METRICS);
  }

  private static List<Path> testFiles() throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(DIR, "*_test.yml")) {
      files.forEach(out::add);
    }
    return out;
  }

  private static List<Map<String, Object>> rules() throws IOException {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> group : list(yaml(RULES).get("groups"))) {
      out.addAll(list(group.get("rules")));
    }
    return out;
  }

  private static Map<String, Object> yaml(Path file) throws IOException {
    return new Yaml().load(Files.readString(file));
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> list(Object value) {
    return value == null ? List.of() : (List<Map<String, Object>>) value;
  }
}
