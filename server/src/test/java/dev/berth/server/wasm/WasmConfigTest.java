package dev.berth.server.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.settings.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class WasmConfigTest {
  @Test
  void parse_nameAndPath_noExports() {
    WasmConfig.ModuleEntry entry = WasmConfig.ModuleEntry.parse("--wasm-module", "x=/srv/x.wasm");

    assertThat(entry.name()).isEqualTo("x");
    assertThat(entry.path()).isEqualTo(Path.of("/srv/x.wasm"));
    assertThat(entry.exports()).isEmpty();
  }

  @Test
  void parse_exports_afterLastColon() {
    WasmConfig.ModuleEntry entry =
        WasmConfig.ModuleEntry.parse("--wasm-module", "extractor=src/wasm/e.wasm:alloc, extract");

    assertThat(entry.path()).isEqualTo(Path.of("src/wasm/e.wasm"));
    assertThat(entry.exports()).containsExactly("alloc", "extract");
  }

  @Test
  void parse_colonInDirectory_isPartOfPath() {
    WasmConfig.ModuleEntry entry =
        WasmConfig.ModuleEntry.parse("--wasm-module", "x=/data/a:b/x.wasm");

    assertThat(entry.path()).isEqualTo(Path.of("/data/a:b/x.wasm"));
    assertThat(entry.exports()).isEmpty();
  }

  @Test
  void parse_malformed_namesOption() {
    assertThatThrownBy(() -> WasmConfig.ModuleEntry.parse("--wasm-module", "nopath"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("--wasm-module: must be NAME=PATH");
    assertThatThrownBy(() -> WasmConfig.ModuleEntry.parse("--wasm-module", "x=/a.wasm:run,"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("empty export name");
    assertThatThrownBy(() -> WasmConfig.ModuleEntry.parse("--wasm-module", "bad name=/a.wasm"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("wasm.modules['bad name']");
  }

  @Test
  void negativeIdleTimeout_namesKey() {
    assertThatThrownBy(() -> new WasmConfig(List.of(), Duration.ofSeconds(-1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("wasm.idle_timeout:");
  }
}
