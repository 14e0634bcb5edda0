package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.settings.ConfigException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A policy survives its trip through the cluster's policy record, maps and jobs included. */
class PolicyTextTest {

  private static Policy load(Map<String, String> env) {
    return new ConfigSources(null, () -> env, List.of()).load().policy();
  }

  /** Every key of the policy as text (the parts of a policy compare by identity). */
  private static Map<String, String> keys(Policy policy) {
    Map<String, String> keys = new java.util.TreeMap<>();
    DaemonSettings daemon = BerthConfig.defaults().daemon();
    for (ConfigKey<?> key : ConfigKeys.all()) {
      if (key.part() != ConfigKey.Part.DAEMON) {
        keys.put(key.name(), text(key, policy, daemon));
      }
    }
    assertThat(keys).isNotEmpty();
    return keys;
  }

  private static <T> String text(ConfigKey<T> key, Policy policy, DaemonSettings daemon) {
    return key.format(key.read(policy, daemon));
  }

  @Test
  void decode_ofEncode_isTheSamePolicy_forTheDefaults() {
    Policy defaults = BerthConfig.defaults().policy();

    assertThat(keys(PolicyText.decode(PolicyText.encode(defaults)))).isEqualTo(keys(defaults));
  }

  @Test
  void decode_ofEncode_isTheSamePolicy_withLimitsHostsAndJobs() {
    Policy policy =
        load(
            Map.of(
                "BERTH_POOLS_RENDER_LIMIT", "17",
                "BERTH_RATE_LIMIT_HOSTS",
                    "{api.example.net: {rate: 50, burst: 7}, '*.slow.org': 0.5}",
                "BERTH_SESSION_TTL", "45s"));

    Policy back = PolicyText.decode(PolicyText.encode(policy));

    assertThat(keys(back)).isEqualTo(keys(policy));
    assertThat(back.rateLimit().hosts()).isEqualTo(policy.rateLimit().hosts());
    assertThat(back.broker().limit(dev.berth.server.lease.ResourceKind.RENDER)).isEqualTo(17);
  }

  @Test
  void decode_anUnknownKey_isRefusedNamingIt() {
    byte[] text = "pools.render.limitt=3\n".getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> PolicyText.decode(text))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("LIMITT");
  }
}
