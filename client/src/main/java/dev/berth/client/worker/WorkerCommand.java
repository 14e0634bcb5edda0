package dev.berth.client.worker;

import dev.berth.client.BrokerClient;
import dev.berth.client.SessionOptions;
import dev.berth.client.cli.options.ConnectionOptions;
import dev.berth.common.CommandLines;
import dev.berth.common.DurationConverter;
import dev.berth.common.FileProblems;
import dev.berth.common.Identifiers;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code berth worker}: the reference worker's command line, with the same connection options as
 * every {@code berth} command ({@link ConnectionOptions}). It reads and checks every option and the
 * URL file, builds the SDK client (which reads the TLS files), then runs a {@link Crawl}; a problem
 * with any of them is a usage error, exit code 2, before anything is rendered.
 *
 * <p>Not thread-safe; one per command line.
 */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "The reference worker: render, extract, print PDFs under leases.",
      "",
      "Renders each URL of --urls on the system Chromium under a RENDER lease, extracts title,"
          + " links, words and images with the broker's WASM module under the session's WASM"
          + " lease, optionally prints a PDF under a PDF lease (each page takes its leases as one"
          + " bundle), and writes one JSON result per URL to --out."
    },
    footerHeading = "%n",
    footer = {
      "Durations are written 500ms, 10s, 1m30s or 1h. Exit status: 0 when every URL was done (or"
          + " the broker drained this worker), 1 when some URL failed or the broker answered with"
          + " an error, 2 for a usage error, 3 when the broker is unreachable. SIGTERM finishes the current pages, as a drain does,"
          + " and ends waiting acquires at once."
    })
public final class WorkerCommand implements Callable<Integer> {
  private static final String CHROMIUM = "/usr/bin/chromium";

  /** Debian's Chromium, which Playwright drives instead of downloading a browser of its own. */
  static final Path DEFAULT_CHROMIUM = Path.of(CHROMIUM);

  /** How long a SIGTERM waits for the current pages and the goodbye. */
  private static final Duration STOP_PATIENCE = Duration.ofSeconds(20);

  @Mixin ConnectionOptions connection;

