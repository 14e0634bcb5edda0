package dev.berth.server.cli;

import dev.berth.server.Daemon;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigSources;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.state.StateException;
import dev.berth.server.wasm.ModuleLoadException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/**
 * The daemon's command line: {@code berth serve [options]}. Exit codes: 0 after a clean shutdown
 * (or after {@code --help} / {@code --print-config}), 2 for a usage or configuration error, 1 when
 * the broker cannot start.
 */
public final class Main {
  private Main() {}

  /**
   * {@code --check-config}: the configuration is valid (it loaded); now load what a start would
   * read from files, and say what was found or the first thing that would stop the start.
   */
  private static int checkConfig(BerthConfig config, PrintStream out, PrintStream err) {
    List<String> loaded;
    try {
      loaded = Daemon.check(config);
    } catch (ModuleLoadException | ConfigException e) {
      err.println("berth: " + e.getMessage());
      return 2;
    }
    out.println(
        "berth: the configuration would start (from "
            + (config.file() == null ? "defaults, env and flags" : config.file().toString())
            + ")");
    for (String line : loaded) {
      out.println("  " + line);
    }
    return 0;
  }

  public static void main(String[] args) {
    System.exit(run(Arrays.asList(args), System::getenv, System.out, System.err));
  }

  static int run(
      List<String> args, Supplier<Map<String, String>> env, PrintStream out, PrintStream err) {
    if (args.isEmpty() || !args.get(0).equals("serve")) {
      err.println("usage: berth serve [options]   (berth serve --help lists them)");
      return 2;
    }
    ServeOptions options;
    ConfigSources sources;
    BerthConfig config;
    try {
      options = ServeOptions.parse(args.subList(1, args.size()));
      if (options.help) {
        out.print(ServeOptions.usage());
        return 0;
      }
      if (options.version) {
        out.println(ServeOptions.versionLine());
        return 0;
      }
      sources = ConfigSources.of(options.configFile, env, options.flags);
      config = sources.load();
    } catch (ConfigException e) {
      err.println("berth: " + e.getMessage());
      return 2;
    }
    if (options.printConfig) {
      out.print(config.toYaml());
      return 0;
    }
    if (options.checkConfig) {
      return checkConfig(config, out, err);
    }
    Logging.configure(config.daemon().logFormat(), config.daemon().logLevel());
    Daemon daemon;
    try {
      daemon = Daemon.start(config, sources, settings -> Logging.setLevel(settings.logLevel()));
    } catch (ModuleLoadException | ConfigException e) {
      // A configuration error found only on start (a TLS file that does not load).
      err.println("berth: " + e.getMessage());
      return 2;
    } catch (StateException | UncheckedIOException e) {
      err.println("berth: " + e.getMessage());
      return 1;
    } catch (RuntimeException e) {
      // Anything else that stops a start (a damaged Raft file Ratis cannot read): its causes in
      // one line, the trace in the log at DEBUG, not a raw trace from the JVM.
      err.println("berth: cannot start: " + causes(e));
      org.slf4j.LoggerFactory.getLogger(Main.class).debug("start failed", e);
      return 1;
    }
    // The configuration and the WASM modules, re-read: a rebuilt module is served from now on.
    ReloadSignal.install(daemon::reload);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  daemon.close();
                  stopped.countDown();
                },
                "berth-shutdown"));
    try {
      daemon.awaitTermination();
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /** {@code e}'s message and those of its causes, each once: {@code a: b: c}. */
  static String causes(Throwable e) {
    StringBuilder text = new StringBuilder();
    java.util.Set<Throwable> seen =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      String message = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
      if (text.indexOf(message) < 0) {
        text.append(text.length() == 0 ? "" : ": ").append(message);
      }
    }
    return text.toString();
  }
}
