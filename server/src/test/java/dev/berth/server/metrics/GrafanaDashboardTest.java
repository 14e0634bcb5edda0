package dev.berth.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.berth.server.config.DistFilesTest;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard shipped in {@code src/dist/grafana/berth.json} reads only metrics the
 * daemon exports (as a scrape of the daemon's listener shows them), and shows every family, a
 * cluster member's included.
 */
class GrafanaDashboardTest {
  /** Prometheus' own series the dashboard may read. */
  private static final Set<String> PROMETHEUS_METRICS = Set.of("up");

  @Test
  void everyExpression_namesOnlyExportedMetrics_andEveryFamilyIsShown() throws Exception {
    JsonObject dashboard = dashboard();
    List<String> expressions = new ArrayList<>();
    collect(dashboard, expressions);
    PrometheusText scrape = ExportedMetrics.scrape(true); // a cluster member's families too
    Set<String> exported = ExportedMetrics.sampleNames(scrape);

    Set<String> read = new TreeSet<>();
    Map<String, Set<String>> unknownByExpression = new java.util.TreeMap<>();
    for (String expr : expressions) {
      Set<String> names = PromQlNames.of(expr);
      assertThat(names).as("metrics read by %s", expr).isNotEmpty();
      read.addAll(names);
      Set<String> unknown = new TreeSet<>(names);
      unknown.removeAll(exported);
      unknown.removeAll(PROMETHEUS_METRICS);
      if (!unknown.isEmpty()) {
        unknownByExpression.put(expr, unknown);
      }
    }

    assertThat(expressions).hasSizeGreaterThanOrEqualTo(20);
    assertThat(unknownByExpression)
        .as("expressions naming metrics the daemon does not export")
        .isEmpty();
    Set<String> unshown = new TreeSet<>(scrape.types.keySet());
    unshown.removeIf(family -> read.stream().anyMatch(name -> name.startsWith(family)));
    assertThat(unshown).as("exported families no panel shows").isEmpty();
  }

  @Test
  void everyPanel_hasATitle_andEveryQueryPanelATarget() throws Exception {
    JsonObject dashboard = dashboard();

    assertThat(dashboard.get("title").getAsString()).isEqualTo("Berth");
    for (JsonElement p : dashboard.getAsJsonArray("panels")) {
      JsonObject panel = p.getAsJsonObject();
      assertThat(panel.get("title").getAsString()).isNotBlank();
      if (!panel.get("type").getAsString().equals("row")) {
        assertThat(panel.getAsJsonArray("targets"))
            .as(panel.get("title").getAsString())
            .isNotEmpty();
      }
    }
  }

  private static JsonObject dashboard() throws java.io.IOException {
    return JsonParser.parseString(
            Files.readString(DistFilesTest.repo().resolve("src/dist/grafana/berth.json")))
        .getAsJsonObject();
  }

  /**
   * Every PromQL expression in the dashboard: panel targets ({@code expr}), also inside collapsed
   * rows, and template variable queries ({@code label_values(metric, label)}).
   */
  private static void collect(JsonElement element, List<String> out) {
    if (element.isJsonArray()) {
      element.getAsJsonArray().forEach(e -> collect(e, out));
    } else if (element.isJsonObject()) {
      for (Map.Entry<String, JsonElement> field : element.getAsJsonObject().entrySet()) {
        JsonElement value = field.getValue();
        if (field.getKey().equals("expr") && value.isJsonPrimitive()) {
          out.add(value.getAsString());
        } else if (field.getKey().equals("definition") && value.isJsonPrimitive()) {
          out.add(labelValuesMetric(value.getAsString()));
        } else {
          collect(value, out);
        }
      }
    }
  }

  /**
   * {@code label_values(berth_pool_limit{job="$job"}, instance)} reads {@code berth_pool_limit}.
   */
  private static String labelValuesMetric(String definition) {
    String inner = definition.substring(definition.indexOf('(') + 1, definition.lastIndexOf(','));
    return inner.trim();
  }
}