  @Option(
      names = "--urls",
      paramLabel = "FILE",
      required = true,
      description = "URLs to render, one per line; '#' starts a comment.")
  Path urls;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      required = true,
      description = "Where results go: one JSON file per URL, and PDFs.")
  Path out;

  @Option(
      names = "--pdf",
      description = "Also print each page to PDF; each page's bundle then has a PDF lease too.")
  boolean pdf;

  @Option(
      names = "--worker-id",
      paramLabel = "ID",
      description = "This worker's name at the broker (default worker-HOST-PID).")
  String workerId;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "1",
      description = "Pages rendered at once, each in its own browser, 1..64 (default 1).")
  int concurrency;

  @Option(
      names = "--chromium",
      paramLabel = "PATH",
      defaultValue = CHROMIUM,
      description = "The Chromium to drive (default ${DEFAULT-VALUE}).")
  Path chromium;

  @Option(
      names = "--chromium-arg",
      paramLabel = "ARG",
      description = "An extra Chromium flag; repeat for more.")
  List<String> chromiumArgs = new ArrayList<>();

  @Option(
      names = "--navigation-timeout",
      paramLabel = "DUR",
      defaultValue = "30s",
      converter = DurationConverter.Positive.class,
      description =
          "Longest a page may take to load (default ${DEFAULT-VALUE}); a page still in the"
              + " browser a second later has its browser killed.")
  Duration navigationTimeout;

  @Option(
      names = "--acquire-timeout",
      paramLabel = "DUR",
      defaultValue = "5m",
      converter = DurationConverter.Positive.class,
      description =
          "Longest to wait for one URL's leases, through refusals and a broker out of reach"
              + " (default ${DEFAULT-VALUE}).")
  Duration acquireTimeout;

  @Option(
      names = "--attempts",
      paramLabel = "N",
      defaultValue = "3",
      description = "Tries per URL when the site answers 429 or 503, 1..100 (default 3).")
  int attempts;

  @Option(
      names = "--module",
      paramLabel = "NAME",
      description = "The WASM extractor module (default: the broker's default).")
  String module = "";

  @Option(
      names = "--memory-limit-mb",
      paramLabel = "N",
      defaultValue = "0",
      description = "This worker's memory limit, reported to the broker (default: none).")
  long memoryLimitMb;

  @Option(
      names = "--job",
      paramLabel = "NAME",
      description =
          "The crawl job this worker's session works for, shared by the broker's jobs.NAME"
              + " weights, mins and maxes (default: none, the token's principal or default).")
  String job = "";

  @Option(
      names = "--otlp-endpoint",
      paramLabel = "URL",
      description =
          "Send a span per page (with children for acquire, render, extract and PDF) over"
              + " OTLP/HTTP to this receiver, e.g. http://127.0.0.1:4318 (default: off, unless the"
              + " standard OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER is set).")
  String otlpEndpoint;

  @Option(
      names = {"-v", "--verbose"},
      description =
          "Also print the SDK's notes (reconnects, resumes, retried releases); its warnings are"
              + " always printed.")
  boolean verbose;

  @Spec CommandSpec spec;

  private final PrintStream stdout;
  private final PrintStream stderr;
  private final Map<String, String> env;
  private final boolean stopOnShutdown;

  /**
   * @param out where progress goes
   * @param err where errors go
   * @param env the environment the connection options fall back to
   * @param stopOnShutdown whether SIGTERM stops the crawl as a drain does (a process of its own)
   */
  public WorkerCommand(
      PrintStream out, PrintStream err, Map<String, String> env, boolean stopOnShutdown) {
    this.stdout = out;
    this.stderr = err;
    this.env = env;
    this.stopOnShutdown = stopOnShutdown;
  }

  /** {@code berth worker} as a program of its own, its messages prefixed {@code berth worker}. */
  static CommandLine commandLine(
      PrintStream out, PrintStream err, Map<String, String> env, boolean stopOnShutdown) {
    CommandLine line = new CommandLine(new WorkerCommand(out, err, env, stopOnShutdown));
    line.setCommandName("berth worker");
    return CommandLines.configure(line, out, err);
  }

  @Override
  public Integer call() {
    WorkerOptions options = options();
    if (otlpEndpoint != null && !otlpEndpoint.matches("https?://[^/\\s]+.*")) {
      throw usage(
          "--otlp-endpoint: must be an http:// or https:// URL such as http://127.0.0.1:4318,"
              + " got '"
              + otlpEndpoint
              + "'");
    }
    SdkLog log = SdkLog.install(stderr, verbose);
    try (WorkerTracing tracing = WorkerTracing.start(otlpEndpoint, env)) {
      return crawl(options, tracing);
    } finally {
      log.close();
    }
  }

  private int crawl(WorkerOptions options, WorkerTracing tracing) {
    BrokerClient client;
    try {
      BrokerClient.Builder builder =
          BrokerClient.newBuilder()
              .targets(options.brokers().toArray(String[]::new))
              .callDeadline(options.connection().timeout());
      if (tracing.enabled()) {
        builder.openTelemetry(tracing.openTelemetry());
      }
      if (options.connection().token() != null) {
        builder.bearerToken(options.connection().token());
      }
      if (options.connection().tls() != null) {
        builder.tls(options.connection().tls());
      }
      client = builder.build(); // reads and checks the TLS files now
    } catch (IllegalArgumentException e) {
      throw usage(ConnectionOptions.inFlagTerms(e.getMessage()));
    }
    try (client) {
      Crawl crawl =
          new Crawl(
              options,
              client,
              Clock.systemUTC(),
              stdout,
              stderr,
              tracing.openTelemetry().getTracer(WorkerTracing.SCOPE));
      Thread stopper = null;
      if (stopOnShutdown) {
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

  /**
   * The options read and checked, the URL file read.
   *
   * @throws ParameterException naming the option at fault
   */
  WorkerOptions options() {
    CommandLines.range(spec, "--concurrency", concurrency, 1, 64);
    CommandLines.range(spec, "--attempts", attempts, 1, 100);
    CommandLines.range(spec, "--memory-limit-mb", memoryLimitMb, 0, Integer.MAX_VALUE);
    java.util.Optional<String> badId =
        workerId == null ? java.util.Optional.empty() : Identifiers.problem(workerId);
    if (badId.isPresent()) {
      throw CommandLines.usage(spec, "--worker-id: " + badId.get() + ", got '" + workerId + "'");
    }
    try {
      SessionOptions.newBuilder().job(job).build();
    } catch (IllegalArgumentException e) {
      throw CommandLines.usage(spec, "--" + e.getMessage());
    }
    ConnectionOptions.Settings settings = connection.resolve(env);
    return new WorkerOptions(
        settings,
        urls,
        readUrls(urls),
        out,
        pdf,
        workerId != null ? workerId : defaultWorkerId(),
        concurrency,
        chromium,
        chromiumArgs,
        navigationTimeout,
        acquireTimeout,
        attempts,
        module,
        memoryLimitMb,
        job);
  }

  /** The URLs of {@code file}: one per line, blank lines and '#' comments skipped. */
  private List<String> readUrls(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw usage("--urls: cannot read " + file + ": " + FileProblems.why(e));
    }
    List<String> found = new ArrayList<>();
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n);
      int hash = line.indexOf('#');
      String url = (hash >= 0 ? line.substring(0, hash) : line).strip();
      if (url.isEmpty()) {
        continue;
      }
      try {
        URI uri = new URI(url);
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if ((!scheme.equals("http") && !scheme.equals("https")) || uri.getHost() == null) {
          throw new URISyntaxException(url, "not an http or https URL with a host");
        }
      } catch (URISyntaxException e) {
        throw usage("--urls: " + file + " line " + (n + 1) + ": " + e.getMessage());
      }
      found.add(url);
    }
    if (found.isEmpty()) {
      throw usage("--urls: " + file + " holds no URL");
    }
    return found;
  }

  private static String defaultWorkerId() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    String id = "worker-" + host + "-" + ProcessHandle.current().pid();
    return id.replaceAll("[^\\x21-\\x7e]", "_");
  }

  private ParameterException usage(String message) {
    return CommandLines.usage(spec, message);
  }
}
