package dev.berth.client.worker;

import dev.berth.client.TlsOptions;
import dev.berth.client.internal.ChannelSecurity;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The options of {@code berth worker}. Every option is {@code --name value} or {@code
 * --name=value}; unknown options are errors. Immutable once parsed.
 */
record WorkerOptions(
    String broker,
    Path urlsFile,
    List<String> urls,
    Path out,
    boolean pdf,
    String workerId,
    int concurrency,
    Path chromium,
    List<String> chromiumArgs,
    Duration navigationTimeout,
    Duration acquireTimeout,
    int attempts,
    String module,
    long memoryLimitMb,
    String token,
    TlsOptions tls) {

  static final String USAGE =
      """
      usage: berth worker --broker HOST:PORT --urls FILE --out DIR [options]

        --broker HOST:PORT        the broker (required)
        --urls FILE               URLs to render, one per line; '#' starts a comment (required)
        --out DIR                 where results go: one JSON file per URL, and PDFs (required)
        --pdf                     also print each page to PDF, under a PDF lease
        --worker-id ID            this worker's name at the broker (default worker-HOST-PID)
        --concurrency N           pages rendered at once, each in its own browser (default 1)
        --chromium PATH           the Chromium to drive (default /usr/bin/chromium)
        --chromium-arg ARG        an extra Chromium flag; repeat for more
        --navigation-timeout DUR  longest a page may take to load (default 30s)
        --acquire-timeout DUR     longest to wait for a RENDER lease for one URL (default 5m)
        --attempts N              tries per URL when the site answers 429 or 503 (default 3)
        --module NAME             the WASM extractor module (default: the broker's default)
        --memory-limit-mb N       this worker's memory limit, reported to the broker
        --token TOKEN             bearer token for the broker
        --tls                     connect with TLS, trusting the system's CAs; implied by
                                  any --tls-* option
        --tls-ca FILE             trust only the CA certificates in this PEM file
        --tls-cert FILE           client certificate chain, PEM, for mTLS
        --tls-key FILE            its PKCS#8 private key, PEM
        --tls-server-name NAME    the name the broker's certificate must carry, when it
                                  differs from the --broker host

      Durations are written 500ms, 10s, 5m or 1h. Exit status: 0 when every URL was done (or
      the broker drained this worker), 1 when some URL failed or the broker could not be used,
      2 for a usage error.
      """;

  static final Path DEFAULT_CHROMIUM = Path.of("/usr/bin/chromium");

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

  WorkerOptions {
    urls = List.copyOf(urls);
    chromiumArgs = List.copyOf(chromiumArgs);
  }

  /** A usage error; the message names the option. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  /**
   * Parses {@code args} (without the {@code worker} word) and reads the URL file.
   *
   * @return null when help was asked for
   * @throws UsageException naming the option at fault
   */
  static WorkerOptions parse(List<String> args) throws UsageException {
    String broker = null;
    Path urls = null;
    Path out = null;
    boolean pdf = false;
    String workerId = null;
    int concurrency = 1;
    Path chromium = DEFAULT_CHROMIUM;
    List<String> chromiumArgs = new ArrayList<>();
    Duration navigation = Duration.ofSeconds(30);
    Duration acquire = Duration.ofMinutes(5);
    int attempts = 3;
    String module = "";
    long memoryLimitMb = 0;
    String token = null;
    boolean tls = false;
    String tlsCa = null;
    String tlsCert = null;
    String tlsKey = null;
    String tlsServerName = null;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("-h") || arg.equals("--help")) {
        return null;
      }
      if (arg.equals("--pdf")) {
        pdf = true;
        continue;
      }
      if (arg.equals("--tls")) {
        tls = true;
        continue;
      }
      if (!arg.startsWith("--")) {
        throw new UsageException(arg + ": unexpected argument; options start with --");
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
          throw new UsageException(name + ": needs a value");
        }
        value = args.get(++i);
      }
      switch (name) {
        case "--broker" -> broker = value;
        case "--urls" -> urls = Path.of(value);
        case "--out" -> out = Path.of(value);
        case "--worker-id" -> workerId = value;
        case "--concurrency" -> concurrency = integer(name, value, 1, 64);
        case "--chromium" -> chromium = Path.of(value);
        case "--chromium-arg" -> chromiumArgs.add(value);
        case "--navigation-timeout" -> navigation = duration(name, value);
        case "--acquire-timeout" -> acquire = duration(name, value);
        case "--attempts" -> attempts = integer(name, value, 1, 100);
        case "--module" -> module = value;
        case "--memory-limit-mb" -> memoryLimitMb = integer(name, value, 0, Integer.MAX_VALUE);
        case "--token" -> token = value;
        case "--tls-ca" -> tlsCa = value;
        case "--tls-cert" -> tlsCert = value;
        case "--tls-key" -> tlsKey = value;
        case "--tls-server-name" -> tlsServerName = value;
        default -> throw new UsageException(name + ": unknown option; see berth worker --help");
      }
    }
    if (broker == null || broker.isBlank()) {
      throw new UsageException("--broker: required, e.g. --broker 127.0.0.1:7433");
    }
    if (urls == null) {
      throw new UsageException("--urls: required: a file with one URL per line");
    }
    if (out == null) {
      throw new UsageException("--out: required: a directory for the results");
    }
    if (workerId == null) {
      workerId = defaultWorkerId();
    }
    TlsOptions tlsOptions;
    try {
      tlsOptions = ChannelSecurity.fromFlags(tls, tlsCa, tlsCert, tlsKey, tlsServerName);
      if (tlsOptions != null) {
        ChannelSecurity.check(tlsOptions, ChannelSecurity.OptionNames.FLAGS);
      }
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    return new WorkerOptions(
        broker,
        urls,
        readUrls(urls),
        out,
        pdf,
        workerId,
        concurrency,
        chromium,
        chromiumArgs,
        navigation,
        acquire,
        attempts,
        module,
        memoryLimitMb,
        token,
        tlsOptions);
  }

  /** The URLs of {@code file}: one per line, blank lines and '#' comments skipped. */
  static List<String> readUrls(Path file) throws UsageException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UsageException("--urls: cannot read " + file + ": " + e.getMessage());
    }
    List<String> urls = new ArrayList<>();
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
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
          throw new URISyntaxException(url, "not an http or https URL with a host");
        }
      } catch (URISyntaxException e) {
        throw new UsageException("--urls: " + file + " line " + (n + 1) + ": " + e.getMessage());
      }
      urls.add(url);
    }
    if (urls.isEmpty()) {
      throw new UsageException("--urls: " + file + " holds no URL");
    }
    return urls;
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

  static Duration duration(String name, String value) throws UsageException {
    Matcher m = DURATION.matcher(value.strip());
    if (!m.matches()) {
      throw new UsageException(name + ": must be a duration like 500ms, 10s, 5m or 1h");
    }
    long n = Long.parseLong(m.group(1));
    Duration d =
        switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        };
    if (d.isZero()) {
      throw new UsageException(name + ": must be positive");
    }
    return d;
  }

  private static int integer(String name, String value, int min, int max) throws UsageException {
    try {
      int n = Integer.parseInt(value.strip());
      if (n < min || n > max) {
        throw new UsageException(name + ": must be " + min + ".." + max + ", got " + n);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new UsageException(name + ": must be a whole number, got '" + value + "'");
    }
  }
}
