package dev.berth.client.cli;

import dev.berth.client.cli.options.Durations;
import dev.berth.client.internal.ProtoTime;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.ClusterNode;
import dev.berth.proto.v1.ClusterRole;
import dev.berth.proto.v1.ExplainStep;
import dev.berth.proto.v1.Explanation;
import dev.berth.proto.v1.HostStatus;
import dev.berth.proto.v1.JobKindStatus;
import dev.berth.proto.v1.JobStatus;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListWaitingResponse;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.PressureStatus;
import dev.berth.proto.v1.RefusalCount;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.WaitingItem;
import dev.berth.proto.v1.WaitingRequest;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The human forms of admin answers: aligned tables and short lines. Pure functions of the message
 * and the time given, so tests can pin the output.
 */
final class Views {
  private Views() {}

  /** The status screen. */
  static void status(BrokerStatus s, String broker, PrintStream out) {
    out.println("broker       " + broker);
    if (s.getFromReplica()) {
      out.println("view         " + replicaView(s.getCluster()));
    }
    out.println("version      " + s.getVersion() + "   epoch " + s.getBrokerEpoch());
    out.println(
        "uptime       "
            + Durations.format(ProtoTime.duration(s.getUptime()))
            + " (since "
            + Text.time(s.getStartedAt())
            + ")");
    out.println(
        "draining     "
            + (s.getDraining()
                ? "YES (new grants refused; lift with: berth drain --resume)"
                : "no"));
    out.println();
    pools(s.getPoolsList(), s.getFromReplica(), out);
    out.println();
    if (jobs(s.getJobsList(), s.getFromReplica(), out)) {
      out.println();
    }
    out.println(
        "sessions     "
            + s.getSessions().getLive()
            + " live, "
            + s.getSessions().getDisconnected()
            + " disconnected");
    out.println("pressure     " + pressure(s.getPressure()));
    out.println("degradation  " + Text.ratio(s.getDegradationScore()) + " (0 healthy .. 1 broken)");
    out.println();
    hotHosts(s.getHotHostsList(), s.getHotHostsCount(), out);
    out.println();
    out.println("totals       " + s.getTotals().getGrants() + " grants; refusals " + refusals(s));
  }

  /**
   * The {@code view} line's text, printed where the figures are a replica's ({@code
   * BrokerStatus.from_replica}): on a follower, and on a leader whose epoch is not committed yet,
   * which does not serve and answers from its replica too. The replica holds sessions and leases
   * but not what only the serving leader sees: its queues, heartbeats' memory reports, degradation
   * and host rates. A follower names the leader it knows, with its API address.
   */
  static String replicaView(ClusterNode c) {
    boolean leads = c.getRole() == ClusterRole.CLUSTER_ROLE_LEADER;
    String whose;
    if (leads) {
      whose = "this member leads, but its epoch is not committed yet";
    } else if (c.getLeaderId().isEmpty()) {
      whose = "no leader known";
    } else {
      whose = "leader " + c.getLeaderId() + " at " + c.getLeaderApi();
    }
    return "replica of the leader's state ("
        + whose
        + ", "
        + c.getApplyLag()
        + (c.getApplyLag() == 1 ? " entry" : " entries")
        + " behind); waits, pressure, degradation and hot hosts: "
        + (leads ? "ask again once it serves" : "ask the leader");
  }

  /** The hottest hosts, at most {@code max} of them, or a line saying there is none. */
  static void hotHosts(List<HostStatus> hot, int max, PrintStream out) {
    if (hot.isEmpty()) {
      out.println("hot hosts    none");
      return;
    }
    Table hosts = new Table("HOST", "RATE/S>", "TOKENS>", "REFUSALS>", "REASON");
    for (HostStatus h : hot.subList(0, Math.min(max, hot.size()))) {
      hosts.row(
          h.getHost(),
          Text.rate(h.getRatePerSecond()),
          Text.rate(h.getTokens()),
          h.getRefusals(),
          h.getReason());
    }
    hosts.print(out);
  }

  /** A figure the answering node does not know: on a follower, what only the leader knows. */
  static final String UNKNOWN = "?";

  /** The pools table. */
  static void pools(List<PoolStatus> pools, PrintStream out) {
    pools(pools, false, out);
  }

