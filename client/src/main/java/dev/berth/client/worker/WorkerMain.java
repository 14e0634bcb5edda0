package dev.berth.client.worker;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * {@code berth worker}: the reference worker's command line. See {@link WorkerOptions#USAGE} for
 * the options and exit status; {@link Crawl} for what it does with each URL.
 */
public final class WorkerMain {
  /** How long a SIGTERM waits for the current pages and the goodbye. */
  private static final Duration STOP_PATIENCE = Duration.ofSeconds(20);

  private WorkerMain() {}

  public static void main(String[] args) {
    System.exit(run(Arrays.asList(args), System.out, System.err, true));
  }

  /**
   * Runs {@code berth worker} with {@code args} (without the {@code worker} word) and returns the
   * exit status: 0 done, 1 failures, 2 usage error.
   */
  public static int run(List<String> args, PrintStream out, PrintStream err) {
    return run(args, out, err, false);
  }

  private static int run(List<String> args, PrintStream out, PrintStream err, boolean hook) {
    WorkerOptions options;
    try {
      options = WorkerOptions.parse(args);
    } catch (WorkerOptions.UsageException e) {
      err.println("berth worker: " + e.getMessage());
      err.println("usage: berth worker --broker HOST:PORT --urls FILE --out DIR [--pdf] ...");
      err.println("       berth worker --help lists every option");
      return 2;
    }
    if (options == null) {
      out.print(WorkerOptions.USAGE);
      return 0;
    }
    Crawl crawl = new Crawl(options, out, err);
    Thread stopper = null;
    if (hook) {
      stopper = new Thread(() -> crawl.stop(STOP_PATIENCE), "berth-worker-stop");
      Runtime.getRuntime().addShutdownHook(stopper);
    }
    try {
      return crawl.run();
    } finally {
      if (stopper != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(stopper);
        } catch (IllegalStateException e) {
          // Already shutting down: the hook is running and waits for us.
        }
      }
    }
  }
}
