package dev.berth.server.cli;

import dev.berth.server.config.Flag;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import dev.berth.server.wasm.WasmConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of {@code berth serve}: {@code --config FILE}, {@code --print-config}, {@code
 * --help}, and configuration flags ({@code --key value} or {@code --key=value}) that the config
 * loader checks against the known keys.
 */
final class ServeOptions {
  static final String USAGE =
      """
      usage: berth serve [--config FILE] [--print-config] [--KEY VALUE ...]

        --config FILE               YAML config file (or BERTH_CONFIG); see docs/configuration.md
        --print-config              print the effective configuration with each value's source
                                    and exit
        --KEY VALUE, --KEY=VALUE    set any config key, e.g. --pools.render.limit 16,
                                    --rate_limit.default_rate 5, --metrics.listen off

      Precedence: flags > environment (BERTH_SESSION_TTL=...) > config file > defaults.
      Short forms of common keys:

        --listen HOST:PORT          address to listen on (default 127.0.0.1:7433)
        --state-dir DIR             durable state: epoch and lock (default ./berth-state)
        --heartbeat-interval DUR    how often workers heartbeat (default 2s)
        --session-ttl DUR           a session without heartbeats ends after this (default 10s)
        --sweep-interval DUR        how often expiry is checked (default 250ms)
        --render-limit N            fleet-wide RENDER slots (default 8)
        --pdf-limit N               fleet-wide PDF slots (default 2)
        --wasm-limit N              WASM instances in total, one per session (default 64)
        --render-max-hold DUR       longest RENDER lease (default 5m)
        --pdf-max-hold DUR          longest PDF lease (default 2m)
        --wasm-max-hold DUR         longest WASM lease (default 1h)
        --shutdown-grace DUR        on SIGTERM, how long in-flight calls may finish (default 10s)
        --metrics-listen HOST:PORT  Prometheus /metrics endpoint, or off (default 127.0.0.1:9464)
        --log-format text|json      log line format (default text)
        --rate-limit-default-rate R per-host requests per second for hosts without a rule (default 2)
        --rate-limit-default-burst N  per-host burst for hosts without a rule (default 4)
        --wasm-module NAME=PATH[:EXPORT,...]
                                    serve a WASM module (repeatable); it must export the names
                                    given (e.g. extractor=src/wasm/extractor.wasm:alloc,extract)
        --wasm-default-module NAME  the module of WASM acquires that name none (default extractor)
        --wasm-idle-timeout DUR     revoke WASM leases unused this long, 0 = never (default 5m)

      Durations are written 500ms, 10s, 1m30s or 1h. SIGHUP reloads the config file.
      """;

  Path configFile;
  boolean printConfig;
  boolean help;
  final List<Flag> flags = new ArrayList<>();
  final List<WasmConfig.ModuleEntry> wasmModules = new ArrayList<>();
  Duration wasmIdleTimeout = WasmConfig.DEFAULT_IDLE_TIMEOUT;

  /** The WASM modules to serve, from {@code --wasm-module} (repeatable) and its idle timeout. */
  WasmConfig wasm() {
    return new WasmConfig(wasmModules, wasmIdleTimeout);
  }

  /**
   * Parses {@code args} (without the {@code serve} word). Which flags name real keys is checked
   * when the configuration is loaded.
   *
   * @throws ConfigException naming the option at fault
   */
  static ServeOptions parse(List<String> args) {
    ServeOptions o = new ServeOptions();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("-h") || arg.equals("--help")) {
        o.help = true;
        return o;
      }
      if (arg.equals("--print-config")) {
        o.printConfig = true;
        continue;
      }
      if (!arg.startsWith("--") || arg.length() == 2) {
        throw new ConfigException(arg, "unexpected argument; options start with --");
      }
      String name;
      String value;
      int eq = arg.indexOf('=');
      if (eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      } else {
        name = arg;
        if (i + 1 >= args.size()) {
          throw new ConfigException(name, "needs a value");
        }
        value = args.get(++i);
      }
      if (name.equals("--config")) {
        if (value.isBlank()) {
          throw new ConfigException(name, "needs a file path");
        }
        o.configFile = Path.of(value);
      } else if (name.equals("--wasm-module")) {
        o.wasmModules.add(WasmConfig.ModuleEntry.parse(name, value));
      } else if (name.equals("--wasm-idle-timeout")) {
        o.wasmIdleTimeout = value.trim().equals("0") ? Duration.ZERO : Durations.parse(name, value);
      } else {
        o.flags.add(new Flag(name, value));
      }
    }
    return o;
  }
}