  /**
   * The pools table; from a follower's replica ({@code fromReplica}), QUEUED is {@value #UNKNOWN}:
   * waits are the leader's.
   */
  static void pools(List<PoolStatus> pools, boolean fromReplica, PrintStream out) {
    Table table = new Table("KIND", "LIMIT>", "EFFECTIVE>", "IN_USE>", "QUEUED>", "REASON");
    for (PoolStatus p : pools) {
      table.row(
          Text.name(p.getKind()),
          p.getLimit(),
          p.getEffectiveLimit(),
          p.getInUse(),
          queued(p, fromReplica),
          p.getEffectiveReason());
    }
    table.print(out);
  }

  /**
   * A pool's acquires waiting, as the pools tables of {@code status} and {@code top} show them:
   * {@value #UNKNOWN} from a follower's replica ({@code fromReplica}), since waits are the
   * leader's.
   */
  static Object queued(PoolStatus p, boolean fromReplica) {
    return fromReplica ? UNKNOWN : p.getQueued();
  }

  /**
   * A job's min of a kind: as configured, then the min that applies now when the pool's usable part
   * scales it down (degraded, or slots held back after a change of leader), e.g. {@code 4 (2 now)};
   * from a follower's replica, which does not know the min that applies now, {@code 4 (? now)}.
   */
  private static String min(JobKindStatus k, boolean fromReplica) {
    if (k.getMin() == 0) {
      return "-";
    }
    if (fromReplica) {
      return k.getMin() + " (" + UNKNOWN + " now)";
    }
    return k.getGuaranteedMin() < k.getMin()
        ? k.getMin() + " (" + k.getGuaranteedMin() + " now)"
        : String.valueOf(k.getMin());
  }

  /**
   * The jobs table, one row per job and kind it holds, waits for or has a min or max in; nothing
   * when only a plain {@code default} job exists (no jobs configured). Returns whether it printed.
   * From a follower's replica ({@code fromReplica}: {@code BrokerStatus.from_replica}) HELD and
   * SHARE are the replica's, and what only the leader knows (WAITING, REFUSALS, FAIR and the min
   * that applies now) is {@value #UNKNOWN}, with a line under the table saying so.
   */
  static boolean jobs(List<JobStatus> jobs, boolean fromReplica, PrintStream out) {
    if (jobs.isEmpty()
        || (jobs.size() == 1
            && jobs.get(0).getWeight() == 1
            && jobs.get(0).getKindsList().stream()
                .allMatch(k -> k.getMin() == 0 && k.getMax() == 0))) {
      return false;
    }
    Table table =
        new Table(
            "JOB",
            "WEIGHT>",
            "WAITING>",
            "REFUSALS>",
            "KIND",
            "HELD>",
            "MIN>",
            "MAX>",
            "SHARE>",
            "FAIR>");
    for (JobStatus j : jobs) {
      Object waiting = fromReplica ? UNKNOWN : j.getWaiting();
      Object refusals = fromReplica ? UNKNOWN : j.getRefusals();
      boolean any = false;
      for (JobKindStatus k : j.getKindsList()) {
        if (k.getHeld() == 0 && k.getWaiting() == 0 && k.getMin() == 0 && k.getMax() == 0) {
          continue;
        }
        any = true;
        table.row(
            j.getName(),
            j.getWeight(),
            waiting,
            refusals,
            Text.name(k.getKind()),
            k.getHeld(),
            min(k, fromReplica),
            k.getMax() == 0 ? "-" : k.getMax(),
            Text.ratio(k.getShare()),
            fromReplica ? UNKNOWN : Text.ratio(k.getFairShare()));
      }
      if (!any) {
        table.row(j.getName(), j.getWeight(), waiting, refusals, "-", 0, "-", "-", "-", "-");
      }
    }
    table.print(out);
    if (fromReplica) {
      out.println(
          UNKNOWN
              + " the leader's only: waits, refusals, fair shares and the min that applies now;"
              + " HELD and SHARE are the replica's");
    }
    return true;
  }

