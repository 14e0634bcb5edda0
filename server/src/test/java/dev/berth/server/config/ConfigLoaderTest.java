package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.HostRule;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.wasm.WasmConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest extends ConfigFileTest {
  private static Flag flag(String name, String value) {
    return new Flag(name, value);
  }

  @Test
  void load_nothingGiven_defaultsEverywhere() {
    BerthConfig config = load(null);

    assertThat(config.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(8);
    assertThat(config.daemon().listen().getPort()).isEqualTo(7433);
    assertThat(config.daemon().metricsListen()).isPresent();
    assertThat(config.daemon().metricsListen().get().getPort()).isEqualTo(9464);
    assertThat(config.daemon().metricsJmx()).isTrue();
    assertThat(config.daemon().logFormat()).isEqualTo(LogFormat.TEXT);
    assertThat(config.origin(ConfigKeys.get("session.ttl"))).isEqualTo(Origin.DEFAULT);
  }

  @Test
  void load_sameKeyInEverySource_flagBeatsEnvBeatsFile() throws IOException {
    Path f =
        file(
            """
            session:
              ttl: 20s
              heartbeat_interval: 3s
            pools:
              render:
                limit: 4
                per_session_limit: 2
            """);
    env.put("BERTH_SESSION_TTL", "30s");
    env.put("BERTH_POOLS_RENDER_LIMIT", "5");

    BerthConfig config = load(f, flag("--pools.render.limit", "6"));

    assertThat(config.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(6);
    assertThat(config.origin(ConfigKeys.get("pools.render.limit")))
        .isEqualTo(Origin.flag("--pools.render.limit"));
    assertThat(config.policy().broker().sessionTtl()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.origin(ConfigKeys.get("session.ttl")))
        .isEqualTo(Origin.env("BERTH_SESSION_TTL"));
    assertThat(config.policy().broker().heartbeatInterval()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.origin(ConfigKeys.get("session.heartbeat_interval")))
        .isEqualTo(Origin.file(f.toString()));
    assertThat(config.policy().broker().perSessionLimit(ResourceKind.RENDER)).isEqualTo(2);
  }

  @Test
  void load_shortAliasesAndDashedKeys_setTheSameKeys() {
    BerthConfig config =
        load(
            null,
            flag("--session-ttl", "2s"),
            flag("--heartbeat-interval", "500ms"),
            flag("--sweep-interval", "100ms"),
            flag("--render-limit", "3"),
            flag("--pdf-max-hold", "1m"),
            flag("--listen", "127.0.0.1:0"),
            flag("--state-dir", "/tmp/x"),
            flag("--pools.wasm.per-session-limit", "1"));

    assertThat(config.policy().broker().sessionTtl()).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.policy().broker().heartbeatInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(config.policy().broker().sweepInterval()).isEqualTo(Duration.ofMillis(100));
    assertThat(config.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(3);
    assertThat(config.policy().broker().maxHold(ResourceKind.PDF)).isEqualTo(Duration.ofMinutes(1));
    assertThat(config.policy().broker().perSessionLimit(ResourceKind.WASM)).isEqualTo(1);
    assertThat(config.daemon().listen().getPort()).isZero();
    assertThat(config.daemon().stateDir()).isEqualTo(Path.of("/tmp/x"));
  }

  @Test
  void load_flatAndNestedYaml_meanTheSame() throws IOException {
    Path f =
        file(
            """
            pools.pdf.limit: 7
            rate_limit:
              default_rate: 0.5
            performance:
              target_p95.render: 3s
            """);

    BerthConfig config = load(f);

    assertThat(config.policy().broker().limit(ResourceKind.PDF)).isEqualTo(7);
    assertThat(config.policy().rateLimit().defaultRule().rate()).isEqualTo(0.5);
    assertThat(config.policy().performance().targetP95(ResourceKind.RENDER))
        .isEqualTo(Duration.ofSeconds(3));
    assertThat(config.policy().performance().targetP95(ResourceKind.PDF))
        .isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void load_hostOverridesInYaml_becomeRules() throws IOException {
    Path f =
        file(
            """
            rate_limit:
              default_burst: 6
              hosts:
                "*.example.com": {rate: 5, burst: 10}
                slow.example.org:
                  rate: 0.2
                fast.example.net: 50
            """);

    BerthConfig config = load(f);

    assertThat(config.policy().rateLimit().ruleFor("a.example.com"))
        .isEqualTo(new HostRule("*.example.com", 5, 10));
    assertThat(config.policy().rateLimit().ruleFor("slow.example.org"))
        .isEqualTo(new HostRule("slow.example.org", 0.2, 6));
    assertThat(config.policy().rateLimit().ruleFor("fast.example.net").rate()).isEqualTo(50);
  }

  @Test
  void load_hostOverridesFromEnv_areYamlFlowMaps() {
    env.put("BERTH_RATE_LIMIT_HOSTS", "{\"*.example.com\": {rate: 5, burst: 10}}");

    BerthConfig config = load(null);

    assertThat(config.policy().rateLimit().ruleFor("www.example.com"))
        .isEqualTo(new HostRule("*.example.com", 5, 10));
  }

  @Test
  void load_badHostPattern_namesTheEntryAndTheFile() throws IOException {
    Path f = file("rate_limit:\n  hosts:\n    \"exa mple.com\": {rate: 5}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("rate_limit.hosts['exa mple.com']")
        .hasMessageContaining("(from file " + f + ")");
  }

  @Test
  void load_unknownHostField_suggestsTheRightOne() throws IOException {
    Path f = file("rate_limit:\n  hosts:\n    a.com: {rat: 5}\n");

    assertThatThrownBy(() -> load(f))
        .hasMessageStartingWith("rate_limit.hosts['a.com'].rat: unknown key (did you mean rate?)");
  }

  @Test
  void load_unknownKeyInFile_namesFileAndSuggests() throws IOException {
    Path f = file("pools:\n  render:\n    limt: 4\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "pools.render.limt: unknown key in " + f + " (did you mean pools.render.limit?)");
  }

  @Test
  void load_unknownEnvVariable_namesItAndSuggests() {
    env.put("BERTH_SESSION_TTLL", "10s");

    assertThatThrownBy(() -> load(null))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("BERTH_SESSION_TTLL: unknown environment variable")
        .hasMessageEndingWith("(did you mean BERTH_SESSION_TTL?)");
  }

  @Test
  void load_variablesOfTheCliAndTheScripts_ignored() {
    env.put("BERTH_BROKER", "10.0.0.5:7433");
    env.put("BERTH_TIMEOUT", "3s");
    env.put("BERTH_TOKEN", "s3cret");
    env.put("BERTH_TOKEN_FILE", "/etc/berth/ops.token");
    env.put("BERTH_TLS", "1");
    env.put("BERTH_TLS_CA", "ca.pem");
    env.put("BERTH_TLS_SERVER_NAME", "berth-1");
    env.put("BERTH_CLI_JAVA_OPTS", "-Xmx64m");
    env.put("BERTH_BENCH_SERVER_OPTS", "-Xmx1g");
    env.put("BERTH_REQUIRE_TOOLS", "1");

    assertThat(load(null).policy()).isNotNull();
  }

  @Test
  void load_launcherVariablesAndOtherPrefixes_areNotKeys() {
    env.put("BERTH_JAVA_OPTS", "-Xmx1g");
    env.put("PATH", "/usr/bin");
    env.put("BERTHA", "x");

    assertThat(load(null).policy()).isNotNull();
  }

  @Test
  void load_unknownFlag_namesItAndSuggests() {
    assertThatThrownBy(() -> load(null, flag("--render-limt", "3")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("--render-limt: unknown option (did you mean --render-limit?)");
    assertThatThrownBy(() -> load(null, flag("--pools.render.limitt", "3")))
        .hasMessageContaining("did you mean --pools.render.limit?");
  }

  @Test
  void load_wrongTypes_nameKeyExpectedTypeAndSource() throws IOException {
    assertThatThrownBy(() -> load(null, flag("--render-limit", "many")))
        .hasMessage(
            "pools.render.limit: must be a whole number, got 'many' (from flag --render-limit)");

    env.put("BERTH_SESSION_TTL", "ten");
    assertThatThrownBy(() -> load(null))
        .hasMessage(
            "session.ttl: must be a duration like 500ms, 10s, 1m30s or 1h, got 'ten'"
                + " (from env BERTH_SESSION_TTL)");
    env.clear();

    Path f = file("metrics:\n  jmx: maybe\nlog:\n  format: xml\n");
    assertThatThrownBy(() -> load(f))
        .hasMessage("metrics.jmx: must be true or false, got 'maybe' (from file " + f + ")");

    Path g = file("pools:\n  render:\n    limit: {a: 1}\n");
    assertThatThrownBy(() -> load(g)).hasMessageContaining("must be a whole number, got a map");

    Path h = file("rate_limit:\n  default_rate: fast\n");
    assertThatThrownBy(() -> load(h))
        .hasMessageStartingWith("rate_limit.default_rate: must be a number, got 'fast'");
  }

  @Test
  void load_durationBeyondTenYearsOrBelowAMillisecond_refusedNamingTheKey() {
    // Larger ones overflowed later as nanoseconds (an acquire then failed INTERNAL); smaller
    // ones could not be written back by --print-config.
    assertThatThrownBy(() -> load(null, flag("--pools.render.max_hold", "200000d")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "pools.render.max_hold: must be at most 3650d (ten years), got '200000d'");
    assertThatThrownBy(() -> load(null, flag("--session.heartbeat_interval", "99999999999999d")))
        .hasMessageStartingWith("session.heartbeat_interval: must be at most 3650d");
    assertThatThrownBy(() -> load(null, flag("--performance.target_p95", "PT0.0001S")))
        .hasMessageStartingWith(
            "performance.target_p95: must be whole milliseconds, got 'PT0.0001S'");
  }

  @Test
  void load_emptyTokensFromTheEnvironment_refusedNotOpen() {
    env.put("BERTH_AUTH_TOKENS", "");
    assertThatThrownBy(() -> load(null))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "auth.tokens: is empty; name at least one token, or leave the key unset to run"
                + " without authentication");
    env.clear();
  }

  @Test
  void load_fileWithNoKeys_refusedNamingTheFile() throws IOException {
    // Taken as "no keys", such a file would put every default back: no tokens, no jobs.
    for (String yaml :
        List.of("", "\n  \n", "# all commented out\n# pools: {}\n", "~\n", "---\n", "{}\n")) {
      Path f = file(yaml);
      assertThatThrownBy(() -> load(f))
          .as("%s", yaml)
          .isInstanceOf(ConfigException.class)
          .hasMessage(
              "config: "
                  + f
                  + " holds no keys (it is empty, or only comments); write at least one key in it,"
                  + " or name no config file to run on the defaults");
    }
    // A key without a value is a key: it keeps its default.
    assertThat(load(file("pools.render.limit:\n")).policy().broker().limit(ResourceKind.RENDER))
        .isEqualTo(8);
  }

  @Test
  void load_pathWithNul_refusedNamingTheKey() throws IOException {
    Path f = file("state_dir: \"a\\0b\"\n");
    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("state_dir: must be a file or directory path: ");
  }

  @Test
  void load_jobHostBurstOutOfRange_refusedNamingTheKey() throws IOException {
    Path f = file("jobs:\n  crawl:\n    hosts:\n      a.example.com: {rate: 5, burst: -5}\n");
    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "jobs.crawl.hosts['a.example.com'].burst: must be 1..1000000, got -5");

    // The same key form as the rule's rate (and rate_limit.hosts['PATTERN']) is named in.
    Path rate = file("jobs:\n  crawl:\n    hosts:\n      a.example.com: {rate: -1, burst: 2}\n");
    assertThatThrownBy(() -> load(rate))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("jobs.crawl.hosts['a.example.com'].rate: ");
  }

  @Test
  void load_jobHostRuleWithoutBurst_takesRateLimitDefaultBurst() throws IOException {
    Path f =
        file(
            """
            rate_limit:
              default_burst: 9
            jobs:
              crawl:
                hosts:
                  a.example.com: {rate: 5}
                  b.example.com: {rate: 5, burst: 2}
            """);
    var rates = load(f).policy().jobs().get("crawl").hostRates();
    assertThat(rates.ruleFor("a.example.com").burst()).isEqualTo(9);
    assertThat(rates.ruleFor("b.example.com").burst()).isEqualTo(2);
  }

  @Test
  void load_ruleBroken_namesKeyRuleAndSource() throws IOException {
    assertThatThrownBy(() -> load(null, flag("--session-ttl", "1s")))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "session.ttl: must be at least twice session.heartbeat_interval (2s), got 1s"
                + " (from flag --session-ttl)");

    Path f = file("memory:\n  pressure_on: 0.7\n  pressure_off: 0.8\n");
    assertThatThrownBy(() -> load(f))
        .hasMessage(
            "memory.pressure_off: must be below memory.pressure_on (0.7), got 0.8 (from file "
                + f
                + ")");

    env.put("BERTH_PERFORMANCE_THRESHOLD", "2");
    assertThatThrownBy(() -> load(null))
        .hasMessage(
            "performance.threshold: must be 0..1, got 2.0 (from env BERTH_PERFORMANCE_THRESHOLD)");
  }

  @Test
  void load_yamlErrors_nameTheFileAndLine() throws IOException {
    Path dup = file("listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n");
    assertThatThrownBy(() -> load(dup)).hasMessageStartingWith("config: " + dup + " line 2");

    Path twice = file("pools.render.limit: 3\npools:\n  render:\n    limit: 4\n");
    assertThatThrownBy(() -> load(twice))
        .hasMessage("pools.render.limit: is given twice in " + twice);

    Path list = file("- a\n- b\n");
    assertThatThrownBy(() -> load(list)).hasMessageContaining("must hold a map of keys");

    assertThatThrownBy(() -> load(dir.resolve("missing.yaml")))
        .hasMessage("config: no such file " + dir.resolve("missing.yaml"));
  }

  /** {@code key}'s value as text, or the rule it broke without the source. */
  private String outcome(String key, java.util.function.Supplier<BerthConfig> load) {
    try {
      return load.get().text(ConfigKeys.get(key));
    } catch (ConfigException e) {
      return "error: " + e.getMessage().replaceFirst(" \\(from [^)]*\\)$", "");
    }
  }

  @Test
  void load_plainScalarsInTheFile_readAsTheEnvironmentAndFlagsReadThem() throws IOException {
    // YAML 1.1 would read these as octal, sexagesimal, hexadecimal, booleans and a number.
    String[][] rows = {
      {"pools.render.limit", "010", "10"},
      {
        "pools.render.limit",
        "1:30",
        "error: pools.render.limit: must be a whole number, got '1:30'"
      },
      {
        "pools.render.limit",
        "0x10",
        "error: pools.render.limit: must be a whole number, got '0x10'"
      },
      {"pools.render.limit", "1_000", "1000"},
      {"wasm.default_module", "no", "no"},
      {"wasm.default_module", "on", "on"},
      {"metrics.jmx", "1", "true"},
      {"metrics.jmx", "off", "false"},
      {
        "rate_limit.default_rate",
        "1:30",
        "error: rate_limit.default_rate: must be a number, got '1:30'"
      },
      {
        "rate_limit.default_rate",
        ".inf",
        "error: rate_limit.default_rate: must be a number, got '.inf'"
      },
    };
    for (String[] row : rows) {
      String key = row[0];
      String text = row[1];
      Path f = file(key + ": " + text + "\n");
      String fromFile = outcome(key, () -> load(f));
      String fromFlag = outcome(key, () -> load(null, flag("--" + key, text)));
      env.put(ConfigKeys.get(key).envName(), text);
      String fromEnv = outcome(key, () -> load(null));
      env.clear();

      assertThat(fromFile).as("%s: %s in the file", key, text).isEqualTo(row[2]);
      assertThat(fromEnv).as("%s: %s from the environment", key, text).isEqualTo(row[2]);
      assertThat(fromFlag).as("%s: %s from a flag", key, text).isEqualTo(row[2]);
    }
    // Quoted, the same text means the same.
    assertThat(
            load(file("pools.render.limit: \"010\"\n"))
                .policy()
                .broker()
                .limit(ResourceKind.RENDER))
        .isEqualTo(10);
    // Values inside a map entry too, in the file and in a flow map from the environment.
    Path hosts = file("rate_limit:\n  hosts:\n    a.example: {rate: 010, burst: 010}\n");
    assertThat(load(hosts).policy().rateLimit().ruleFor("a.example"))
        .isEqualTo(new HostRule("a.example", 10, 10));
  }

  @Test
  void load_mapKeysThatYamlOneOneReadsAsBooleans_stayTheNamesWritten() throws IOException {
    Path f = file("jobs:\n  on: {weight: 2}\n  no: {weight: 3}\n  yes: 4\n  010: 5\n");

    var jobs = load(f).policy().jobs();

    assertThat(jobs.get("on").weight()).isEqualTo(2);
    assertThat(jobs.get("no").weight()).isEqualTo(3);
    assertThat(jobs.get("yes").weight()).isEqualTo(4);
    assertThat(jobs.get("010").weight()).isEqualTo(5);
  }

  @Test
  void load_wrongShapesInTheFile_stillRefused() throws IOException {
    assertThatThrownBy(() -> load(file("rate_limit:\n  hosts: [a, b]\n")))
        .hasMessageStartingWith("rate_limit.hosts: must be a map");
    assertThatThrownBy(() -> load(file("rate_limit:\n  hosts: 5\n")))
        .hasMessageStartingWith("rate_limit.hosts: must be a map");
    assertThatThrownBy(() -> load(file("pools:\n  render: [1]\n")))
        .hasMessageStartingWith("pools.render: unknown key");
    assertThatThrownBy(() -> load(file("pools.render.limit: [1]\n")))
        .hasMessageStartingWith("pools.render.limit: must be a whole number, got a list");
    // null where a map belongs keeps the default, as for any key written without a value.
    assertThat(load(file("rate_limit.hosts: ~\n")).policy().rateLimit().ruleFor("a.example"))
        .isEqualTo(load(null).policy().rateLimit().ruleFor("a.example"));
  }

  @Test
  void load_unsafeYamlTag_isRefused() throws IOException {
    Path f = file("listen: !!javax.script.ScriptEngineManager [!!java.net.URL [\"http://x/\"]]\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(f.toString());
  }

  @Test
  void load_metricsOff_inEveryWay() throws IOException {
    assertThat(load(null, flag("--metrics.listen", "off")).daemon().metricsListen()).isEmpty();
    assertThat(load(null, flag("--metrics-listen", "")).daemon().metricsListen()).isEmpty();
    assertThat(load(file("metrics:\n  listen: off\n")).daemon().metricsListen()).isEmpty();
    assertThat(load(file("metrics:\n  listen: \"\"\n")).daemon().metricsListen()).isEmpty();
    assertThat(load(null, flag("--metrics.listen", "0.0.0.0:9999")).daemon().metricsListen())
        .map(a -> a.getPort())
        .isEqualTo(Optional.of(9999));
  }

  @Test
  void load_malformedAddresses_nameTheKeyAndTheSource() throws IOException {
    assertThatThrownBy(() -> load(null, flag("--metrics-listen", "[::1:9464")))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "metrics.listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '[::1:9464'"
                + " (no closing ']') (from flag --metrics-listen)");
    env.put("BERTH_LISTEN", "::1:7433");
    assertThatThrownBy(() -> load(null))
        .hasMessage(
            "listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '::1:7433'"
                + " (an IPv6 host needs brackets) (from env BERTH_LISTEN)");
    env.clear();
    Path f = file("listen: 127.0.0.1:99999\n");
    assertThatThrownBy(() -> load(f))
        .hasMessage(
            "listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '127.0.0.1:99999'"
                + " (the port must be 0..65535) (from file "
                + f
                + ")");
    assertThat(load(null, flag("--listen", "[::1]:0")).daemon().listen().getHostString())
        .isEqualTo("::1");
  }

  @Test
  void load_keyWithoutValueInFile_keepsTheDefault() throws IOException {
    BerthConfig config = load(file("rate_limit:\n  recovery_step:\nsession:\n  ttl: ~\n"));

    assertThat(config.policy().rateLimit().recoveryStep()).isEmpty();
    assertThat(config.policy().broker().sessionTtl()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void configFile_fromEnvWhenNoFlag() throws IOException {
    Path f = file("pools:\n  pdf:\n    limit: 9\n");
    env.put("BERTH_CONFIG", f.toString());

    BerthConfig config = ConfigSources.of(null, () -> env, List.of()).load();

    assertThat(config.policy().broker().limit(ResourceKind.PDF)).isEqualTo(9);
    assertThat(config.file()).isEqualTo(f);
  }

  @Test
  void load_wasmModulesInYaml_nestedOrFlat_becomeTheModulesServed() throws IOException {
    Path f =
        file(
            """
            wasm:
              idle_timeout: 2m
              modules:
                extractor: {path: /srv/extractor.wasm, exports: [alloc, extract]}
                bare: /srv/bare.wasm
            wasm.modules.listed.path: /srv/listed.wasm
            wasm.modules.listed.exports: run, stop
            """);

    WasmConfig wasm = load(f).daemon().wasm();

    assertThat(wasm.idleTimeout()).isEqualTo(Duration.ofMinutes(2));
    assertThat(wasm.modules())
        .containsExactly(
            new WasmConfig.ModuleEntry(
                "extractor", Path.of("/srv/extractor.wasm"), List.of("alloc", "extract")),
            new WasmConfig.ModuleEntry("bare", Path.of("/srv/bare.wasm"), List.of()),
            new WasmConfig.ModuleEntry(
                "listed", Path.of("/srv/listed.wasm"), List.of("run", "stop")));
  }

  @Test
  void load_wasmModulesFromEnvAndFlags_aSourceReplacesTheMapOfLowerOnes() throws IOException {
    Path f = file("wasm:\n  modules:\n    fromfile: /srv/f.wasm\n");
    env.put("BERTH_WASM_MODULES", "{fromenv: {path: /srv/e.wasm, exports: [run]}}");
    env.put("BERTH_WASM_IDLE_TIMEOUT", "0");

    BerthConfig fromEnv = load(f, flag("--wasm-default-module", "fromenv"));
    BerthConfig fromFlags =
        load(
            f,
            flag("--wasm-default-module", "a"),
            flag("--wasm-module", "a=/srv/a.wasm:alloc,extract"),
            flag("--wasm.modules.b.exports", "run"),
            flag("--wasm.modules.b.path", "/srv/b.wasm"));

    assertThat(fromEnv.daemon().wasm().modules())
        .containsExactly(
            new WasmConfig.ModuleEntry("fromenv", Path.of("/srv/e.wasm"), List.of("run")));
    assertThat(fromEnv.daemon().wasm().idleTimeout()).isZero();
    assertThat(fromEnv.origin(ConfigKeys.get("wasm.modules")))
        .isEqualTo(Origin.env("BERTH_WASM_MODULES"));
    assertThat(fromFlags.daemon().wasm().modules())
        .containsExactly(
            new WasmConfig.ModuleEntry("a", Path.of("/srv/a.wasm"), List.of("alloc", "extract")),
            new WasmConfig.ModuleEntry("b", Path.of("/srv/b.wasm"), List.of("run")));
  }

  @Test
  void load_wasmModuleMistakes_nameTheEntryTheFieldAndTheSource() throws IOException {
    assertThatThrownBy(() -> load(null, flag("--wasm.modules.x.exports", "run")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("wasm.modules['x'].path: is required (from flag --wasm.modules.x.exports)");
    assertThatThrownBy(() -> load(null, flag("--wasm.modules.x.paht", "/x.wasm")))
        .hasMessageStartingWith(
            "wasm.modules['x'].paht: unknown key (did you mean path?); a module has path and"
                + " exports (from flag --wasm.modules.x.paht)");
    assertThatThrownBy(() -> load(file("wasm:\n  modules:\n    x: {path: [a, b]}\n")))
        .hasMessageStartingWith("wasm.modules['x'].path: must be a single value, got a list");
    assertThatThrownBy(() -> load(null, flag("--wasm-module", "bad name=/a.wasm")))
        .hasMessageStartingWith("wasm.modules['bad name']: a module name is");
    env.put("BERTH_WASM_MODULES", "[a, b]");
    assertThatThrownBy(() -> load(null))
        .hasMessage(
            "wasm.modules: must be a map of module name to {path: FILE, exports: [NAME, ...]},"
                + " got '[a, b]' (from env BERTH_WASM_MODULES)");
  }

  @Test
  void load_defaultModuleNamingNoConfiguredModule_refusedNamingThem() throws IOException {
    // Every WASM acquire naming no module would fail at run time.
    assertThatThrownBy(
            () ->
                load(
                    null,
                    flag("--wasm-module", "extractor=/srv/x.wasm:alloc,extract"),
                    flag("--wasm-default-module", "extractr")))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "wasm.default_module: names no module of wasm.modules [extractor], got 'extractr'"
                + " (from flag --wasm-default-module)");
    // The default's default counts too.
    assertThatThrownBy(() -> load(file("wasm.modules.other.path: /srv/o.wasm\n")))
        .hasMessage(
            "wasm.default_module: names no module of wasm.modules [other], got 'extractor'");
    // Without modules any name goes: WASM leases are then plain capacity.
    assertThat(load(null, flag("--wasm-default-module", "extractr")).policy().broker())
        .extracting(BrokerConfig::defaultWasmModule)
        .isEqualTo("extractr");
  }

  @Test
  void load_hostOverrideFieldByField_fromFlagsAndFlatYaml() throws IOException {
    BerthConfig config =
        load(
            file("rate_limit.hosts.slow.example.org.rate: 0.2\n"),
            flag("--rate_limit.hosts.*.example.com.rate", "5"),
            flag("--rate_limit.hosts.*.example.com.burst", "10"));

    assertThat(config.policy().rateLimit().ruleFor("a.example.com"))
        .isEqualTo(new HostRule("*.example.com", 5, 10));
    assertThat(config.policy().rateLimit().ruleFor("slow.example.org").rate())
        .isEqualTo(2.0); // the flags' map replaced the file's whole
    assertThatThrownBy(() -> load(null, flag("--rate_limit.hosts.a.com.burst", "3")))
        .hasMessage(
            "rate_limit.hosts['a.com'].rate: is required (from flag"
                + " --rate_limit.hosts.a.com.burst)");
  }

  @Test
  void load_dottedHostKeyWithoutField_saysWhereTheDottedFormSplits() throws IOException {
    Path f = file("rate_limit.hosts.example.com: 5\n");

    assertThatThrownBy(() -> load(f))
        .hasMessageStartingWith(
            "rate_limit.hosts.example.com: unknown field 'com' (a host override has rate and"
                + " burst); in a dotted key the last part is the field, so for the entry"
                + " 'example.com' write rate_limit.hosts.example.com.rate");
    // A near miss of a field is still a typo, named as one.
    assertThatThrownBy(() -> load(file("rate_limit.hosts.example.com.rat: 5\n")))
        .hasMessageStartingWith(
            "rate_limit.hosts['example.com'].rat: unknown key (did you mean rate?)");
  }

  @Test
  void load_wholeMapAfterItsEntriesInOneSource_isRefused_wholeMapFirstTakesEntries() {
    assertThatThrownBy(
            () ->
                load(
                    null,
                    flag("--rate_limit.hosts.a.com.rate", "3"),
                    flag("--rate_limit.hosts", "{b.com: {rate: 4}}")))
        .hasMessage(
            "rate_limit.hosts: given whole (flag --rate_limit.hosts) after entries of it in the"
                + " same source (flag --rate_limit.hosts.a.com.rate); give the map whole or entry"
                + " by entry, not both");
    assertThatThrownBy(
            () ->
                load(
                    null,
                    flag("--wasm-module", "x=/x.wasm"),
                    flag("--wasm.modules", "{y: {path: /y.wasm}}")))
        .hasMessageStartingWith("wasm.modules: given whole (flag --wasm.modules) after entries");

    BerthConfig config =
        load(
            null,
            flag("--rate_limit.hosts", "{b.com: {rate: 4}}"),
            flag("--rate_limit.hosts.a.com.rate", "3"));
    assertThat(config.policy().rateLimit().ruleFor("a.com").rate()).isEqualTo(3.0);
    assertThat(config.policy().rateLimit().ruleFor("b.com").rate()).isEqualTo(4.0);
  }

  private static final String THREE_PEERS =
      """
      cluster:
        id: c1
        peers:
          n1: {raft: "127.0.0.1:7501", api: "127.0.0.1:7433"}
          n2: {raft: "127.0.0.1:7502", api: "127.0.0.1:7434"}
          n3: {raft: "127.0.0.1:7503", api: "127.0.0.1:7435"}
      """;

  @Test
  void load_noClusterKeys_noCluster() {
    assertThat(load(null).daemon().cluster()).isEmpty();
  }

  @Test
  void load_clusterInYamlWithSelfFlag_becomesTheClusterSettings() throws IOException {
    BerthConfig config =
        load(
            file(THREE_PEERS + "  journal:\n    max_uncommitted_grants: 2\n"),
            flag("--cluster.self", "n2"),
            flag("--cluster.raft.max_record_size", "8MiB"));

    var cluster = config.daemon().cluster().orElseThrow();
    assertThat(cluster.id()).isEqualTo("c1");
    assertThat(cluster.self()).isEqualTo("n2");
    assertThat(cluster.peers()).containsOnlyKeys("n1", "n2", "n3");
    assertThat(cluster.peers().get("n3").api().getPort()).isEqualTo(7435);
    assertThat(cluster.maxUncommittedGrants()).isEqualTo(2);
    assertThat(cluster.maxRecordBytes()).isEqualTo(8 << 20);
    assertThat(cluster.electionTimeoutMin()).isEqualTo(Duration.ofMillis(800));
    assertThat(config.text(ConfigKeys.get("cluster.peers")))
        .isEqualTo(
            "{n1: {raft: \"127.0.0.1:7501\", api: \"127.0.0.1:7433\"},"
                + " n2: {raft: \"127.0.0.1:7502\", api: \"127.0.0.1:7434\"},"
                + " n3: {raft: \"127.0.0.1:7503\", api: \"127.0.0.1:7435\"}}");
    BerthConfig again = load(file(config.toYaml()));
    assertThat(again.daemon().cluster()).isEqualTo(config.daemon().cluster());
  }

  @Test
  void load_clusterPeersFieldByFieldFromFlags_buildTheMembers() {
    BerthConfig config =
        load(
            null,
            flag("--cluster.id", "c1"),
            flag("--cluster.self", "a"),
            flag("--cluster.peers.a.raft", "127.0.0.1:7501"),
            flag("--cluster.peers.a.api", "127.0.0.1:7433"),
            flag("--cluster.peers.b.raft", "127.0.0.1:7502"),
            flag("--cluster.peers.b.api", "127.0.0.1:7434"),
            flag("--cluster.peers.c.raft", "127.0.0.1:7503"),
            flag("--cluster.peers.c.api", "127.0.0.1:7435"));

    assertThat(config.daemon().cluster().orElseThrow().peers()).containsOnlyKeys("a", "b", "c");
  }

  @Test
  void load_clusterPeerDashboard_optional_keptAndWrittenBack_badUrlNamesTheKeyAndRule()
      throws IOException {
    String withDashboards =
        THREE_PEERS
            .replace(
                "n1: {raft: \"127.0.0.1:7501\", api: \"127.0.0.1:7433\"}",
                "n1: {raft: \"127.0.0.1:7501\", api: \"127.0.0.1:7433\","
                    + " dashboard: \"https://n1.example:9464/\"}")
            .replace(
                "n2: {raft: \"127.0.0.1:7502\", api: \"127.0.0.1:7434\"}",
                "n2:\n      raft: \"127.0.0.1:7502\"\n      api: \"127.0.0.1:7434\"\n"
                    + "      dashboard: http://10.0.0.2:9464/");
    BerthConfig config = load(file(withDashboards), flag("--cluster.self", "n1"));

    var peers = config.daemon().cluster().orElseThrow().peers();
    assertThat(peers.get("n1").dashboard()).isEqualTo("https://n1.example:9464/");
    assertThat(peers.get("n2").dashboard()).isEqualTo("http://10.0.0.2:9464/");
    assertThat(peers.get("n3").dashboard()).as("not configured").isEmpty();
    assertThat(load(file(config.toYaml())).daemon().cluster()).isEqualTo(config.daemon().cluster());

    assertThatThrownBy(
            () ->
                load(
                    file(THREE_PEERS),
                    flag("--cluster.self", "n1"),
                    flag("--cluster.peers.n2.dashboard", "10.0.0.2:9464")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "cluster.peers['n2'].dashboard: must be an http:// or https:// URL such as"
                + " https://10.0.0.1:9464/, got '10.0.0.2:9464'");
  }

  @Test
  void load_clusterMistakes_nameTheKey() throws IOException {
    assertThatThrownBy(() -> load(null, flag("--cluster.self", "n1")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "cluster.self: is set but cluster.peers names no members; set the members too");
    assertThatThrownBy(() -> load(file(THREE_PEERS), flag("--cluster.self", "n9")))
        .hasMessageStartingWith("cluster.self: names no member of cluster.peers [n1, n2, n3]");
    assertThatThrownBy(() -> load(file(THREE_PEERS)))
        .hasMessageStartingWith("cluster.self: must name this node");
    assertThatThrownBy(
            () -> load(file(THREE_PEERS.replace("  id: c1\n", "")), flag("--cluster.self", "n1")))
        .hasMessageStartingWith("cluster.id: is required when cluster.peers is set");
    assertThatThrownBy(
            () -> load(file(THREE_PEERS.replace("7503", "7502")), flag("--cluster.self", "n1")))
        .hasMessageStartingWith("cluster.peers.n3.raft:");
    assertThatThrownBy(
            () ->
                load(
                    file(THREE_PEERS.replace("    n3: {raft: \"127.0.0.1:7503\", ", "    n3: {")),
                    flag("--cluster.self", "n1")))
        .hasMessageStartingWith("cluster.peers.n3.raft: is required");
    String four = THREE_PEERS + "    n4: {raft: \"127.0.0.1:7504\", api: \"127.0.0.1:7436\"}\n";
    assertThatThrownBy(() -> load(file(four), flag("--cluster.self", "n1")))
        .hasMessageStartingWith("cluster.peers: must name an odd number of members (got 4)");
    assertThatThrownBy(
            () ->
                load(
                    file(THREE_PEERS),
                    flag("--cluster.self", "n1"),
                    flag("--session.heartbeat_interval", "1s"),
                    flag("--session.ttl", "4s")))
        .hasMessageStartingWith("session.ttl: must be at least twice the failover time");
    assertThatThrownBy(
            () ->
                load(
                    file(THREE_PEERS),
                    flag("--cluster.self", "n1"),
                    flag("--cluster.raft.max_record_size", "lots")))
        .hasMessageStartingWith("cluster.raft.max_record_size: ");
  }

  @Test
  void toYaml_readsBackAsTheSameConfig() throws IOException {
    env.put("BERTH_RATE_LIMIT_HOSTS", "{\"*.example.com\": {rate: 5, burst: 10}}");
    BerthConfig config =
        load(
            file(
                """
                wasm:
                  default_module: "on"
                  modules:
                    "on": {path: "/srv/odd: x.wasm", exports: [run]}
                """),
            flag("--render-limit", "3"),
            flag("--metrics.listen", "off"));

    String yaml = config.toYaml();
    assertThat(yaml)
        .contains("pools.render.limit: 3")
        .contains("# flag --render-limit")
        .contains("# env BERTH_RATE_LIMIT_HOSTS")
        .contains("listen: \"127.0.0.1:7433\"")
        .contains("wasm.modules: {\"on\": {path: \"/srv/odd: x.wasm\", exports: [run]}}")
        .contains("wasm.default_module: \"on\"")
        .contains("(restart to change)");
    env.clear();
    BerthConfig again = load(file(yaml));
    for (ConfigKey<?> key : ConfigKeys.all()) {
      assertThat(again.text(key)).as(key.name()).isEqualTo(config.text(key));
    }
  }
}
