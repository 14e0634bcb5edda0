package dev.berth.client.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What {@code berth} accepts: every command, its options, and the help texts. */
final class Usage {
  private Usage() {}

  /** One command: its words, arguments and options, and its help. */
  record Command(
      String name,
      int minArgs,
      int maxArgs,
      Set<String> valued,
      Set<String> repeatable,
      Set<String> flags,
      String help) {

    boolean takesValue(String option) {
      return valued.contains(option) || repeatable.contains(option);
    }

    boolean knows(String option) {
      return takesValue(option) || flags.contains(option);
    }
  }

  /** Options every command takes. */
  static final Set<String> GLOBAL_VALUED =
      Set.of(
          "--broker",
          "--timeout",
          "--token",
          "--tls-ca",
          "--tls-cert",
          "--tls-key",
          "--tls-server-name");

  static final Set<String> GLOBAL_FLAGS = Set.of("--json", "--help", "-h", "--tls");

  static final String DEFAULT_BROKER = "127.0.0.1:7433";

  static final String GLOBAL =
      """
      usage: berth [--broker HOST:PORT] [--json] [--timeout DUR] [--token T]
                   [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]
                   [--tls-server-name NAME] COMMAND [ARGS]

      Operate a Berth broker over its BrokerAdmin gRPC service.

      commands:
        serve                          start the broker (bin/berth serve --help)
        status                         pools, sessions, pressure, hot hosts and totals
        sessions [--worker W]          live sessions
        leases [--worker W] [--kind K] [--host H] [--session S]
                                       live leases, in grant order
        revoke LEASE_ID [--reason R] [--grace DUR]
                                       end a lease now; its holder is told
        drain [SESSION] [--deadline DUR] [--resume]
                                       stop new grants to one session, or to the whole broker
        explain --kind K --session S [--url U] [--module M]
                                       what an acquire would be answered now, and why
        watch [--type T ...] [--count N]
                                       print broker events as they happen
        limits set [--render N] [--pdf N] [--wasm N] [--host PATTERN=RATE[/BURST] ...]
                   [--pressure-on X --pressure-off Y]
                                       change limits live; leases are kept
        worker --broker HOST:PORT --urls FILE --out DIR [--pdf] ...
                                       the reference worker: render, extract, print PDFs
                                       under leases (berth worker --help)
        help [COMMAND]                 this text, or a command's

      options:
        --broker HOST:PORT   the broker (default 127.0.0.1:7433, or $BERTH_BROKER)
        --json               machine-readable output: one JSON document per command
                             (watch: one JSON object per line)
        --timeout DUR        how long to wait for each answer (default 10s)
        --token T            bearer token, sent as 'authorization: Bearer T' (or $BERTH_TOKEN)
        --tls                connect with TLS, trusting the system's CAs (or $BERTH_TLS=1);
                             implied by any --tls-* option
        --tls-ca FILE        trust only the CA certificates in this PEM file (or $BERTH_TLS_CA)
        --tls-cert FILE      client certificate chain, PEM, for mTLS (or $BERTH_TLS_CERT)
        --tls-key FILE       its PKCS#8 private key, PEM (or $BERTH_TLS_KEY)
        --tls-server-name NAME
                             the name the broker's certificate must carry, when it differs
                             from the --broker host (or $BERTH_TLS_SERVER_NAME)

      exit codes:
        0  ok
        1  the broker answered with an error (NOT_FOUND, INVALID_ARGUMENT, ...)
        2  usage error: the command line is wrong
        3  the broker is unreachable or unavailable
        4  explain: an acquire now would be refused

      Durations are written 500ms, 10s, 5m, 1h or 1h30m.
      """;

  private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

  private static void add(
      String name,
      int minArgs,
      int maxArgs,
      List<String> valued,
      List<String> repeatable,
      List<String> flags,
      String help) {
    COMMANDS.put(
        name,
        new Command(
            name,
            minArgs,
            maxArgs,
            Set.copyOf(valued),
            Set.copyOf(repeatable),
            Set.copyOf(flags),
            help));
  }

