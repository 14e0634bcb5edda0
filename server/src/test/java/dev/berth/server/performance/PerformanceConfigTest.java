package dev.berth.server.performance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.ConfigException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PerformanceConfigTest {

  @Test
  void build_defaults_matchDocumentedValues() {
    PerformanceConfig c = PerformanceConfig.defaults();

    assertThat(c.window()).isEqualTo(Duration.ofSeconds(60));
    for (ResourceKind kind : ResourceKind.values()) {
      assertThat(c.targetP95(kind)).isEqualTo(Duration.ofSeconds(10));
    }
    assertThat(c.threshold()).isEqualTo(0.5);
    assertThat(c.decreaseFactor()).isEqualTo(0.75);
    assertThat(c.increaseStep()).isEqualTo(1);
    assertThat(c.floor()).isEqualTo(1);
    assertThat(c.minSamples()).isEqualTo(20);
    assertThat(c.adjustInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.maxHostsTracked()).isEqualTo(1000);
  }

  @Test
  void targetP95_perKind_overridesTheCommonTarget() {
    PerformanceConfig c =
        PerformanceConfig.newBuilder()
            .targetP95(Duration.ofSeconds(8))
            .targetP95(ResourceKind.PDF, Duration.ofSeconds(20))
            .build();

    assertThat(c.targetP95(ResourceKind.RENDER)).isEqualTo(Duration.ofSeconds(8));
    assertThat(c.targetP95(ResourceKind.PDF)).isEqualTo(Duration.ofSeconds(20));
  }

  @Test
  void build_negativeOrZeroDurations_nameTheirKeys() {
    assertKey(PerformanceConfig.newBuilder().window(Duration.ofSeconds(-1)), "performance.window");
    assertKey(PerformanceConfig.newBuilder().window(Duration.ZERO), "performance.window");
    assertKey(
        PerformanceConfig.newBuilder().targetP95(Duration.ofSeconds(-10)),
        "performance.target_p95");
    assertKey(
        PerformanceConfig.newBuilder().targetP95(ResourceKind.RENDER, Duration.ZERO),
        "performance.target_p95.render");
    assertKey(
        PerformanceConfig.newBuilder().adjustInterval(Duration.ofMillis(-5)),
        "performance.adjust_interval");
  }

  @Test
  void build_windowLongerThanADay_isRefused() {
    assertKey(PerformanceConfig.newBuilder().window(Duration.ofDays(2)), "performance.window");
  }

  @Test
  void build_outOfRangeNumbers_nameTheirKeys() {
    assertKey(PerformanceConfig.newBuilder().threshold(-0.1), "performance.threshold");
    assertKey(PerformanceConfig.newBuilder().threshold(1.5), "performance.threshold");
    assertKey(PerformanceConfig.newBuilder().decreaseFactor(1.0), "performance.decrease_factor");
    assertKey(PerformanceConfig.newBuilder().decreaseFactor(0), "performance.decrease_factor");
    assertKey(PerformanceConfig.newBuilder().increaseStep(0), "performance.increase_step");
    assertKey(PerformanceConfig.newBuilder().floor(0), "performance.floor");
    assertKey(PerformanceConfig.newBuilder().minSamples(-1), "performance.min_samples");
    assertKey(PerformanceConfig.newBuilder().maxHostsTracked(-1), "performance.max_hosts_tracked");
  }

  private static void assertKey(PerformanceConfig.Builder b, String key) {
    assertThatThrownBy(b::build)
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo(key));
  }
}
