package dev.berth.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PromQlNamesTest {
  @Test
  void of_aggregationOverARate_namesTheCounterOnly() {
    assertThat(
            PromQlNames.of(
                "sum by (kind, reason) (rate(berth_refusals_total{job=\"$job\",instance=~\"$instance\"}"
                    + "[$__rate_interval]))"))
        .containsExactly("berth_refusals_total");
  }

  @Test
  void of_binaryOperations_nameBothSides_notKeywordsOrDurations() {
    assertThat(
            PromQlNames.of(
                "increase(a_total[1h]) > 3 and on (instance) group_left (kind) b_gauge offset 5m"
                    + " unless ignoring(x) c:recorded:ratio / bool 2"))
        .containsExactlyInAnyOrder("a_total", "b_gauge", "c:recorded:ratio");
  }

  @Test
  void of_labelValuesAndStrings_areNotMetrics() {
    assertThat(PromQlNames.of("topk(10, rate(h_total{host!=\"other\"}[5m]) > 0)"))
        .containsExactly("h_total");
    assertThat(PromQlNames.of("label_replace(up, \"x\", \"$1\", \"instance\", \"(.*)\")"))
        .containsExactly("up");
    assertThat(PromQlNames.of("absent(up{job='berth'})")).containsExactly("up");
  }
}
