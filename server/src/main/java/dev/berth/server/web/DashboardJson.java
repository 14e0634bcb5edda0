package dev.berth.server.web;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.LeaseCursor;
import dev.berth.server.broker.Views;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.lease.Lease;
import dev.berth.server.ratelimit.HostStatus;
import dev.berth.server.time.TimeSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The dashboard's JSON: the broker's status views in the shape the page reads, with snake_case
 * names, monotonic instants turned into wall-clock epoch milliseconds, and nothing that changes by
 * itself (ages are computed by the page), so two snapshots differ only when the broker changed.
 * docs/operations.md describes the fields.
 */
final class DashboardJson {
  private DashboardJson() {}

  /** The sessions a snapshot lists at most, each with its leases; the rest are counted. */
  static final int SESSIONS_SHOWN = 200;

  /** The waiting acquires a snapshot lists at most, the oldest; the rest are counted. */
  static final int WAITING_SHOWN = 20;

  /**
   * The leases a snapshot lists at most, over all the sessions shown (the oldest first); the rest
   * are counted, and {@code GET /api/leases} finds them.
   */
  static final int LEASES_SHOWN = 1000;

  /** Where a snapshot's sessions, leases and pools in use come from. */
  enum Source {
    /** This node's own broker: a lone broker, or the leader. */
    BROKER,
    /** This follower's replica of the leader's lease state, as of the last record it applied. */
    REPLICA,
    /** Nothing: this member does not serve and has no replica to read. */
    NONE;

    /**
     * Whether this source knows the acquires waiting in each pool. Only the broker that serves
     * does: the leader's journal carries sessions, leases and host penalties, never its queues, so
     * a replica has no waits to show (and a member with no source has nothing at all).
     */
    boolean waitsKnown() {
      return this == BROKER;
    }

    /**
     * Whether this source knows the leases each job holds: the broker that serves, and a follower's
     * replica, whose status counts them from the replicated leases ({@link
     * dev.berth.server.broker.ReplicaViews#status}, as the admin service's {@code GetStatus} does);
     * not a member with no source.
     */
    boolean leasesKnown() {
      return this != NONE;
    }
  }

  /**
   * Everything the page shows that is not history or events.
   *
   * @param sessions the first sessions by id, at most {@link #SESSIONS_SHOWN}
   * @param leases every live lease, in grant order; those of the sessions shown are listed, at most
   *     {@link #LEASES_SHOWN}, and all are counted
   * @param source where the figures come from; a pool's {@code waiting} is null where it does not
   *     know waits ({@link Source#waitsKnown})
   * @param view where the figures come from, from {@link #view}
   */
  static JsonObject snapshot(
      Source source,
      Views.Status status,
      List<Views.Session> sessions,
      List<Views.LeaseInfo> leases,
      Views.WaitingList waiting,
      JsonObject view,
      ClusterView cluster,
      Wall time) {
    JsonObject out = new JsonObject();
    out.add("view", view);
    out.addProperty("epoch", status.epoch());
    out.addProperty("draining", status.draining());
    out.addProperty("started_at", millis(time, status.startedAtNanos()));
    JsonArray pools = new JsonArray();
    for (Views.Pool pool : status.pools()) {
      pools.add(pool(pool, source.waitsKnown()));
    }
    out.add("pools", pools);
    JsonObject pressure = new JsonObject();
    pressure.addProperty("level", DashboardFeed.lower(status.pressure().level()));
    pressure.addProperty("fleet_used_mb", status.pressure().fleetUsedMb());
    pressure.addProperty("fleet_limit_mb", status.pressure().fleetLimitMb());
    pressure.addProperty("trigger", status.pressure().trigger());
    out.add("pressure", pressure);
    out.addProperty("degradation_score", round(status.degradationScore()));
    JsonArray hosts = new JsonArray();
    for (HostStatus host : status.hotHosts()) {
      JsonObject h = new JsonObject();
      h.addProperty("host", host.host());
      h.addProperty("pattern", host.pattern());
      h.addProperty("rate", round(host.ratePerSecond()));
      h.addProperty("configured_rate", round(host.configuredRate()));
      h.addProperty("refusals", host.refusals());
      h.addProperty("reason", host.reason());
      hosts.add(h);
    }
    out.add("hot_hosts", hosts);
    out.add("jobs", jobs(status.jobs(), source));
    JsonObject totals = new JsonObject();
    totals.addProperty("grants", status.counters().grants());
    JsonObject refusals = new JsonObject();
    for (RefusalReason reason : RefusalReason.values()) {
      refusals.addProperty(DashboardFeed.lower(reason), status.counters().refusals(reason));
    }
    totals.add("refusals", refusals);
    out.add("totals", totals);
    out.addProperty("sessions_connected", status.connectedSessions());
    out.addProperty("sessions_disconnected", status.disconnectedSessions());
    JsonArray shown = sessions(sessions, leases, time);
    out.add("sessions", shown);
    int leasesShown = 0;
    for (var s : shown) {
      leasesShown += s.getAsJsonObject().getAsJsonArray("leases").size();
    }
    out.addProperty("leases_total", leases.size());
    out.addProperty("leases_shown", leasesShown);
    out.add("cluster", cluster(cluster));
    out.add("waiting", waiting(waiting));
    return out;
  }

