package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.ConfigException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BrokerConfigTest {

  private static void assertRejects(BrokerConfig.Builder builder, String key) {
    assertThatThrownBy(builder::build)
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo(key))
        .hasMessageStartingWith(key + ": ");
  }

  @Test
  void build_defaults_matchTheEmbeddedBroker() {
    BrokerConfig config = BrokerConfig.newBuilder().build();

    assertThat(config.limit(ResourceKind.RENDER)).isEqualTo(8);
    assertThat(config.limit(ResourceKind.PDF)).isEqualTo(2);
    assertThat(config.heartbeatInterval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.sessionTtl()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.perSessionLimit(ResourceKind.RENDER)).isZero();
  }

  @Test
  void build_ttlBelowTwiceHeartbeat_namesSessionTtl() {
    assertRejects(
        BrokerConfig.newBuilder()
            .heartbeatInterval(Duration.ofSeconds(2))
            .sessionTtl(Duration.ofMillis(3_999)),
        "session.ttl");
  }

  @Test
  void build_ttlExactlyTwiceHeartbeat_isAccepted() {
    BrokerConfig config =
        BrokerConfig.newBuilder()
            .heartbeatInterval(Duration.ofSeconds(2))
            .sessionTtl(Duration.ofSeconds(4))
            .build();

    assertThat(config.sessionTtl()).isEqualTo(Duration.ofSeconds(4));
  }

  @Test
  void build_negativeRenderLimit_namesPoolsRenderLimit() {
    assertRejects(BrokerConfig.newBuilder().limit(ResourceKind.RENDER, -1), "pools.render.limit");
  }

  @Test
  void build_negativePerSessionLimit_namesIt() {
    assertRejects(
        BrokerConfig.newBuilder().perSessionLimit(ResourceKind.PDF, -1),
        "pools.pdf.per_session_limit");
  }

  @Test
  void build_zeroMaxHold_namesIt() {
    assertRejects(
        BrokerConfig.newBuilder().maxHold(ResourceKind.WASM, Duration.ZERO), "pools.wasm.max_hold");
  }

  @Test
  void build_nonPositiveHeartbeat_namesIt() {
    assertRejects(
        BrokerConfig.newBuilder().heartbeatInterval(Duration.ofSeconds(-1)),
        "session.heartbeat_interval");
  }

  @Test
  void build_sweepLongerThanTtl_namesSweepInterval() {
    assertRejects(
        BrokerConfig.newBuilder().sweepInterval(Duration.ofSeconds(11)), "session.sweep_interval");
  }

  @Test
  void build_blankDefaultModule_namesIt() {
    assertRejects(BrokerConfig.newBuilder().defaultWasmModule(" "), "wasm.default_module");
  }

  @Test
  void toBuilder_changedCopy_leavesOriginalAlone() {
    BrokerConfig original = BrokerConfig.newBuilder().limit(ResourceKind.RENDER, 3).build();

    BrokerConfig changed = original.toBuilder().limit(ResourceKind.RENDER, 5).build();

    assertThat(original.limit(ResourceKind.RENDER)).isEqualTo(3);
    assertThat(changed.limit(ResourceKind.RENDER)).isEqualTo(5);
    assertThat(changed.sessionTtl()).isEqualTo(original.sessionTtl());
  }

  @Test
  void build_builderChangedAfterBuild_configUnchanged() {
    BrokerConfig.Builder builder = BrokerConfig.newBuilder().limit(ResourceKind.PDF, 4);
    BrokerConfig config = builder.build();

    builder.limit(ResourceKind.PDF, 9);

    assertThat(config.limit(ResourceKind.PDF)).isEqualTo(4);
  }
}
