package dev.berth.client.cli;

import dev.berth.client.TlsOptions;
import dev.berth.client.internal.ChannelSecurity;
import dev.berth.client.worker.WorkerMain;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The {@code berth} command line for operators: status, listings, interventions, explain, watch and
 * live limits, over the broker's {@code BrokerAdmin} service. {@code bin/berth} runs it for every
 * command but {@code serve}. See {@code berth --help} and docs/operations.md; the exit codes are in
 * {@link ExitCode}.
 */
public final class Main {
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private Main() {}

  public static void main(String[] args) {
    int code = run(List.of(args), System.out, System.err);
    System.out.flush();
    System.exit(code);
  }

  /** Runs one command line, printing to {@code out} and {@code err}; returns the exit code. */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    return run(args, out, err, System.getenv(), Clock.systemUTC());
  }

  static int run(
      List<String> args, PrintStream out, PrintStream err, Map<String, String> env, Clock clock) {
    if (args.isEmpty()) {
      err.print(Usage.GLOBAL);
      return ExitCode.USAGE;
    }
    if (args.get(0).equals("worker")) {
      // The reference worker is a program of its own, with its own options.
      return WorkerMain.run(args.subList(1, args.size()), out, err);
    }
    String target = Usage.DEFAULT_BROKER;
    Duration timeout = DEFAULT_TIMEOUT;
    try {
      CommandLine line = CommandLine.parse(args);
      if (line.flag("--help")) {
        out.print(Usage.help(line.command().equals("help") ? "" : line.command()));
        return ExitCode.OK;
      }
      if (line.command().equals("help")) {
        String topic = String.join(" ", line.args());
        if (!topic.isEmpty() && Usage.command(topic) == null) {
          throw new UsageException("", "no command '" + topic + "'");
        }
        out.print(Usage.help(topic));
        return ExitCode.OK;
      }
      target = target(line.value("--broker", env.getOrDefault("BERTH_BROKER", target)));
      timeout = line.duration("--timeout", DEFAULT_TIMEOUT);
      if (timeout.isZero() || timeout.isNegative()) {
        throw new UsageException(line.command(), "--timeout must be positive");
      }
      String token = line.value("--token", env.get("BERTH_TOKEN"));
      Connection connection;
      try {
        connection = Connection.open(target, tls(line, env), token, timeout);
      } catch (IllegalArgumentException e) {
        throw new UsageException("", e.getMessage());
      }
      try (Connection broker = connection) {
        return new Commands(line, broker, out, err, clock).run();
      }
    } catch (UsageException e) {
      err.println("berth: " + e.getMessage());
      err.println(
          "run 'berth " + (e.command().isEmpty() ? "" : e.command() + " ") + "--help' for usage");
      return ExitCode.USAGE;
    } catch (StatusRuntimeException e) {
      Failures.Report report = Failures.of(e, target, timeout);
      err.println(report.message());
      return report.exitCode();
    }
  }

  /**
   * The TLS options of the {@code --tls*} flags, each falling back to its environment variable
   * ({@code BERTH_TLS=1}, {@code BERTH_TLS_CA}, ...); null for plaintext.
   */
  static TlsOptions tls(CommandLine line, Map<String, String> env) {
    try {
      return ChannelSecurity.fromFlags(
          line.flag("--tls")
              || "1".equals(env.get("BERTH_TLS"))
              || "true".equals(env.get("BERTH_TLS")),
          line.value("--tls-ca", env.get("BERTH_TLS_CA")),
          line.value("--tls-cert", env.get("BERTH_TLS_CERT")),
          line.value("--tls-key", env.get("BERTH_TLS_KEY")),
          line.value("--tls-server-name", env.get("BERTH_TLS_SERVER_NAME")));
    } catch (IllegalArgumentException e) {
      throw new UsageException("", e.getMessage());
    }
  }

  /**
   * Checks a {@code --broker} value: HOST:PORT (an IPv6 host in brackets), or a gRPC target URI.
   */
  static String target(String value) {
    if (value.contains("://") || value.startsWith("dns:") || value.startsWith("unix:")) {
      return value;
    }
    int colon = value.lastIndexOf(':');
    String port = colon < 0 ? "" : value.substring(colon + 1);
    boolean ok = colon > 0 && !port.isEmpty() && port.chars().allMatch(Character::isDigit);
    if (ok) {
      int p = port.length() > 5 ? -1 : Integer.parseInt(port);
      ok = p >= 1 && p <= 65535;
    }
    if (!ok) {
      throw new UsageException(
          "", "--broker must be HOST:PORT, e.g. 127.0.0.1:7433; got '" + value + "'");
    }
    return value;
  }
}
