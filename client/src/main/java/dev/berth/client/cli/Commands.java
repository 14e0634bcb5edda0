package dev.berth.client.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import dev.berth.client.cli.options.ConnectionOptions;
import dev.berth.client.cli.options.Durations;
import dev.berth.client.cli.options.Failures;
import dev.berth.client.internal.ProtoTime;
import dev.berth.common.CommandLines;
import dev.berth.common.DurationConverter;
import dev.berth.common.Pools;
import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.DrainBrokerRequest;
import dev.berth.proto.v1.DrainBrokerResponse;
import dev.berth.proto.v1.DrainSessionRequest;
import dev.berth.proto.v1.DrainSessionResponse;
import dev.berth.proto.v1.Explanation;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.HostRate;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ListLeasesResponse;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.ListSessionsResponse;
import dev.berth.proto.v1.ListWaitingRequest;
import dev.berth.proto.v1.ListWaitingResponse;
import dev.berth.proto.v1.PoolLimit;
import dev.berth.proto.v1.PressureThresholds;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.RevokeLeaseRequest;
import dev.berth.proto.v1.RevokeLeaseResponse;
import dev.berth.proto.v1.RevokeReason;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.proto.v1.UpdateLimitsResponse;
import dev.berth.proto.v1.WatchEventsRequest;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * The admin commands of {@code berth}, one picocli command each: every one calls the broker's
 * {@code BrokerAdmin} service and prints its answer, as a table for people or, with {@code --json},
 * the answer itself in protobuf JSON for scripts. gRPC failures become one line on stderr and an
 * exit code, in {@link Failures}.
 *
 * <p>Each command object is used for one command line; none is thread-safe.
 */
final class Commands {
  static final String JSON_HELP =
      "Machine-readable output: one JSON document per command (watch: one JSON object per line).";

  static final int MAX_PAGE = 1000;
  private static final long UINT32_MAX = 0xffff_ffffL;
  static final int MAX_LISTED = 1_000_000;

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().alwaysPrintFieldsWithNoPresence();
  private static final JsonFormat.Printer JSON_LINE = JSON.omittingInsignificantWhitespace();

  private Commands() {}