  /** The acquires shown waiting, oldest first; {@code known} false where this member has none. */
  private static JsonObject waiting(Views.WaitingList list) {
    JsonObject out = new JsonObject();
    out.addProperty("known", list != null);
    out.addProperty("total", list != null ? list.total() : 0);
    JsonArray shown = new JsonArray();
    if (list != null) {
      for (Views.Waiting w : list.waiting()) {
        JsonObject o = new JsonObject();
        StringBuilder kinds = new StringBuilder();
        Set<String> targets = new LinkedHashSet<>();
        for (var item : w.items()) {
          kinds.append(kinds.length() == 0 ? "" : "+").append(item.kind().name());
          String target = !item.host().isEmpty() ? item.host() : item.module();
          targets.add(target.isEmpty() ? "–" : target);
        }
        o.addProperty("kinds", kinds.toString());
        o.addProperty("target", String.join(", ", targets));
        o.addProperty("worker", w.workerId());
        o.addProperty("job", w.job());
        o.addProperty("priority", w.priority());
        // Whole seconds, so that a snapshot changes once a second while nothing else does.
        o.addProperty("waited_s", w.waitedNanos() / 1_000_000_000L);
        o.addProperty("left_s", w.leftNanos() / 1_000_000_000L);
        o.addProperty(
            "held_by",
            w.heldBy() != null
                ? w.heldBy().reason().name() + ": " + w.heldBy().detail()
                : "about to be granted");
        shown.add(o);
      }
    }
    out.add("shown", shown);
    return out;
  }

  private static JsonObject pool(Views.Pool pool, boolean waitsKnown) {
    JsonObject p = new JsonObject();
    p.addProperty("kind", DashboardFeed.lower(pool.kind()));
    p.addProperty("limit", pool.limit());
    p.addProperty("effective_limit", pool.effectiveLimit());
    p.addProperty("in_use", pool.inUse());
    p.addProperty("waiting", waitsKnown ? pool.queued() : null);
    p.addProperty("reason", pool.reason());
    return p;
  }

  /**
   * Every configured job: its settings, and what it holds, waits for and is promised now per kind,
   * as {@code status} has them: the admin reads' status ({@link
   * dev.berth.server.replication.AdminReads#status}), which {@code GetStatus} answers too. What
   * each job holds and its {@code share} of the pool in use are null only where the source does not
   * know the leases ({@link Source#leasesKnown}); on a follower's replica they are the replica's.
   * Where the source is not the serving broker ({@link Source#waitsKnown} false), the figures only
   * the leader knows are null: what each job waits for and was granted or refused, its fair share
   * (which counts the jobs waiting), and the min that applies now, which the leader's degradation
   * and held-back slots scale. The weight, {@code min} and {@code max} are the policy in force (on
   * a follower, the replicated one).
   */
  private static JsonArray jobs(List<Views.Job> jobs, Source source) {
    boolean known = source.waitsKnown();
    boolean held = source.leasesKnown();
    JsonArray out = new JsonArray();
    for (Views.Job job : jobs) {
      JsonObject j = new JsonObject();
      j.addProperty("name", job.name());
      j.addProperty("weight", job.weight());
      j.addProperty("waiting", known ? job.waiting() : null);
      j.addProperty("refusals", known ? job.refusals() : null);
      JsonArray kinds = new JsonArray();
      for (Views.JobKind k : job.kinds()) {
        JsonObject o = new JsonObject();
        o.addProperty("kind", DashboardFeed.lower(k.kind()));
        o.addProperty("held", held ? k.held() : null);
        o.addProperty("waiting", known ? k.waiting() : null);
        o.addProperty("min", k.min());
        o.addProperty("guaranteed_min", known ? k.guaranteedMin() : null);
        o.addProperty("max", k.max());
        o.addProperty("share", held ? round(k.share()) : null);
        o.addProperty("fair_share", known ? round(k.fairShare()) : null);
        o.addProperty("grants", known ? k.grants() : null);
        kinds.add(o);
      }
      j.add("kinds", kinds);
      out.add(j);
    }
    return out;
  }

