package dev.berth.client.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
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
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Runs one parsed command against the broker and prints its answer, as a table for people or as
 * JSON for scripts. gRPC failures are left to the caller, which maps them to exit codes once.
 *
 * <p>Not thread-safe; one per command.
 */
final class Commands {
  private static final int MAX_PAGE = 1000;
  private static final long UINT32_MAX = 0xffff_ffffL;

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().alwaysPrintFieldsWithNoPresence();
  private static final JsonFormat.Printer JSON_LINE = JSON.omittingInsignificantWhitespace();

  private final CommandLine line;
  private final Connection broker;
  private final PrintStream out;
  private final PrintStream err;
  private final boolean json;
  private final Clock clock;

  Commands(CommandLine line, Connection broker, PrintStream out, PrintStream err, Clock clock) {
    this.line = line;
    this.broker = broker;
    this.out = out;
    this.err = err;
    this.json = line.flag("--json");
    this.clock = clock;
  }

  /** Runs the command; returns its exit code. */
  int run() {
    return switch (line.command()) {
      case "status" -> status();
      case "sessions" -> sessions();
      case "leases" -> leases();
      case "revoke" -> revoke();
      case "drain" -> drain();
      case "explain" -> explain();
      case "watch" -> watch();
      case "limits set" -> limitsSet();
      default -> throw line.usage("unknown command '" + line.command() + "'");
    };
  }

  private void print(MessageOrBuilder message) {
    out.println(toJson(JSON, message));
  }