  static String toJson(JsonFormat.Printer printer, MessageOrBuilder message) {
    try {
      return printer.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + message.getClass().getSimpleName(), e);
    }
  }

  /**
   * What every admin command shares: the connection options, {@code --json}, and the run: read the
   * options, open one channel, call, print, and turn a failed call into its exit code.
   */
  abstract static class AdminCommand implements Callable<Integer> {
    @Mixin ConnectionOptions connection;

    @Option(names = "--json", order = 90, description = JSON_HELP)
    boolean json;

    @Spec CommandSpec spec;

    PrintStream out;
    PrintStream err;
    Berth berth;

    @Override
    public final Integer call() {
      berth = (Berth) spec.root().userObject();
      out = berth.out;
      err = berth.err;
      json |= berth.json;
      check();
      ConnectionOptions.Settings settings = connection.resolve(berth.env);
      Connection broker;
      try {
        broker = Connection.open(settings);
      } catch (IllegalArgumentException e) {
        throw usage(e.getMessage()); // a TLS file that cannot be used, named by its option
      }
      try (broker) {
        for (int attempt = 0; ; attempt++) {
          try {
            return run(broker);
          } catch (StatusRuntimeException e) {
            // A cluster member that does not lead refuses changes, naming the leader; one that is
            // down sends a read to the next member. Nothing was done, so running again is safe,
            // unless the command says otherwise.
            if (!mayRunAgainAfter(e) || !broker.reroute(e, attempt)) {
              Failures.Report report = Failures.of(e, broker.target(), settings.timeout());
              err.println(report.message());
              return report.exitCode();
            }
          }
        }
      }
    }

    /** Checks what picocli cannot: options that go together or exclude each other. */
    void check() {}

    /**
     * Whether the command may be sent again (to the leader or the next member) after {@code error}:
     * yes by default, since a refused or unreachable call did nothing.
     */
    boolean mayRunAgainAfter(StatusRuntimeException error) {
      return true;
    }

    /** Calls the broker and prints the answer; returns the exit code. */
    abstract int run(Connection broker);

    ParameterException usage(String message) {
      return CommandLines.usage(spec, message);
    }

    void print(MessageOrBuilder message) {
      out.println(toJson(JSON, message));
    }
  }

  // ------------------------------------------------------------ status and listings

  /** One page of a listing, and the token of the next ("" at the end). */
  record Page<T>(List<T> items, String next) {}

  /** A command that lists what the broker pages through: up to {@code --limit} items. */
  abstract static class Listing extends AdminCommand {
    @Option(
        names = "--limit",
        paramLabel = "N",
        order = 50,
        description = "Show at most N (default ${DEFAULT-VALUE}).")
    long limit = 10_000;

    @Override
    void check() {
      CommandLines.range(spec, "--limit", limit, 1, MAX_LISTED);
    }

    /**
     * Adds pages to {@code all} until the listing ends or {@code --limit} is reached; {@code fetch}
     * reads one page of a size for a token. Returns the token of what was not read, "" for nothing.
     */
    <T> String follow(List<T> all, BiFunction<Integer, String, Page<T>> fetch) {
      String token = "";
      do {
        Page<T> page = fetch.apply(pageSize(limit - all.size()), token);
        all.addAll(page.items());
        token = page.next();
      } while (!token.isEmpty() && all.size() < limit);
      return token;
    }

    void more(String token) {
      if (!token.isEmpty()) {
        out.println("(more not shown; raise --limit)");
      }
    }

    private static int pageSize(long left) {
      return (int) Math.min(MAX_PAGE, left);
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = {
        "Pools, sessions, pressure, hot hosts and totals.",
        "",
        "One screen of truth: version, epoch, uptime and whether the broker is draining; per pool"
            + " the limit, the effective limit (lower while rendering is degraded), leases in use"
            + " and acquires queued; sessions; memory pressure; the degradation score; the hottest"
            + " hosts; and the totals of grants and refusals by reason."
      })
  static final class Status extends AdminCommand {
    @Override
    int run(Connection broker) {
      BrokerStatus status = broker.admin().getStatus(GetStatusRequest.getDefaultInstance());
      if (json) {
        print(status);
      } else {
        Views.status(status, broker.target(), out);
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "sessions",
      mixinStandardHelpOptions = true,
      description = {
        "Live sessions.",
        "",
        "Lists live sessions (connected, or disconnected but within their TTL), ordered by id."
      })
  static final class Sessions extends Listing {
    @Option(names = "--worker", paramLabel = "W", description = "Only the sessions of worker W.")
    String worker = "";

    @Override
    int run(Connection broker) {
      List<SessionInfo> all = new ArrayList<>();
      String rest =
          follow(
              all,
              (size, token) -> {
                ListSessionsResponse page =
                    broker
                        .admin()
                        .listSessions(
                            ListSessionsRequest.newBuilder()
                                .setWorkerId(worker)
                                .setPageSize(size)
                                .setPageToken(token)
                                .build());
                return new Page<>(page.getSessionsList(), page.getNextPageToken());
              });
      if (json) {
        print(ListSessionsResponse.newBuilder().addAllSessions(all).setNextPageToken(rest));
      } else {
        Views.sessions(all, berth.clock.instant(), out);
        more(rest);
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "leases",
      mixinStandardHelpOptions = true,
      description = {"Live leases, in grant order."})
  static final class Leases extends Listing {
    @Option(names = "--worker", paramLabel = "W", description = "Only leases held by worker W.")
    String worker = "";

    @Option(
        names = "--kind",
        paramLabel = "K",
        converter = Text.Kinds.class,
        completionCandidates = Text.Kinds.class,
        description = "Only leases of this kind: ${COMPLETION-CANDIDATES}.")
    ResourceKind kind;

    @Option(
        names = "--host",
        paramLabel = "H",
        description = "Only leases for this host (RENDER and PDF).")
    String host = "";

    @Option(names = "--session", paramLabel = "S", description = "Only leases of session S.")
    String session = "";

    @Override
    int run(Connection broker) {
      ListLeasesRequest.Builder request =
          ListLeasesRequest.newBuilder().setWorkerId(worker).setHost(host).setSessionId(session);
      if (kind != null) {
        request.setKind(kind);
      }
      List<LeaseInfo> all = new ArrayList<>();
      String rest =
          follow(
              all,
              (size, token) -> {
                ListLeasesResponse page =
                    broker
                        .admin()
                        .listLeases(request.setPageSize(size).setPageToken(token).build());
                return new Page<>(page.getLeasesList(), page.getNextPageToken());
              });
      if (json) {
        print(ListLeasesResponse.newBuilder().addAllLeases(all).setNextPageToken(rest));
      } else {
        Views.leases(all, berth.clock.instant(), out);
        more(rest);
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "waiting",
      mixinStandardHelpOptions = true,
      description = {
        "Acquires waiting now, the oldest first, and what holds each back.",
        "",
        "Each line is one waiting acquire or bundle: how long it has waited and may still wait,"
            + " what it asks for, its worker, job and priority, and the refusal it would get if its"
            + " wait ended now (the pool, a host's rate, memory pressure...). Only the serving"
            + " broker has a wait queue; in a cluster the leader answers."
      })
  static final class Waiting extends AdminCommand {
    @Option(
        names = "--kind",
        paramLabel = "K",
        converter = Text.Kinds.class,
        completionCandidates = Text.Kinds.class,
        description = "Only requests that ask for this kind: ${COMPLETION-CANDIDATES}.")
    ResourceKind kind;

    @Option(names = "--job", paramLabel = "J", description = "Only requests of job J.")
    String job = "";

    @Option(names = "--host", paramLabel = "H", description = "Only requests for host H.")
    String host = "";

    @Option(names = "--session", paramLabel = "S", description = "Only requests of session S.")
    String session = "";

    @Option(
        names = "--limit",
        paramLabel = "N",
        order = 50,
        description = "Show at most N, 1.." + MAX_PAGE + " (default ${DEFAULT-VALUE}).")
    long limit = 100;

    @Override
    void check() {
      CommandLines.range(spec, "--limit", limit, 1, MAX_PAGE);
    }

    @Override
    int run(Connection broker) {
      ListWaitingRequest.Builder request =
          ListWaitingRequest.newBuilder()
              .setJob(job)
              .setHost(host)
              .setSessionId(session)
              .setLimit((int) limit);
      if (kind != null) {
        request.setKind(kind);
      }
      ListWaitingResponse list = broker.admin().listWaiting(request.build());
      if (json) {
        print(list);
      } else {
        Views.waiting(list, out);
      }
      return ExitCode.OK;
    }
  }

  // ------------------------------------------------------------ interventions

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = {
        "End a lease now; its holder is told.",
        "",
        "Its capacity returns at once and its holder is told over its session stream, with a grace"
            + " period to stop using it."
      })
  static final class Revoke extends AdminCommand {
    @Parameters(paramLabel = "LEASE_ID", description = "The lease to end.")
    String leaseId;

    @Option(
        names = "--reason",
        paramLabel = "R",
        converter = Text.RevokeReasons.class,
        completionCandidates = Text.RevokeReasons.class,
        description = "Why: ${COMPLETION-CANDIDATES} (default admin).")
    RevokeReason reason = RevokeReason.REVOKE_REASON_ADMIN;

    @Option(
        names = "--grace",
        paramLabel = "DUR",
        converter = DurationConverter.class,
        description = "How long the holder may still finish (default: the broker's, 5s).")
    Duration grace;

    @Override
    int run(Connection broker) {
      RevokeLeaseRequest.Builder request =
          RevokeLeaseRequest.newBuilder().setLeaseId(leaseId).setReason(reason);
      if (grace != null) {
        request.setGrace(ProtoTime.proto(grace));
      }
      RevokeLeaseResponse response = broker.admin().revokeLease(request.build());
      if (json) {
        print(response);
      } else if (response.getRevoked()) {
        out.println(
            "revoked lease "
                + leaseId
                + " ("
                + Text.name(reason)
                + "): its capacity is free again; the holder was told to stop within "
                + (grace != null ? Durations.format(grace) : "the broker's grace period"));
      } else {
        out.println(
            "lease " + leaseId + " had already ended (" + Text.name(response.getEndedBy()) + ")");
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "drain",
      mixinStandardHelpOptions = true,
      description = {
        "Stop new grants to one session, or to the whole broker.",
        "",
        "With SESSION: stops new grants to that session and tells its worker to finish. Without:"
            + " stops new grants broker-wide (for maintenance) and tells every worker. Current"
            + " leases are kept until released; acquires are refused DRAINING."
      })
  static final class Drain extends AdminCommand {
    @Parameters(
        paramLabel = "SESSION",
        arity = "0..1",
        description = "The session to drain; none for the whole broker.")
    String session; // null when not given: the whole broker

    @Option(
        names = "--deadline",
        paramLabel = "DUR",
        converter = DurationConverter.class,
        description = "How long workers have to finish (default: the broker's).")
    Duration deadline;

    @Option(names = "--resume", description = "Lift a broker-wide drain.")
    boolean resume;

    @Override
    void check() {
      // An empty SESSION is most often an unset shell variable ("$SID"): a mistake, never a
      // request to drain the whole broker, which only an absent SESSION asks for.
      if (session != null && session.isBlank()) {
        throw usage("SESSION: must not be empty; omit it to drain the whole broker");
      }
      if (resume && session != null) {
        throw usage("--resume lifts a broker-wide drain and takes no SESSION");
      }
      if (resume && deadline != null) {
        throw usage("--resume takes no --deadline");
      }
    }

    @Override
    int run(Connection broker) {
      if (session != null) {
        DrainSessionRequest.Builder request =
            DrainSessionRequest.newBuilder().setSessionId(session);
        if (deadline != null) {
          request.setDeadline(ProtoTime.proto(deadline));
        }
        DrainSessionResponse response = broker.admin().drainSession(request.build());
        if (json) {
          print(response);
        } else {
          out.println(
              "draining session "
                  + session
                  + ": new grants are refused and its worker was told to finish; it still holds "
                  + leases(response.getLeasesHeld()));
        }
        return ExitCode.OK;
      }
      DrainBrokerRequest.Builder request = DrainBrokerRequest.newBuilder().setResume(resume);
      if (deadline != null) {
        request.setDeadline(ProtoTime.proto(deadline));
      }
      DrainBrokerResponse response = broker.admin().drainBroker(request.build());
      if (json) {
        print(response);
      } else if (resume) {
        out.println(
            "drain lifted: the broker grants again ("
                + response.getSessions()
                + " sessions, "
                + leases(response.getLeasesHeld())
                + "; sessions drained one by one stay drained)");
      } else {
        out.println(
            "draining the broker: new grants are refused and "
                + response.getSessions()
                + " sessions were told to finish; "
                + leases(response.getLeasesHeld())
                + " still held");
        out.println("lift it with: berth drain --resume");
      }
      return ExitCode.OK;
    }

    private static String leases(long n) {
      return n + (n == 1 ? " lease" : " leases");
    }
  }

  @Command(
      name = "explain",
      mixinStandardHelpOptions = true,
      description = {
        "What an acquire (or a bundle) would be answered now, and why.",
        "",
        "Shows what Acquire would answer now for this request, every admission check with its"
            + " verdict, and the rule that decides. Grants nothing and uses no host tokens. Exits 0"
            + " when the acquire would be granted and 4 when it would be refused.",
        "",
        "Repeat --kind (2 to 8 times) to explain a bundle as AcquireBundle would answer it: each"
            + " item checked as if the items before it were granted, its steps prefixed items[i]."
            + " --url applies to every render item, --module to the wasm item."
      })
  static final class Explain extends AdminCommand {
    @Option(
        names = "--kind",
        paramLabel = "K",
        required = true,
        converter = Text.Kinds.class,
        completionCandidates = Text.Kinds.class,
        description =
            "What to acquire: ${COMPLETION-CANDIDATES}; repeat it for a bundle (e.g. --kind render"
                + " --kind pdf).")
    List<ResourceKind> kinds;

    @Option(
        names = "--session",
        paramLabel = "S",
        required = true,
        description = "The session that would acquire.")
    String session;

    @Option(
        names = "--url",
        paramLabel = "U",
        description = "The page (required for render; its host is rate-limited).")
    String url = "";

    @Option(
        names = "--module",
        paramLabel = "M",
        description = "The WASM module (default: the broker's).")
    String module = "";

    @Override
    int run(Connection broker) {
      Explanation explanation;
      if (kinds.size() == 1) {
        explanation = broker.admin().explain(item(kinds.get(0)).setSessionId(session).build());
      } else {
        AcquireBundleRequest.Builder bundle =
            AcquireBundleRequest.newBuilder().setSessionId(session);
        for (ResourceKind kind : kinds) {
          bundle.addItems(item(kind));
        }
        explanation = broker.admin().explainBundle(bundle.build());
      }
      if (json) {
        print(explanation);
      } else {
        Views.explanation(explanation, out);
      }
      return explanation.getWouldGrant() ? ExitCode.OK : ExitCode.WOULD_REFUSE;
    }

    /** One item: the url only on a render item, the module only on a wasm item. */
    private AcquireRequest.Builder item(ResourceKind kind) {
      AcquireRequest.Builder item = AcquireRequest.newBuilder().setKind(kind);
      if (kinds.size() == 1 || kind == ResourceKind.RESOURCE_KIND_RENDER) {
        item.setUrl(url);
      }
      if (kinds.size() == 1 || kind == ResourceKind.RESOURCE_KIND_WASM) {
        item.setModule(module);
      }
      return item;
    }
  }

  @Command(
      name = "limits",
      mixinStandardHelpOptions = true,
      synopsisSubcommandLabel = "set",
      description = {"limits set: change pool limits, host rates and pressure live."})
  static final class Limits implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      throw CommandLines.usage(spec, "'limits' needs a subcommand: berth limits set ...");
    }
  }

  @Command(
      name = "set",
      mixinStandardHelpOptions = true,
      description = {
        "Change limits live; leases are kept.",
        "",
        "Nothing changes unless every value is valid. A lowered pool limit stops new grants until"
            + " use falls below it."
      })
  static final class LimitsSet extends AdminCommand {
    @Option(names = "--render", paramLabel = "N", description = "The fleet-wide RENDER limit.")
    Long render;

    @Option(names = "--pdf", paramLabel = "N", description = "The fleet-wide PDF limit.")
    Long pdf;

    @Option(names = "--wasm", paramLabel = "N", description = "The fleet-wide WASM limit.")
    Long wasm;

    @Option(
        names = "--host",
        paramLabel = "PATTERN=RATE[/BURST]",
        split = ",",
        converter = HostRates.class,
        description =
            "Requests/s (and bucket size) for a host, a pattern like *.example.com, or * for the"
                + " default; repeat for more.")
    List<HostRate> hosts = new ArrayList<>();

    @Option(
        names = "--pressure-on",
        paramLabel = "X",
        description = "Memory pressure starts at this fraction; with --pressure-off.")
    Double pressureOn;

    @Option(
        names = "--pressure-off",
        paramLabel = "Y",
        description = "... and ends at this one; 0 < off < on <= 1.")
    Double pressureOff;

    private final UpdateLimitsRequest.Builder request = UpdateLimitsRequest.newBuilder();

    @Override
    void check() {
      pool(ResourceKind.RESOURCE_KIND_RENDER, "--render", render);
      pool(ResourceKind.RESOURCE_KIND_PDF, "--pdf", pdf);
      pool(ResourceKind.RESOURCE_KIND_WASM, "--wasm", wasm);
      request.addAllHostRates(hosts);
      if ((pressureOn == null) != (pressureOff == null)) {
        throw usage("--pressure-on and --pressure-off go together");
      }
      if (pressureOn != null) {
        request.setPressure(PressureThresholds.newBuilder().setOn(pressureOn).setOff(pressureOff));
      }
      if (request.getPoolsCount() == 0 && request.getHostRatesCount() == 0 && pressureOn == null) {
        throw usage(
            "nothing to change: give --render, --pdf, --wasm, --host or"
                + " --pressure-on/--pressure-off");
      }
    }

    private void pool(ResourceKind kind, String option, Long limit) {
      if (limit != null) {
        CommandLines.range(spec, option, limit, 0, Pools.MAX_LIMIT);
        request.addPools(PoolLimit.newBuilder().setKind(kind).setLimit(limit.intValue()));
      }
    }

    @Override
    int run(Connection broker) {
      UpdateLimitsResponse response = broker.admin().updateLimits(request.build());
      if (json) {
        print(response);
      } else {
        out.println("limits updated: " + describe(request));
        out.println();
        Views.pools(response.getStatus().getPoolsList(), out);
      }
      return ExitCode.OK;
    }

    private static String describe(UpdateLimitsRequest.Builder request) {
      List<String> parts = new ArrayList<>();
      for (PoolLimit pool : request.getPoolsList()) {
        parts.add(
            Text.name(pool.getKind()) + " limit " + Integer.toUnsignedString(pool.getLimit()));
      }
      for (HostRate rate : request.getHostRatesList()) {
        parts.add(
            "host "
                + rate.getPattern()
                + " "
                + Text.rate(rate.getRatePerSecond())
                + "/s"
                + (rate.getBurst() > 0
                    ? " burst " + Integer.toUnsignedString(rate.getBurst())
                    : ""));
      }
      if (request.hasPressure()) {
        parts.add(
            "pressure on "
                + Text.ratio(request.getPressure().getOn())
                + " off "
                + Text.ratio(request.getPressure().getOff()));
      }
      return String.join(", ", parts);
    }
  }

  /** Reads {@code PATTERN=RATE[/BURST]}. */
  static final class HostRates implements ITypeConverter<HostRate> {
    @Override
    public HostRate convert(String spec) {
      int eq = spec.indexOf('=');
      if (eq <= 0 || eq == spec.length() - 1) {
        throw new TypeConversionException(
            "must be PATTERN=RATE[/BURST], e.g. example.com=5/10; got '" + spec + "'");
      }
      String pattern = spec.substring(0, eq).trim();
      String value = spec.substring(eq + 1).trim();
      String burst = null;
      int slash = value.indexOf('/');
      if (slash >= 0) {
        burst = value.substring(slash + 1);
        value = value.substring(0, slash);
      }
      HostRate.Builder rate = HostRate.newBuilder().setPattern(pattern);
      try {
        rate.setRatePerSecond(Double.parseDouble(value));
      } catch (NumberFormatException e) {
        throw new TypeConversionException(
            pattern + ": the rate must be a number of requests/s, got '" + value + "'");
      }
      if (burst != null) {
        long b;
        try {
          b = Long.parseLong(burst.trim());
        } catch (NumberFormatException e) {
          b = 0;
        }
        if (b < 1 || b > UINT32_MAX) {
          throw new TypeConversionException(
              pattern + ": the burst must be a whole number >= 1, got '" + burst + "'");
        }
        rate.setBurst((int) b);
      }
      return rate.build();
    }
  }

  // ------------------------------------------------------------ watch

  @Command(
      name = "watch",
      mixinStandardHelpOptions = true,
      description = {
        "Print broker events as they happen.",
        "",
        "One line each, until interrupted. A watcher that falls too far behind is dropped by the"
            + " broker (exit 1)."
      })
  static final class Watch extends AdminCommand {
    @Option(
        names = "--type",
        paramLabel = "T",
        split = ",",
        converter = Text.EventTypes.class,
        completionCandidates = Text.EventTypes.class,
        description =
            "Only events of this type; repeat or separate with commas. Types:"
                + " ${COMPLETION-CANDIDATES}.")
    List<BrokerEventType> types = new ArrayList<>();

    @Option(names = "--count", paramLabel = "N", description = "Stop after N events.")
    Long count;

    @Override
    void check() {
      if (count != null) {
        CommandLines.range(spec, "--count", count, 1, Long.MAX_VALUE);
      }
    }

    @Override
    int run(Connection broker) {
      WatchEventsRequest request = WatchEventsRequest.newBuilder().addAllTypes(types).build();
      if (!json) {
        err.println("watching events at " + broker.target() + " (Ctrl-C to stop)");
      }
      Context.CancellableContext watching = Context.current().withCancellation();
      Context previous = watching.attach();
      try {
        Iterator<BrokerEvent> events = broker.streaming().watchEvents(request);
        long seen = 0;
        while (events.hasNext()) {
          BrokerEvent event = events.next();
          out.println(json ? toJson(JSON_LINE, event) : Views.event(event));
          out.flush();
          if (count != null && ++seen >= count) {
            break;
          }
        }
        return ExitCode.OK;
      } finally {
        watching.detach(previous);
        watching.cancel(null); // ends the stream at the broker, which forgets this watcher
      }
    }
  }
}
