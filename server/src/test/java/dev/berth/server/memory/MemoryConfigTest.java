package dev.berth.server.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.settings.ConfigException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MemoryConfigTest {

  @Test
  void build_defaults_matchDocumentedValues() {
    MemoryConfig c = MemoryConfig.defaults();

    assertThat(c.fleetLimitMb()).isZero();
    assertThat(c.pressureOn()).isEqualTo(0.85);
    assertThat(c.pressureOff()).isEqualTo(0.75);
    assertThat(c.critical()).isEqualTo(0.95);
    assertThat(c.cleanupSessions()).isEqualTo(3);
    assertThat(c.cleanupInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.brokerHeapOn()).isEqualTo(0.90);
    assertThat(c.brokerHeapOff()).isEqualTo(0.80);
  }

  @Test
  void build_pressureOffAbovePressureOn_namesPressureOff() {
    MemoryConfig.Builder b = MemoryConfig.newBuilder().pressureOn(0.8).pressureOff(0.9);

    assertThatThrownBy(b::build)
        .isInstanceOfSatisfying(
            ConfigException.class, e -> assertThat(e.key()).isEqualTo("memory.pressure_off"))
        .hasMessage("memory.pressure_off: must be below memory.pressure_on (0.8), got 0.9");
  }

  @Test
  void build_pressureOffEqualToPressureOn_isRefused() {
    assertKey(MemoryConfig.newBuilder().pressureOn(0.8).pressureOff(0.8), "memory.pressure_off");
  }

  @Test
  void build_negativeValues_nameTheirKeys() {
    assertKey(MemoryConfig.newBuilder().fleetLimitMb(-1), "memory.fleet_limit_mb");
    assertKey(MemoryConfig.newBuilder().pressureOn(-0.85), "memory.pressure_on");
    assertKey(MemoryConfig.newBuilder().pressureOff(-0.1), "memory.pressure_off");
    assertKey(MemoryConfig.newBuilder().cleanupSessions(-1), "memory.cleanup_sessions");
    assertKey(
        MemoryConfig.newBuilder().cleanupInterval(Duration.ofSeconds(-1)),
        "memory.cleanup_interval");
    assertKey(MemoryConfig.newBuilder().brokerHeapOn(-0.9), "memory.broker_heap_on");
  }

  @Test
  void build_ratioAboveOneOrNaN_isRefused() {
    assertKey(MemoryConfig.newBuilder().pressureOn(1.2), "memory.pressure_on");
    assertKey(MemoryConfig.newBuilder().pressureOn(Double.NaN), "memory.pressure_on");
    assertKey(MemoryConfig.newBuilder().critical(1.01), "memory.critical");
  }

  @Test
  void build_criticalBelowPressureOn_namesCritical() {
    assertKey(MemoryConfig.newBuilder().critical(0.80), "memory.critical");
  }

  @Test
  void build_criticalEqualToPressureOnOrOne_isAccepted() {
    assertThat(MemoryConfig.newBuilder().critical(0.85).build().critical()).isEqualTo(0.85);
    assertThat(MemoryConfig.newBuilder().critical(1.0).build().critical()).isEqualTo(1.0);
  }

  @Test
  void build_brokerHeapOffNotBelowOn_namesBrokerHeapOff() {
    assertKey(
        MemoryConfig.newBuilder().brokerHeapOn(0.8).brokerHeapOff(0.85), "memory.broker_heap_off");
  }

  @Test
  void toBuilder_unchanged_buildsEqualValues() {
    MemoryConfig c =
        MemoryConfig.newBuilder().fleetLimitMb(4000).pressureOn(0.9).cleanupSessions(5).build();

    MemoryConfig copy = c.toBuilder().build();

    assertThat(copy.fleetLimitMb()).isEqualTo(4000);
    assertThat(copy.pressureOn()).isEqualTo(0.9);
    assertThat(copy.cleanupSessions()).isEqualTo(5);
  }

  private static void assertKey(MemoryConfig.Builder b, String key) {
    assertThatThrownBy(b::build)
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo(key));
  }
}
