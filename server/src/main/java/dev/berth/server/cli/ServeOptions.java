package dev.berth.server.cli;

import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.ConfigException;
import dev.berth.server.config.Durations;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.wasm.WasmConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The options of {@code berth serve}. Every option is {@code --name value} or {@code --name=value};
 * unknown options are errors.
 */
final class ServeOptions {
  static final String USAGE =
      """
      usage: berth serve [options]

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
        --rate-limit-default-rate R per-host requests per second for hosts without a rule (default 2)
        --rate-limit-default-burst N  per-host burst for hosts without a rule (default 4)
        --wasm-module NAME=PATH[:EXPORT,...]
                                    serve a WASM module that must have these exports; repeat
                                    for more (e.g. extractor=src/wasm/extractor.wasm:alloc,extract)
        --wasm-default-module NAME  the module of WASM acquires that name none (default extractor)
        --wasm-idle-timeout DUR     revoke WASM leases unused this long, 0 = never (default 5m)

      Durations are written 500ms, 10s, 5m or 1h.
      """;

  InetSocketAddress listen = new InetSocketAddress("127.0.0.1", 7433);
  Path stateDir = Path.of("berth-state");
  Duration shutdownGrace = Duration.ofSeconds(10);
  BrokerConfig config;
  RateLimitConfig rateLimit;
  WasmConfig wasm;
  boolean help;

  /**
   * Parses {@code args} (without the {@code serve} word).
   *
   * @throws ConfigException naming the option at fault
   */
  static ServeOptions parse(List<String> args) {
    ServeOptions o = new ServeOptions();
    BrokerConfig.Builder config = BrokerConfig.newBuilder();
    RateLimitConfig.Builder rateLimit = RateLimitConfig.newBuilder();
    List<WasmConfig.ModuleEntry> modules = new ArrayList<>();
    Duration wasmIdleTimeout = WasmConfig.DEFAULT_IDLE_TIMEOUT;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("-h") || arg.equals("--help")) {
        o.help = true;
        return o;
      }
      if (!arg.startsWith("--")) {
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
      switch (name) {
        case "--listen" -> o.listen = address(name, value);
        case "--state-dir" -> o.stateDir = Path.of(value);
        case "--heartbeat-interval" -> config.heartbeatInterval(Durations.parse(name, value));
        case "--session-ttl" -> config.sessionTtl(Durations.parse(name, value));
        case "--sweep-interval" -> config.sweepInterval(Durations.parse(name, value));
        case "--shutdown-grace" -> o.shutdownGrace = Durations.parse(name, value);
        case "--rate-limit-default-rate" -> rateLimit.defaultRate(number(name, value));
        case "--rate-limit-default-burst" -> rateLimit.defaultBurst(integer(name, value));
        case "--wasm-module" -> modules.add(WasmConfig.ModuleEntry.parse(name, value));
        case "--wasm-default-module" -> config.defaultWasmModule(value);
        case "--wasm-idle-timeout" -> wasmIdleTimeout = idleTimeout(name, value);
        default -> {
          if (!kindOption(config, name, value)) {
            throw new ConfigException(name, "unknown option; see berth serve --help");
          }
        }
      }
    }
    o.config = config.build();
    o.rateLimit = rateLimit.build();
    o.wasm = new WasmConfig(modules, wasmIdleTimeout);
    return o;
  }

  private static boolean kindOption(BrokerConfig.Builder config, String name, String value) {
    for (ResourceKind kind : ResourceKind.values()) {
      String prefix = "--" + kind.name().toLowerCase(Locale.ROOT) + "-";
      if (name.equals(prefix + "limit")) {
        config.limit(kind, integer(name, value));
        return true;
      }
      if (name.equals(prefix + "max-hold")) {
        config.maxHold(kind, Durations.parse(name, value));
        return true;
      }
    }
    return false;
  }

  private static Duration idleTimeout(String name, String value) {
    return value.trim().equals("0") ? Duration.ZERO : Durations.parse(name, value);
  }

  private static double number(String name, String value) {
    try {
      return Double.parseDouble(value.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "must be a number, got '" + value + "'");
    }
  }

  private static int integer(String name, String value) {
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "must be a whole number, got '" + value + "'");
    }
  }

  static InetSocketAddress address(String name, String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new ConfigException(name, "must be HOST:PORT, got '" + value + "'");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = integer(name, value.substring(colon + 1));
    if (port < 0 || port > 65535) {
      throw new ConfigException(name, "port must be 0..65535, got " + port);
    }
    return new InetSocketAddress(host, port);
  }
}