  static String pressure(PressureStatus p) {
    StringBuilder b = new StringBuilder(Text.name(p.getLevel()));
    if (p.getFleetLimitMb() > 0) {
      b.append("   fleet ")
          .append(p.getFleetUsedMb())
          .append(" / ")
          .append(p.getFleetLimitMb())
          .append(" MB");
    } else {
      b.append("   fleet ").append(p.getFleetUsedMb()).append(" MB used, no limit known");
    }
    if (!p.getTrigger().isEmpty()) {
      b.append("   (").append(p.getTrigger()).append(")");
    }
    return b.toString();
  }

  static String refusals(BrokerStatus s) {
    List<String> parts = new ArrayList<>();
    long total = 0;
    for (RefusalCount r : s.getTotals().getRefusalsList()) {
      parts.add(Text.name(r.getReason()) + " " + r.getCount());
      total += r.getCount();
    }
    return total + (parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")");
  }

  /** The sessions table. */
  static void sessions(List<SessionInfo> sessions, Instant now, PrintStream out) {
    if (sessions.isEmpty()) {
      out.println("no sessions");
      return;
    }
    Table table =
        new Table(
            "SESSION",
            "WORKER",
            "JOB",
            "STATE",
            "LEASES>",
            "MEMORY_MB>",
            "HEARTBEAT",
            "OPENED",
            "LABELS");
    for (SessionInfo s : sessions) {
      // A follower lists its replica, which knows no heartbeat: only the leader sees the stream.
      String state =
          s.getConnected() ? "connected" : s.hasLastHeartbeatAt() ? "disconnected" : "replicated";
      if (s.getDraining()) {
        state += ",draining";
      }
      String memory =
          s.getMemoryLimitMb() > 0
              ? s.getMemoryUsedMb() + "/" + s.getMemoryLimitMb()
              : s.getMemoryUsedMb() > 0 ? String.valueOf(s.getMemoryUsedMb()) : "-";
      table.row(
          s.getSessionId(),
          s.getWorkerId(),
          job(s),
          state,
          s.getLeases(),
          memory,
          Text.ago(s.getLastHeartbeatAt(), now),
          Text.time(s.getOpenedAt()),
          labels(s.getLabelsMap()));
    }
    table.print(out);
    out.println(sessions.size() + (sessions.size() == 1 ? " session" : " sessions"));
  }

  /** The job a session runs as ({@code SessionInfo.job}), {@code -} when the answer has none. */
  private static String job(SessionInfo s) {
    return s.getJob().isEmpty() ? "-" : s.getJob();
  }

  /**
   * The job a session runs as ({@link #job}), followed by its {@code job} label when that says
   * something else, e.g. {@code default (label nightly-crawl)} for a label that names no configured
   * job; as the dashboard's Sessions show it.
   */
  static String jobAndLabel(SessionInfo s) {
    String label = s.getLabelsOrDefault("job", "");
    return label.isEmpty() || label.equals(s.getJob()) ? job(s) : job(s) + " (label " + label + ")";
  }

  private static String labels(Map<String, String> labels) {
    List<String> parts = new ArrayList<>();
    new TreeMap<>(labels).forEach((k, v) -> parts.add(k + "=" + v));
    return parts.isEmpty() ? "-" : String.join(",", parts);
  }

  /** The leases table. */
  static void leases(List<LeaseInfo> leases, Instant now, PrintStream out) {
    if (leases.isEmpty()) {
      out.println("no leases");
      return;
    }
    Table table =
        new Table(
            "LEASE",
            "KIND",
            "TARGET",
            "WORKER",
            "SESSION",
            "TOKEN>",
            "MEMORY_MB>",
            "GRANTED",
            "EXPIRES");
    for (LeaseInfo info : leases) {
      Lease l = info.getLease();
      String target = !l.getHost().isEmpty() ? l.getHost() : l.getModule();
      table.row(
          l.getLeaseId(),
          Text.name(l.getKind()),
          target.isEmpty() ? "-" : target,
          info.getWorkerId(),
          l.getSessionId(),
          Long.toUnsignedString(l.getFencingToken()),
          l.getMemoryMb(),
          Text.ago(l.getGrantedAt(), now),
          Text.until(l.getExpiresAt(), now));
    }
    table.print(out);
    out.println(leases.size() + (leases.size() == 1 ? " lease" : " leases"));
  }