  static String toJson(JsonFormat.Printer printer, MessageOrBuilder message) {
    try {
      return printer.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + message.getClass().getSimpleName(), e);
    }
  }

  // ------------------------------------------------------------ status and listings

  private int status() {
    BrokerStatus status = broker.admin().getStatus(GetStatusRequest.getDefaultInstance());
    if (json) {
      print(status);
    } else {
      Views.status(status, broker.target(), out);
    }
    return ExitCode.OK;
  }

  private int sessions() {
    long limit = line.number("--limit", 1, 1_000_000, 10_000);
    String worker = line.value("--worker", "");
    List<SessionInfo> all = new ArrayList<>();
    String token = "";
    do {
      ListSessionsResponse page =
          broker
              .admin()
              .listSessions(
                  ListSessionsRequest.newBuilder()
                      .setWorkerId(worker)
                      .setPageSize(pageSize(limit - all.size()))
                      .setPageToken(token)
                      .build());
      all.addAll(page.getSessionsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty() && all.size() < limit);
    if (json) {
      print(ListSessionsResponse.newBuilder().addAllSessions(all).setNextPageToken(token));
    } else {
      Views.sessions(all, clock.instant(), out);
      more(token);
    }
    return ExitCode.OK;
  }

  private int leases() {
    long limit = line.number("--limit", 1, 1_000_000, 10_000);
    ListLeasesRequest.Builder request =
        ListLeasesRequest.newBuilder()
            .setWorkerId(line.value("--worker", ""))
            .setHost(line.value("--host", ""))
            .setSessionId(line.value("--session", ""));
    if (line.has("--kind")) {
      request.setKind(kind(line.value("--kind", "")));
    }
    List<LeaseInfo> all = new ArrayList<>();
    String token = "";
    do {
      ListLeasesResponse page =
          broker
              .admin()
              .listLeases(
                  request.setPageSize(pageSize(limit - all.size())).setPageToken(token).build());
      all.addAll(page.getLeasesList());
      token = page.getNextPageToken();
    } while (!token.isEmpty() && all.size() < limit);
    if (json) {
      print(ListLeasesResponse.newBuilder().addAllLeases(all).setNextPageToken(token));
    } else {
      Views.leases(all, clock.instant(), out);
      more(token);
    }
    return ExitCode.OK;
  }

  private static int pageSize(long left) {
    return (int) Math.min(MAX_PAGE, left);
  }

  private void more(String token) {
    if (!token.isEmpty()) {
      out.println("(more not shown; raise --limit)");
    }
  }

  private ResourceKind kind(String word) {
    try {
      return Text.parse(ResourceKind.class, word);
    } catch (IllegalArgumentException e) {
      throw line.usage("--kind " + e.getMessage());
    }
  }

  // ------------------------------------------------------------ interventions

  private int revoke() {
    String leaseId = line.arg(0);
    RevokeReason reason = RevokeReason.REVOKE_REASON_ADMIN;
    if (line.has("--reason")) {
      try {
        reason = Text.parse(RevokeReason.class, line.value("--reason", ""));
      } catch (IllegalArgumentException e) {
        throw line.usage("--reason " + e.getMessage());
      }
    }
    Duration grace = line.duration("--grace", null);
    RevokeLeaseRequest.Builder request =
        RevokeLeaseRequest.newBuilder().setLeaseId(leaseId).setReason(reason);
    if (grace != null) {
      request.setGrace(Text.proto(grace));
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

  private int drain() {
    boolean resume = line.flag("--resume");
    String session = line.arg(0);
    Duration deadline = line.duration("--deadline", null);
    if (resume && !session.isEmpty()) {
      throw line.usage("--resume lifts a broker-wide drain and takes no SESSION");
    }
    if (resume && deadline != null) {
      throw line.usage("--resume takes no --deadline");
    }
    if (!session.isEmpty()) {
      DrainSessionRequest.Builder request = DrainSessionRequest.newBuilder().setSessionId(session);
      if (deadline != null) {
        request.setDeadline(Text.proto(deadline));
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
      request.setDeadline(Text.proto(deadline));
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

  private int explain() {
    AcquireRequest.Builder request =
        AcquireRequest.newBuilder()
            .setSessionId(line.required("--session"))
            .setKind(kind(line.required("--kind")))
            .setUrl(line.value("--url", ""))
            .setModule(line.value("--module", ""));
    Explanation explanation = broker.admin().explain(request.build());
    if (json) {
      print(explanation);
    } else {
      Views.explanation(explanation, out);
    }
    return explanation.getWouldGrant() ? ExitCode.OK : ExitCode.WOULD_REFUSE;
  }

  private int limitsSet() {
    UpdateLimitsRequest.Builder request = UpdateLimitsRequest.newBuilder();
    for (ResourceKind kind :
        List.of(
            ResourceKind.RESOURCE_KIND_RENDER,
            ResourceKind.RESOURCE_KIND_PDF,
            ResourceKind.RESOURCE_KIND_WASM)) {
      String option = "--" + Text.name(kind).toLowerCase(Locale.ROOT);
      if (line.has(option)) {
        long limit = line.number(option, 0, UINT32_MAX, 0);
        request.addPools(PoolLimit.newBuilder().setKind(kind).setLimit((int) limit));
      }
    }
    for (String spec : line.values("--host")) {
      request.addHostRates(hostRate(spec));
    }
    Double on = line.decimal("--pressure-on");
    Double off = line.decimal("--pressure-off");
    if ((on == null) != (off == null)) {
      throw line.usage("--pressure-on and --pressure-off go together");
    }
    if (on != null) {
      request.setPressure(PressureThresholds.newBuilder().setOn(on).setOff(off));
    }
    if (request.getPoolsCount() == 0 && request.getHostRatesCount() == 0 && on == null) {
      throw line.usage(
          "nothing to change: give --render, --pdf, --wasm, --host or --pressure-on/--pressure-off");
    }
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

  /** Parses {@code PATTERN=RATE[/BURST]}. */
  HostRate hostRate(String spec) {
    int eq = spec.indexOf('=');
    if (eq <= 0 || eq == spec.length() - 1) {
      throw line.usage(
          "--host must be PATTERN=RATE[/BURST], e.g. example.com=5/10; got '" + spec + "'");
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
      throw line.usage(
          "--host " + pattern + ": the rate must be a number of requests/s, got '" + value + "'");
    }
    if (burst != null) {
      try {
        long b = Long.parseLong(burst.trim());
        if (b < 1 || b > UINT32_MAX) {
          throw new NumberFormatException();
        }
        rate.setBurst((int) b);
      } catch (NumberFormatException e) {
        throw line.usage(
            "--host " + pattern + ": the burst must be a whole number >= 1, got '" + burst + "'");
      }
    }
    return rate.build();
  }

  private static String describe(UpdateLimitsRequest.Builder request) {
    List<String> parts = new ArrayList<>();
    for (PoolLimit pool : request.getPoolsList()) {
      parts.add(Text.name(pool.getKind()) + " limit " + Integer.toUnsignedString(pool.getLimit()));
    }
    for (HostRate rate : request.getHostRatesList()) {
      parts.add(
          "host "
              + rate.getPattern()
              + " "
              + Text.rate(rate.getRatePerSecond())
              + "/s"
              + (rate.getBurst() > 0 ? " burst " + Integer.toUnsignedString(rate.getBurst()) : ""));
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

  // ------------------------------------------------------------ watch

  private int watch() {
    long count = line.number("--count", 1, Long.MAX_VALUE, 0);
    WatchEventsRequest.Builder request = WatchEventsRequest.newBuilder();
    for (String word : line.values("--type")) {
      try {
        request.addTypes(Text.parse(BrokerEventType.class, word));
      } catch (IllegalArgumentException e) {
        throw line.usage("--type " + e.getMessage());
      }
    }
    if (!json) {
      err.println("watching events at " + broker.target() + " (Ctrl-C to stop)");
    }
    Context.CancellableContext watching = Context.current().withCancellation();
    Context previous = watching.attach();
    try {
      Iterator<BrokerEvent> events = broker.streaming().watchEvents(request.build());
      long seen = 0;
      while (events.hasNext()) {
        BrokerEvent event = events.next();
        out.println(json ? toJson(JSON_LINE, event) : Views.event(event));
        out.flush();
        if (count > 0 && ++seen >= count) {
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