  /**
   * Where the page's figures come from and, for a replica, how current it is.
   *
   * @param node this node's view of its cluster; empty for a lone broker
   * @param leaderApi the API address of the leader this node knows; empty when none
   * @param leaderDashboard the leader's dashboard: its configured URL, else as this node guesses
   *     it; empty when none
   * @param leaderDashboardConfigured whether {@code leaderDashboard} is the leader's {@code
   *     cluster.peers.*.dashboard} rather than a guess
   */
  static JsonObject view(
      Source source,
      Optional<ClusterStatus> node,
      String leaderApi,
      String leaderDashboard,
      boolean leaderDashboardConfigured) {
    JsonObject v = new JsonObject();
    v.addProperty("source", source.name().toLowerCase(Locale.ROOT));
    v.addProperty("node", node.map(ClusterStatus::self).orElse(""));
    v.addProperty("role", node.map(c -> DashboardFeed.lower(c.role())).orElse(""));
    v.addProperty("leader_id", node.map(ClusterStatus::leaderId).orElse(""));
    v.addProperty("leader_api", leaderApi);
    v.addProperty("leader_dashboard", source == Source.BROKER ? "" : leaderDashboard);
    v.addProperty(
        "leader_dashboard_configured", source != Source.BROKER && leaderDashboardConfigured);
    v.addProperty("waits_known", source.waitsKnown());
    if (source == Source.REPLICA && node.isPresent()) {
      ClusterStatus c = node.get();
      // The leader's commit index as it last reached this node, when it did: the log index up to
      // which the leader's state is settled. Without it, this node's own commit index.
      long leaderCommit = -1;
      for (ClusterStatus.Member m : c.members()) {
        if (m.id().equals(c.leaderId())) {
          leaderCommit = m.commitIndex();
        }
      }
      long applied = Math.max(0, c.appliedIndex());
      long known = Math.max(Math.max(0, c.commitIndex()), leaderCommit);
      v.addProperty("applied_index", applied);
      v.addProperty("commit_index", Math.max(0, c.commitIndex()));
      v.addProperty("leader_commit_index", leaderCommit);
      v.addProperty("behind", Math.max(0, known - applied));
    }
    return v;
  }

  /**
   * A page of {@code GET /api/leases}: up to {@code limit} leases, each with its session and
   * worker, and {@code next_after} (the last one's fencing token) when {@code page} holds more.
   *
   * @param page the matching leases in grant order, at most {@code limit + 1}
   */
  static JsonObject found(Source source, List<Views.LeaseInfo> page, int limit, Wall time) {
    JsonObject out = new JsonObject();
    out.addProperty("source", source.name().toLowerCase(Locale.ROOT));
    JsonArray leases = new JsonArray();
    for (Views.LeaseInfo info : page.subList(0, Math.min(limit, page.size()))) {
      JsonObject l = lease(info.lease(), time);
      l.addProperty("session_id", info.lease().sessionId());
      l.addProperty("worker", info.workerId());
      leases.add(l);
    }
    out.add("leases", leases);
    out.addProperty(
        "next_after", page.size() > limit ? LeaseCursor.after(page.get(limit - 1)).text() : "");
    return out;
  }

  private static JsonArray sessions(
      List<Views.Session> sessions, List<Views.LeaseInfo> leases, Wall time) {
    // The leases of the sessions shown, the oldest first, at most LEASES_SHOWN in all.
    Map<String, List<Lease>> held = new HashMap<>();
    for (Views.Session s : sessions) {
      held.put(s.id(), new ArrayList<>());
    }
    int listed = 0;
    for (Views.LeaseInfo info : leases) {
      if (listed == LEASES_SHOWN) {
        break;
      }
      List<Lease> of = held.get(info.lease().sessionId());
      if (of != null) {
        of.add(info.lease());
        listed++;
      }
    }
    JsonArray out = new JsonArray();
    for (Views.Session s : sessions) {
      JsonObject o = new JsonObject();
      o.addProperty("id", s.id());
      o.addProperty("worker", s.workerId());
      // The job it runs as (not its "job" label, which is free text the scheduler never reads).
      o.addProperty("job", s.job());
      JsonObject labels = new JsonObject();
      for (Map.Entry<String, String> label : s.labels().entrySet()) {
        labels.addProperty(label.getKey(), label.getValue());
      }
      o.add("labels", labels);
      o.addProperty("connected", s.connected());
      o.addProperty("draining", s.draining());
      o.addProperty("opened_at", millis(time, s.openedAtNanos()));
      o.addProperty("memory_used_mb", s.memoryUsedMb());
      o.addProperty("memory_limit_mb", s.memoryLimitMb());
      o.addProperty("lease_count", s.leases());
      o.add("leases", array(held.get(s.id()), l -> lease(l, time)));
      out.add(o);
    }
    return out;
  }

