package dev.berth.server.cli;

import dev.berth.server.Daemon;
import dev.berth.server.broker.Policy;
import dev.berth.server.config.ConfigException;
import dev.berth.server.state.StateException;
import dev.berth.server.wasm.ModuleLoadException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * The daemon's command line: {@code berth serve [options]}. Exit codes: 0 after a clean shutdown, 2
 * for a usage or configuration error, 1 when the broker cannot start.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(Arrays.asList(args), System.out, System.err));
  }

  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || !args.get(0).equals("serve")) {
      err.println("usage: berth serve [options]   (berth serve --help lists them)");
      return 2;
    }
    ServeOptions options;
    try {
      options = ServeOptions.parse(args.subList(1, args.size()));
    } catch (ConfigException e) {
      err.println("berth: " + e.getMessage());
      return 2;
    }
    if (options.help) {
      out.print(ServeOptions.USAGE);
      return 0;
    }
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    Daemon daemon;
    try {
      daemon =
          Daemon.start(
              Policy.of(options.config).withRateLimit(options.rateLimit),
              options.wasm,
              options.stateDir,
              options.listen,
              options.shutdownGrace);
    } catch (ModuleLoadException e) {
      err.println("berth: " + e.getMessage());
      return 2;
    } catch (StateException | UncheckedIOException e) {
      err.println("berth: " + e.getMessage());
      return 1;
    }
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
}
