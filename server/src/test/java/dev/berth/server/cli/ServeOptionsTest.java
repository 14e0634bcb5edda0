package dev.berth.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigKey;
import dev.berth.server.config.ConfigKeys;
import dev.berth.server.config.ConfigSources;
import dev.berth.server.config.Flag;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.wasm.WasmConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServeOptionsTest {
  @TempDir Path dir;

  private static BerthConfig load(String... args) {
    ServeOptions o = ServeOptions.parse(List.of(args));
    return ConfigSources.of(o.configFile, Map::of, o.flags).load();
  }

  @Test
  void parse_configWithEquals_namesTheFileAsWithASpace() {
    assertThat(ServeOptions.parse(List.of("--config=/etc/berth/berth.yaml")).configFile)
        .isEqualTo(Path.of("/etc/berth/berth.yaml"));
    assertThat(ServeOptions.parse(List.of("--config", "/etc/berth/berth.yaml")).configFile)
        .isEqualTo(Path.of("/etc/berth/berth.yaml"));
  }

  @Test
  void parse_wasmAndRateFlags_allGoToTheConfigLoader() {
    BerthConfig config =
        load(
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
            "1");

    WasmConfig wasm = config.daemon().wasm();
    assertThat(wasm.modules()).hasSize(2);
    assertThat(wasm.modules().get(0).exports()).containsExactly("alloc", "extract");
    assertThat(wasm.modules().get(1).path()).isEqualTo(Path.of("/srv/o.wasm"));
    assertThat(wasm.idleTimeout()).isEqualTo(Duration.ofSeconds(45));
    assertThat(config.policy().broker().defaultWasmModule()).isEqualTo("other");
    assertThat(config.policy().rateLimit().defaultRule().rate()).isEqualTo(0.5);
    assertThat(config.policy().rateLimit().defaultRule().burst()).isEqualTo(1);
  }

  @Test
  void parse_keysAliasesAndUnknownFlags_keptAsTypedInOrder() {
    ServeOptions o =
        ServeOptions.parse(
            List.of(
                "--session-ttl",
                "30s",
                "--pools.render.limit=4",
                "--pools.render.per-session-limit",
                "2",
                "--wasm.modules.x.path",
                "/x.wasm",
                "--render-limt",
                "3",
                "--print-config"));

    assertThat(o.flags)
        .containsExactly(
            new Flag("--session-ttl", "30s"),
            new Flag("--pools.render.limit", "4"),
            new Flag("--pools.render.per-session-limit", "2"),
            new Flag("--wasm.modules.x.path", "/x.wasm"),
            new Flag("--render-limt", "3"));
    assertThat(o.printConfig).isTrue();
  }

  @Test
  void parse_aValueThatLooksLikeAFlag_isTheValue() {
    ServeOptions o = ServeOptions.parse(List.of("--render-limit", "-5", "--log-level", "--x"));

    assertThat(o.flags)
        .containsExactly(new Flag("--render-limit", "-5"), new Flag("--log-level", "--x"));
  }

  @Test
  void parse_flagWithoutValue_namesIt() {
    assertThatThrownBy(() -> ServeOptions.parse(List.of("--render-limit")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("--render-limit: needs a value");
    assertThatThrownBy(() -> ServeOptions.parse(List.of("--no.such.key")))
        .hasMessage("--no.such.key: needs a value");
    assertThatThrownBy(() -> ServeOptions.parse(List.of("render-limit", "3")))
        .hasMessage("render-limit: unexpected argument; options start with --");
  }

  @Test
  void sessionTtl_takesTheSharedDurationFormat() {
    assertThat(load("--session-ttl", "1m30s").policy().broker().sessionTtl())
        .isEqualTo(Duration.ofSeconds(90));
    assertThat(load("--session.ttl=1d2h").policy().broker().sessionTtl())
        .isEqualTo(Duration.ofHours(26));
    assertThat(load("--session-ttl", "PT1M").policy().broker().sessionTtl())
        .isEqualTo(Duration.ofMinutes(1));
    assertThatThrownBy(() -> load("--session-ttl", "90"))
        .hasMessage(
            "session.ttl: must be a duration like 500ms, 10s, 1m30s or 1h, got '90'"
                + " (from flag --session-ttl)");
  }

  @Test
  void parse_defaults_noModules() {
    WasmConfig wasm = load().daemon().wasm();

    assertThat(wasm.modules()).isEmpty();
    assertThat(wasm.idleTimeout()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void parse_zeroIdleTimeout_meansNever() {
    assertThat(load("--wasm-idle-timeout", "0").daemon().wasm().idleTimeout()).isZero();
  }

  @Test
  void load_badRate_namesOption() {
    assertThatThrownBy(() -> load("--rate-limit-default-rate", "fast"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limit.default_rate");
  }

  @Test
  void load_badWasmModuleFlag_namesKeyAndFlag() {
    assertThatThrownBy(() -> load("--wasm-module", "nopath"))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "wasm.modules: must be NAME=PATH[:EXPORT,...], got 'nopath' (from flag --wasm-module)");
  }

  @Test
  void usage_isGeneratedFromEveryKey_withTypeDefaultAndSection() {
    String usage = ServeOptions.usage();

    for (ConfigKey<?> key : ConfigKeys.all()) {
      assertThat(usage)
          .as(key.name())
          .containsPattern(
              Pattern.quote(key.flagName())
                  + "(, --[^ ]+)* "
                  + Pattern.quote(key.codec().label())
                  + "\\s")
          .contains(key.envName());
    }
    assertThat(usage)
        .contains(
            "Usage: berth serve [--config FILE] [--print-config] [--check-config] [--KEY VALUE"
                + " ...]")
        .contains("--config FILE")
        .contains("--print-config")
        .contains("--check-config")
        .contains("--session.ttl, --session-ttl DURATION")
        .contains("duration, default 10s; changes on reload; BERTH_SESSION_TTL")
        .contains("--sweep-interval, --session.sweep_interval DURATION")
        .contains("duration, default 250ms; restart to change;")
        .contains("--wasm-module NAME=PATH[:EXPORT,...]")
        .contains("Per-host rate limits:")
        .contains("WASM modules:")
        .contains("unset = 10% of the host's configured")
        .doesNotContain("%%");
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
        .contains("wasm.modules['extractor']")
        .contains(missing.toString())
        .contains("no such file");
  }
}