  private static JsonObject lease(Lease lease, Wall time) {
    JsonObject l = new JsonObject();
    l.addProperty("id", lease.id());
    l.addProperty("kind", DashboardFeed.lower(lease.kind()));
    l.addProperty("host", lease.host());
    l.addProperty("module", lease.module());
    l.addProperty("fencing_token", unsigned(lease.fencingToken()));
    l.addProperty("memory_mb", lease.memoryMb());
    l.addProperty("granted_at", millis(time, lease.grantedAtNanos()));
    l.addProperty("expires_at", millis(time, lease.expiresAtNanos()));
    return l;
  }

  private static JsonObject cluster(ClusterView cluster) {
    JsonObject c = new JsonObject();
    c.addProperty("clustered", cluster.clustered());
    JsonArray members = new JsonArray();
    for (ClusterView.Member m : cluster.members()) {
      JsonObject o = new JsonObject();
      o.addProperty("id", m.id());
      o.addProperty("address", m.address());
      o.addProperty("role", m.role());
      o.addProperty("self", m.self());
      o.addProperty("dashboard", m.dashboard());
      members.add(o);
    }
    c.add("members", members);
    return c;
  }

  /**
   * One history sample: {@code pools} maps a kind to [in use, effective limit, limit, waiting],
   * waiting null when the sample's source did not know waits.
   */
  static JsonObject sample(History.Sample sample) {
    JsonObject o = new JsonObject();
    o.addProperty("t", sample.at().toEpochMilli());
    JsonObject pools = new JsonObject();
    for (Views.Pool pool : sample.pools()) {
      JsonArray figures = new JsonArray();
      figures.add(pool.inUse());
      figures.add(pool.effectiveLimit());
      figures.add(pool.limit());
      figures.add(sample.waitsKnown() ? pool.queued() : null);
      pools.add(DashboardFeed.lower(pool.kind()), figures);
    }
    o.add("pools", pools);
    o.addProperty("pressure", sample.pressure().number());
    o.addProperty("fleet_used_mb", sample.fleetUsedMb());
    o.addProperty("fleet_limit_mb", sample.fleetLimitMb());
    o.addProperty("degradation", round(sample.degradation()));
    o.addProperty("heap_used_mb", sample.heapUsedBytes() >> 20);
    o.addProperty("heap_max_mb", sample.heapMaxBytes() >> 20);
    return o;
  }

  static JsonArray samples(List<History.Sample> samples) {
    return array(samples, DashboardJson::sample);
  }

  static JsonObject event(DashboardFeed.Event e) {
    JsonObject o = new JsonObject();
    o.addProperty("seq", e.seq());
    o.addProperty("t", e.at().toEpochMilli());
    o.addProperty("type", e.type());
    o.addProperty("session_id", e.sessionId());
    o.addProperty("worker", e.workerId());
    o.addProperty("kind", e.kind());
    o.addProperty("lease_id", e.leaseId());
    o.addProperty("host", e.host());
    o.addProperty("fencing_token", unsigned(e.token()));
    o.addProperty("detail", e.detail());
    return o;
  }

  static JsonArray events(List<DashboardFeed.Event> events) {
    return array(events, DashboardJson::event);
  }

  private static <T> JsonArray array(List<T> items, Function<T, JsonObject> each) {
    JsonArray out = new JsonArray();
    for (T item : items) {
      out.add(each.apply(item));
    }
    return out;
  }

  static JsonObject error(WebError error) {
    JsonObject e = new JsonObject();
    e.addProperty("status", error.status());
    e.addProperty("code", error.code());
    e.addProperty("field", error.field());
    e.addProperty("message", error.getMessage());
    JsonObject out = new JsonObject();
    out.add("error", e);
    return out;
  }

  private static long millis(Wall wall, long nanos) {
    return wall.millis(nanos);
  }

  /**
   * Turns the broker's monotonic instants into epoch milliseconds with one offset taken at start,
   * so the same instant always gives the same number (reading both clocks anew for each would
   * jitter by a millisecond now and then, and make unchanged snapshots differ).
   */
  record Wall(long offsetNanos) {
    static Wall of(TimeSource time) {
      long mono = time.nanoTime();
      java.time.Instant wall = time.wallTime();
      return new Wall(wall.getEpochSecond() * 1_000_000_000L + wall.getNano() - mono);
    }

    long millis(long monoNanos) {
      return Math.floorDiv(offsetNanos + monoNanos, 1_000_000L);
    }
  }

  /** Three decimals: enough to read, and stable between snapshots of an unchanged broker. */
  private static double round(double value) {
    return Double.isFinite(value) ? Math.round(value * 1000) / 1000.0 : 0;
  }

  /**
   * A fencing token as a decimal string, as protobuf's JSON mapping writes a {@code uint64}: a
   * JavaScript number holds integers exactly only up to 2^53, which a token passes from epoch 2^13
   * (the epoch is its top bits), and a Java {@code long} shows as negative from epoch 2^23.
   */
  private static String unsigned(long token) {
    return Long.toUnsignedString(token);
  }
}
