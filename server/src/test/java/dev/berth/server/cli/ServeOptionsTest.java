package dev.berth.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigSources;
import dev.berth.server.settings.ConfigException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServeOptionsTest {
  @TempDir Path dir;

  @Test
  void parse_wasmAndRateFlags_wasmHeldAsideRatesGoToTheConfigLoader() {
    ServeOptions o =
        ServeOptions.parse(
            List.of(
                "--wasm-module",
                "extractor=src/wasm/extractor.wasm:alloc,extract",
                "--wasm-module=other=/srv/o.wasm",
                "--wasm-idle-timeout",
                "45s",
                "--wasm-default-module",
                "other",
                "--rate-limit-default-rate",
                "0.5",
                "--rate-limit-default-burst",
                "1"));

    assertThat(o.wasm().modules()).hasSize(2);
    assertThat(o.wasm().modules().get(0).exports()).containsExactly("alloc", "extract");
    assertThat(o.wasm().modules().get(1).path()).isEqualTo(Path.of("/srv/o.wasm"));
    assertThat(o.wasm().idleTimeout()).isEqualTo(Duration.ofSeconds(45));
    BerthConfig config = ConfigSources.of(null, Map::of, o.flags).load();
    assertThat(config.policy().broker().defaultWasmModule()).isEqualTo("other");
    assertThat(config.policy().rateLimit().defaultRule().rate()).isEqualTo(0.5);
    assertThat(config.policy().rateLimit().defaultRule().burst()).isEqualTo(1);
  }

  @Test
  void parse_defaults_noModules() {
    ServeOptions o = ServeOptions.parse(List.of());

    assertThat(o.wasm().modules()).isEmpty();
    assertThat(o.wasm().idleTimeout()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void parse_zeroIdleTimeout_meansNever() {
    assertThat(ServeOptions.parse(List.of("--wasm-idle-timeout", "0")).wasm().idleTimeout())
        .isZero();
  }

  @Test
  void load_badRate_namesOption() {
    ServeOptions o = ServeOptions.parse(List.of("--rate-limit-default-rate", "fast"));

    assertThatThrownBy(() -> ConfigSources.of(null, Map::of, o.flags).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limit.default_rate");
  }

  @Test
  void run_unloadableModule_exits2NamingTheFile() {
    Path missing = dir.resolve("absent.wasm");
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int code =
        Main.run(
            List.of(
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--state-dir",
                dir.resolve("state").toString(),
                "--wasm-module",
                "extractor=" + missing),
            Map::of,
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("wasm.modules[extractor]")
        .contains(missing.toString())
        .contains("no such file");
  }
}