  static {
    add(
        "status",
        0,
        0,
        List.of(),
        List.of(),
        List.of(),
        """
        usage: berth status

        One screen of truth: version, epoch, uptime and whether the broker is draining; per pool
        the limit, the effective limit (lower while rendering is degraded), leases in use and
        acquires queued; sessions; memory pressure; the degradation score; the hottest hosts; and
        the totals of grants and refusals by reason.
        """);
    add(
        "sessions",
        0,
        0,
        List.of("--worker", "--limit"),
        List.of(),
        List.of(),
        """
        usage: berth sessions [--worker W] [--limit N]

        Lists live sessions (connected, or disconnected but within their TTL), ordered by id.
          --worker W   only the sessions of worker W
          --limit N    show at most N (default 10000)
        """);
    add(
        "leases",
        0,
        0,
        List.of("--worker", "--kind", "--host", "--session", "--limit"),
        List.of(),
        List.of(),
        """
        usage: berth leases [--worker W] [--kind K] [--host H] [--session S] [--limit N]

        Lists live leases in grant order.
          --worker W    only leases held by worker W
          --kind K      render, pdf or wasm
          --host H      only leases for this host (RENDER and PDF)
          --session S   only leases of session S
          --limit N     show at most N (default 10000)
        """);
    add(
        "revoke",
        1,
        1,
        List.of("--reason", "--grace"),
        List.of(),
        List.of(),
        """
        usage: berth revoke LEASE_ID [--reason R] [--grace DUR]

        Ends a lease now. Its capacity returns at once and its holder is told over its session
        stream, with a grace period to stop using it.
          --reason R    admin (default), idle, memory_pressure or drain
          --grace DUR   how long the holder may still finish (default: the broker's, 5s)
        """);
    add(
        "drain",
        0,
        1,
        List.of("--deadline"),
        List.of(),
        List.of("--resume"),
        """
        usage: berth drain [SESSION] [--deadline DUR]
               berth drain --resume

        With SESSION: stops new grants to that session and tells its worker to finish.
        Without: stops new grants broker-wide (for maintenance) and tells every worker.
        Current leases are kept until released; acquires are refused DRAINING.
          --deadline DUR   how long workers have to finish (default: the broker's)
          --resume         lift a broker-wide drain
        """);
    add(
        "explain",
        0,
        0,
        List.of("--kind", "--url", "--session", "--module"),
        List.of(),
        List.of(),
        """
        usage: berth explain --kind K --session S [--url U] [--module M]

        Shows what Acquire would answer now for this request, every admission check with its
        verdict, and the rule that decides. Grants nothing and uses no host tokens.
        Exits 0 when the acquire would be granted and 4 when it would be refused.
          --kind K      render, pdf or wasm
          --session S   the session that would acquire
          --url U       the page (required for render; its host is rate-limited)
          --module M    the WASM module (default: the broker's)
        """);
    add(
        "watch",
        0,
        0,
        List.of("--count"),
        List.of("--type"),
        List.of(),
        """
        usage: berth watch [--type T ...] [--count N]

        Prints broker events as they happen, one line each, until interrupted.
          --type T    only events of this type; repeat or separate with commas. Types:
                      granted, released, expired, revoked, refused, pressure_on, pressure_off,
                      session_opened, session_expired, session_closed, session_resumed,
                      limits_updated, drain
          --count N   stop after N events
        A watcher that falls too far behind is dropped by the broker (exit 1).
        """);
    add(
        "limits set",
        0,
        0,
        List.of("--render", "--pdf", "--wasm", "--pressure-on", "--pressure-off"),
        List.of("--host"),
        List.of(),
        """
        usage: berth limits set [--render N] [--pdf N] [--wasm N]
                                [--host PATTERN=RATE[/BURST] ...]
                                [--pressure-on X --pressure-off Y]

        Changes limits live. Nothing changes unless every value is valid. Leases are kept: a
        lowered pool limit stops new grants until use falls below it.
          --render N, --pdf N, --wasm N   fleet-wide pool limits
          --host PATTERN=RATE[/BURST]     requests/s (and bucket size) for a host, a pattern
                                          like *.example.com, or * for the default
          --pressure-on X --pressure-off Y
                                          memory pressure thresholds, fractions with
                                          0 < off < on <= 1
        """);
    add(
        "help",
        0,
        2,
        List.of(),
        List.of(),
        List.of(),
        """
        usage: berth help [COMMAND]
        """);
  }

  /** The command called {@code name}, or null. */
  static Command command(String name) {
    return COMMANDS.get(name);
  }

  /** The help of {@code command}, or the global help for an empty or unknown name. */
  static String help(String command) {
    Command c = COMMANDS.get(command);
    return c == null ? GLOBAL : c.help();
  }
}
