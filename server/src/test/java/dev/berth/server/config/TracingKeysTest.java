package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.settings.ConfigException;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.server.tracing.Tracing;
import dev.berth.server.tracing.TracingConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code tracing.*} keys: off by default, read from every source, refused naming the key. */
class TracingKeysTest {
  @TempDir Path dir;

  private final Map<String, String> env = new HashMap<>();

  private BerthConfig load(Path file, Flag... flags) {
    return ConfigSources.of(file, () -> env, List.of(flags)).load();
  }

  @Test
  void load_nothingGiven_tracingIsOff() {
    TracingConfig tracing = load(null).daemon().tracing();

    assertThat(tracing).isEqualTo(TracingConfig.OFF);
    assertThat(tracing.enabled()).isFalse();
    assertThat(Tracing.start(tracing, new FakeTimeSource(), "test")).isSameAs(Tracing.OFF);
  }

  @Test
  void load_everyKeyFromFileEnvAndFlags() throws IOException {
    Path f = dir.resolve("berth.yaml");
    Files.writeString(
        f,
        """
        tracing:
          otlp:
            endpoint: http://collector.internal:4318
          sample_ratio: 0.25
        """);
    env.put("BERTH_TRACING_SERVICE_NAME", "berth-eu-1");

    BerthConfig config = load(f);

    TracingConfig tracing = config.daemon().tracing();
    assertThat(tracing.otlpEndpoint()).contains(URI.create("http://collector.internal:4318"));
    assertThat(tracing.sampleRatio()).isEqualTo(0.25);
    assertThat(tracing.serviceName()).isEqualTo("berth-eu-1");
    assertThat(config.text(ConfigKeys.get(TracingConfig.Keys.OTLP_ENDPOINT)))
        .isEqualTo("http://collector.internal:4318");
    assertThat(
            load(f, new Flag("--tracing.otlp.endpoint", "off")).daemon().tracing().otlpEndpoint())
        .isEmpty();
  }

  @Test
  void tracesUrl_bareEndpointGetsTheTracesPath_aPathIsKept() {
    assertThat(config("http://127.0.0.1:4318").tracesUrl())
        .isEqualTo("http://127.0.0.1:4318/v1/traces");
    assertThat(config("https://otel.example.com/").tracesUrl())
        .isEqualTo("https://otel.example.com/v1/traces");
    assertThat(config("http://gateway:8080/otlp/v1/traces").tracesUrl())
        .isEqualTo("http://gateway:8080/otlp/v1/traces");
  }

  private static TracingConfig config(String endpoint) {
    return new TracingConfig(Optional.of(URI.create(endpoint)), 1.0, "berth");
  }

  @Test
  void load_badValues_nameTheKeyTheRuleAndTheSource() {
    assertThatThrownBy(() -> load(null, new Flag("--tracing.otlp.endpoint", "127.0.0.1:4318")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "tracing.otlp.endpoint: must be an http:// or https:// URL such as"
                + " http://127.0.0.1:4318, got '127.0.0.1:4318'")
        .hasMessageEndingWith("(from flag --tracing.otlp.endpoint)");
    assertThatThrownBy(
            () -> load(null, new Flag("--tracing.otlp.endpoint", "http://u:secret@host:4318")))
        .hasMessageContaining("without credentials, query or fragment");
    assertThatThrownBy(() -> load(null, new Flag("--tracing.otlp.endpoint", "http:///v1/traces")))
        .hasMessageContaining("names no host");

    env.put("BERTH_TRACING_SAMPLE_RATIO", "1.5");
    assertThatThrownBy(() -> load(null))
        .hasMessage(
            "tracing.sample_ratio: must be 0..1, got 1.5 (from env BERTH_TRACING_SAMPLE_RATIO)");
    env.clear();

    assertThatThrownBy(() -> load(null, new Flag("--tracing.service_name", "my berth")))
        .hasMessageStartingWith("tracing.service_name: must be 1..128 printable ASCII");
  }
}
