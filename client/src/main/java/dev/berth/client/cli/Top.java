package dev.berth.client.cli;

import dev.berth.client.cli.options.Durations;
import dev.berth.client.internal.ProtoTime;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.SessionInfo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;

/**
 * One frame of {@code berth top}: a header, the pools with a bar of use against the effective
 * limit, the hottest hosts and the busiest sessions, as plain text lines without escape codes. A
 * pure function of the status, the sessions and the time given, so tests pin it. From a follower's
 * replica ({@code BrokerStatus.from_replica}) a pool's WAITING is {@value Views#UNKNOWN} and a
 * {@code view} line under the header says whose figures these are, as in {@code berth status}; a
 * session's JOB is the job it runs as, with its {@code job} label beside when that differs, as in
 * the dashboard. Stateless.
 */
final class Top {
  private Top() {}

  /** The width of a pool's bar, between its brackets. */
  static final int BAR = 30;

  private static final DateTimeFormatter CLOCK =
      DateTimeFormatter.ofPattern("HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

  /** The busiest first: most leases, then most memory, then by id for a stable order. */
  static final Comparator<SessionInfo> BUSIEST =
      Comparator.comparingLong(SessionInfo::getLeases)
          .thenComparingLong(SessionInfo::getMemoryUsedMb)
          .reversed()
          .thenComparing(SessionInfo::getSessionId);

  /**
   * The frame's text, lines ending in a newline.
   *
   * @param maxRows at most this many hot hosts and this many sessions
   */
  static String frame(
      BrokerStatus s, List<SessionInfo> sessions, String broker, Instant now, int maxRows) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    out.println(
        "berth top  "
            + broker
            + "  "
            + s.getVersion()
            + "  epoch "
            + s.getBrokerEpoch()
            + "  up "
            + Durations.format(ProtoTime.duration(s.getUptime()))
            + "  "
            + CLOCK.format(now)
            + (s.getDraining() ? "  DRAINING" : ""));
    if (s.getFromReplica()) {
      out.println("view     " + Views.replicaView(s.getCluster()));
    }
    out.println(
        "sessions "
            + s.getSessions().getLive()
            + " live, "
            + s.getSessions().getDisconnected()
            + " disconnected   pressure "
            + Views.pressure(s.getPressure())
            + "   degradation "
            + Text.ratio(s.getDegradationScore()));
    out.println();
    Table pools = new Table("POOL", "USE", "IN_USE>", "EFFECTIVE>", "LIMIT>", "WAITING>", "NOTE");
    for (PoolStatus p : s.getPoolsList()) {
      pools.row(
          Text.name(p.getKind()),
          bar(p.getInUse(), p.getEffectiveLimit()),
          p.getInUse(),
          p.getEffectiveLimit(),
          p.getLimit(),
          Views.queued(p, s.getFromReplica()),
          p.getEffectiveReason());
    }
    pools.print(out);
    out.println();
    Views.hotHosts(s.getHotHostsList(), maxRows, out);
    out.println();
    busiest(sessions, now, maxRows, out);
    out.println();
    out.println("totals   " + s.getTotals().getGrants() + " grants; refusals " + Views.refusals(s));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /**
   * {@code [#####.....]}: the share of the effective limit in use; {@code !} at the end when more
   * is in use than the effective limit allows (it was lowered under held leases).
   */
  static String bar(long inUse, long effective) {
    if (effective <= 0) {
      return "[" + (inUse > 0 ? "!" : "") + " ".repeat(inUse > 0 ? BAR - 1 : BAR) + "]";
    }
    int filled = (int) Math.min(BAR, Math.round((double) inUse * BAR / effective));
    String bar = "#".repeat(filled) + ".".repeat(BAR - filled);
    if (inUse > effective) {
      bar = bar.substring(0, BAR - 1) + "!";
    }
    return "[" + bar + "]";
  }

  private static void busiest(
      List<SessionInfo> sessions, Instant now, int maxRows, PrintStream out) {
    if (sessions.isEmpty()) {
      out.println("sessions none");
      return;
    }
    List<SessionInfo> shown = sessions.stream().sorted(BUSIEST).limit(maxRows).toList();
    Table table =
        new Table("SESSION", "WORKER", "STATE", "LEASES>", "MEMORY_MB>", "HEARTBEAT", "JOB");
    for (SessionInfo x : shown) {
      String state = x.getConnected() ? "connected" : "disconnected";
      if (x.getDraining()) {
        state += ",draining";
      }
      table.row(
          x.getSessionId(),
          x.getWorkerId(),
          state,
          x.getLeases(),
          x.getMemoryLimitMb() > 0
              ? x.getMemoryUsedMb() + "/" + x.getMemoryLimitMb()
              : String.valueOf(x.getMemoryUsedMb()),
          Text.ago(x.getLastHeartbeatAt(), now),
          Views.jobAndLabel(x));
    }
    table.print(out);
    if (sessions.size() > shown.size()) {
      out.println("(" + (sessions.size() - shown.size()) + " quieter sessions not shown)");
    }
  }
}