  /**
   * Waiting acquires and bundles, the oldest first: what each asks for, who asks, how long it has
   * waited and may still wait, and the rule that holds it back, with its sentence.
   */
  static void waiting(ListWaitingResponse list, PrintStream out) {
    if (list.getWaitingCount() == 0) {
      out.println(list.getTotal() == 0 ? "nothing waiting" : list.getTotal() + " waiting");
      return;
    }
    Table table =
        new Table("WAITED>", "LEFT>", "KIND", "TARGET", "WORKER", "JOB", "PRIORITY>", "HELD BY");
    for (WaitingRequest w : list.getWaitingList()) {
      List<String> kinds = new ArrayList<>();
      List<String> targets = new ArrayList<>();
      for (WaitingItem item : w.getItemsList()) {
        kinds.add(Text.name(item.getKind()));
        String target = !item.getHost().isEmpty() ? item.getHost() : item.getModule();
        targets.add(target.isEmpty() ? "-" : target);
      }
      table.row(
          Durations.format(ProtoTime.duration(w.getWaited())),
          Durations.format(ProtoTime.duration(w.getWaitLeft())),
          String.join("+", kinds),
          String.join(",", new LinkedHashSet<>(targets)),
          w.getWorkerId(),
          w.getJob(),
          w.getPriority(),
          w.hasHeldBy()
              ? Text.name(w.getHeldBy().getReason()) + ": " + w.getHeldBy().getDetail()
              : "about to be granted");
    }
    table.print(out);
    out.println(list.getWaitingCount() + " of " + list.getTotal() + " waiting");
  }

  /** An explanation: the verdict, the deciding rule and every step. */
  static void explanation(Explanation e, PrintStream out) {
    if (e.getWouldGrant()) {
      out.println("would grant  yes");
    } else {
      out.println(
          "would grant  no: refused "
              + Text.name(e.getRefusal().getReason())
              + ", retry after "
              + Durations.format(ProtoTime.duration(e.getRefusal().getRetryAfter())));
    }
    out.println("decided by   " + e.getDecidedBy());
    out.println();
    Table table = new Table("STEP", "VERDICT", "DETAIL");
    for (ExplainStep step : e.getStepsList()) {
      table.row(step.getRule(), step.getPassed() ? "pass" : "FAIL", step.getDetail());
    }
    table.print(out);
  }

  /** One event on one line: time, type, then what it concerns as key=value pairs. */
  static String event(BrokerEvent e) {
    StringBuilder b = new StringBuilder();
    b.append(Text.preciseTime(e.getAt())).append("  ");
    b.append(String.format("%-15s", Text.name(e.getType())));
    if (!e.getSessionId().isEmpty()) {
      b.append(" session=").append(e.getSessionId());
    }
    if (!e.getWorkerId().isEmpty()) {
      b.append(" worker=").append(e.getWorkerId());
    }
    if (!e.getJob().isEmpty()) {
      b.append(" job=").append(e.getJob());
    }
    if (e.hasLease()) {
      Lease l = e.getLease();
      b.append(" lease=").append(l.getLeaseId()).append(" kind=").append(Text.name(l.getKind()));
      if (!l.getHost().isEmpty()) {
        b.append(" host=").append(l.getHost());
      }
      if (!l.getModule().isEmpty()) {
        b.append(" module=").append(l.getModule());
      }
      b.append(" token=").append(Long.toUnsignedString(l.getFencingToken()));
    }
    if (e.getEndedByValue() != 0) {
      b.append(" ended_by=").append(Text.name(e.getEndedBy()));
    }
    if (e.getRevokeReasonValue() != 0) {
      b.append(" reason=").append(Text.name(e.getRevokeReason()));
    }
    if (e.hasRefusal()) {
      b.append(" refusal=")
          .append(Text.name(e.getRefusal().getReason()))
          .append(" retry_after=")
          .append(Durations.format(ProtoTime.duration(e.getRefusal().getRetryAfter())));
    }
    if (e.getPressureValue() != 0) {
      b.append(" pressure=").append(Text.name(e.getPressure()));
    }
    if (!e.getDetail().isEmpty()) {
      b.append(" detail=\"").append(e.getDetail()).append('"');
    }
    if (e.hasRefusal() && !e.getRefusal().getDetail().isEmpty()) {
      b.append(" why=\"").append(e.getRefusal().getDetail()).append('"');
    }
    return Text.printable(b.toString()); // one line, whatever a worker put in its fields
  }
}
