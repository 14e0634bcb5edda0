package dev.berth.server.metrics;

import com.codahale.metrics.Clock;
import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Snapshot;
import com.codahale.metrics.Timer;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.BrokerListener;
import dev.berth.server.broker.Views;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.time.TimeSource;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Berth's metrics in a Dropwizard {@link MetricRegistry}: counters fed by broker events (this is a
 * {@link BrokerListener}), acquire timers fed by the gRPC adapter (an {@link AcquireTimings}), and
 * gauges over the broker's status view. Every metric is registered up front, so a scrape shows
 * zeros rather than missing series. docs/configuration.md lists them all.
 *
 * <p>Event paths cost a counter increment (a {@code LongAdder}); gauges read one status snapshot
 * taken at most once per {@link #STATUS_TTL_NANOS} (and refreshed at the start of every Prometheus
 * scrape), so a scrape takes the broker's lock once, not once per gauge.
 *
 * <p>Thread-safe.
 */
public final class BrokerMetrics implements BrokerListener, AcquireTimings, StreamDrops {
  /** How long gauges may reuse a status snapshot between scrapes (e.g. for JMX readers). */
  static final long STATUS_TTL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** The window the latency quantiles are computed over. */
  static final long TIMER_WINDOW_SECONDS = 60;

  private final MetricRegistry registry;
  private final MetricFamilies families;
  private final Supplier<Views.Status> statusSource;
  private final TimeSource time;

  /** The metrics' windows run on the daemon's time source (the fake one in tests). */
  private final Clock clock;

  private final Map<ResourceKind, Counter> grants = new EnumMap<>(ResourceKind.class);
  private final Map<ResourceKind, Map<RefusalReason, Counter>> refusals =
      new EnumMap<>(ResourceKind.class);
  private final Map<ResourceKind, Map<LeaseEnd, Counter>> ended = new EnumMap<>(ResourceKind.class);
  private final Map<ResourceKind, Counter> limitChanges = new EnumMap<>(ResourceKind.class);
  private final Map<ResourceKind, Timer> latency = new EnumMap<>(ResourceKind.class);
  private final Map<ResourceKind, Timer> queueWait = new EnumMap<>(ResourceKind.class);
  private final Counter sessionsOpened;
  private final Counter sessionsResumed;
  private final Counter sessionsExpired;
  private final Counter sessionsClosed;
  private final Counter pressureChanges;
  private final Counter reloadsApplied;
  private final Counter reloadsRefused;
  private final HostRefusals hosts;
  private final JobSeries jobs;
  private final Map<Stream, Counter> streamDrops = new EnumMap<>(Stream.class);

  @GuardedBy("this")
  private Views.Status status;

  @GuardedBy("this")
  private long statusAt;

  /**
   * Registers every metric in {@code registry}.
   *
   * @param status the broker's status view (e.g. {@code broker::status})
   * @param hostSeries how many hosts get a refusal series of their own
   */
  public BrokerMetrics(
      MetricRegistry registry, Supplier<Views.Status> status, TimeSource time, int hostSeries) {
    this(registry, new MetricFamilies(), status, time, hostSeries);
  }

  BrokerMetrics(
      MetricRegistry registry,
      MetricFamilies families,
      Supplier<Views.Status> status,
      TimeSource time,
      int hostSeries) {
    this.registry = registry;
    this.families = families;
    this.statusSource = status;
    this.time = time;
    this.clock =
        new Clock() {
          @Override
          public long getTick() {
            return time.nanoTime();
          }
        };
    for (ResourceKind kind : ResourceKind.values()) {
      String k = lower(kind);
      grants.put(kind, counter("berth.grants." + k, "berth_grants", "Leases granted", "kind", k));
      Map<RefusalReason, Counter> byReason = new EnumMap<>(RefusalReason.class);
      for (RefusalReason reason : RefusalReason.values()) {
        String r = lower(reason);
        byReason.put(
            reason,
            counter(
                "berth.refusals." + k + "." + r,
                "berth_refusals",
                "Acquires refused, by kind and reason",
                "kind",
                k,
                "reason",
                r));
      }
      refusals.put(kind, byReason);
      Map<LeaseEnd, Counter> byEnd = new EnumMap<>(LeaseEnd.class);
      for (LeaseEnd how : LeaseEnd.values()) {
        String h = lower(how);
        byEnd.put(
            how,
            counter(
                "berth.leases.ended." + k + "." + h,
                "berth_leases_ended",
                "Leases ended, by kind and how (released, session_expired, session_closed,"
                    + " max_hold, revoked)",
                "kind",
                k,
                "how",
                h));
      }
      ended.put(kind, byEnd);
      limitChanges.put(
          kind,
          counter(
              "berth.pool.limit_changes." + k,
              "berth_pool_limit_changes",
              "Times degradation moved a pool's effective limit",
              "kind",
              k));
      latency.put(
          kind,
          timer(
              "berth.acquire.latency." + k,
              "berth_acquire_latency_seconds",
              "Acquire request to answer (granted or refused), last " + TIMER_WINDOW_SECONDS + "s",
              clock,
              k));
      queueWait.put(
          kind,
          timer(
              "berth.acquire.queue_wait." + k,
              "berth_acquire_queue_wait_seconds",
              "Time queued acquires waited for their answer, last " + TIMER_WINDOW_SECONDS + "s",
              clock,
              k));
      gauge(
          "berth.leases.in_use." + k,
          "berth_leases_in_use",
          "Leases held now",
          s -> pool(s, kind).inUse(),
          "kind",
          k);
      gauge(
          "berth.pool.limit." + k,
          "berth_pool_limit",
          "Configured fleet-wide limit",
          s -> pool(s, kind).limit(),
          "kind",
          k);
      gauge(
          "berth.pool.effective_limit." + k,
          "berth_pool_effective_limit",
          "Limit in force now (lowered while degraded)",
          s -> pool(s, kind).effectiveLimit(),
          "kind",
          k);
      gauge(
          "berth.pool.queued." + k,
          "berth_pool_queued",
          "Acquires waiting in the queue now",
          s -> pool(s, kind).queued(),
          "kind",
          k);
    }
    String sessionsHelp = "Sessions opened, by how (new or resumed)";
    sessionsOpened =
        counter("berth.sessions.opened.new", "berth_sessions_opened", sessionsHelp, "how", "new");
    sessionsResumed =
        counter(
            "berth.sessions.opened.resumed",
            "berth_sessions_opened",
            sessionsHelp,
            "how",
            "resumed");
    String endedHelp = "Sessions ended, by how (expired or closed by goodbye)";
    sessionsExpired =
        counter(
            "berth.sessions.ended.expired", "berth_sessions_ended", endedHelp, "how", "expired");
    sessionsClosed =
        counter("berth.sessions.ended.closed", "berth_sessions_ended", endedHelp, "how", "closed");
    String liveHelp = "Live sessions, by whether their stream is connected";
    gauge(
        "berth.sessions.connected",
        "berth_sessions",
        liveHelp,
        s -> s.connectedSessions(),
        "state",
        "connected");
    gauge(
        "berth.sessions.disconnected",
        "berth_sessions",
        liveHelp,
        s -> s.disconnectedSessions(),
        "state",
        "disconnected");
    gauge(
        "berth.memory.pressure_level",
        "berth_memory_pressure_level",
        "Fleet memory pressure: 0 none, 1 elevated, 2 critical",
        s -> s.pressure().level().number());
    gauge(
        "berth.memory.fleet_used_bytes",
        "berth_memory_fleet_used_bytes",
        "Fleet memory in use (reports plus estimates of new leases)",
        s -> s.pressure().fleetUsedMb() * 1024.0 * 1024.0);
    gauge(
        "berth.memory.fleet_limit_bytes",
        "berth_memory_fleet_limit_bytes",
        "Fleet memory limit; 0 when none is known",
        s -> s.pressure().fleetLimitMb() * 1024.0 * 1024.0);
    gauge(
        "berth.degradation.score",
        "berth_degradation_score",
        "RENDER degradation score, 0 healthy .. 1 broken",
        Views.Status::degradationScore);
    gauge(
        "berth.draining",
        "berth_draining",
        "1 while the broker is draining",
        s -> s.draining() ? 1 : 0);
    pressureChanges =
        counter(
            "berth.memory.pressure_changes",
            "berth_memory_pressure_changes",
            "Times memory pressure turned on or off, fleet-wide or for a worker");
    String reloadHelp = "Configuration reloads (SIGHUP), by result";
    reloadsApplied =
        counter(
            "berth.config.reloads.applied",
            "berth_config_reloads",
            reloadHelp,
            "result",
            "applied");
    reloadsRefused =
        counter(
            "berth.config.reloads.refused",
            "berth_config_reloads",
            reloadHelp,
            "result",
            "refused");
    for (Stream stream : Stream.values()) {
      String st = lower(stream);
      streamDrops.put(
          stream,
          counter(
              "berth.watchers.dropped." + st,
              "berth_watchers_dropped",
              "Event-stream readers dropped for falling behind (watch: WatchEvents, dashboard)",
              "stream",
              st));
    }
    this.hosts = new HostRefusals(registry, families, hostSeries);
    this.jobs = new JobSeries(registry, families, this::status);
  }

  MetricFamilies families() {
    return families;
  }

  /** Drops the cached status so the next gauge read takes a fresh one; called per scrape. */
  void refresh() {
    synchronized (this) {
      status = null;
    }
    jobs.seen(status()); // a job configured by a reload gets its series before it is used
  }

  /** Counts a configuration reload. */
  public void reloaded(boolean applied) {
    (applied ? reloadsApplied : reloadsRefused).inc();
  }

  @Override
  public void dropped(Stream stream) {
    streamDrops.get(stream).inc();
  }

  // ---------------------------------------------------------------- events

  @Override
  public void answered(ResourceKind kind, long latencyNanos, boolean queued) {
    latency.get(kind).update(latencyNanos, TimeUnit.NANOSECONDS);
    if (queued) {
      queueWait.get(kind).update(latencyNanos, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public Latency latency(ResourceKind kind) {
    Snapshot all = latency.get(kind).getSnapshot();
    Snapshot queued = queueWait.get(kind).getSnapshot();
    return new Latency(
        (long) all.getMedian(), (long) all.get99thPercentile(), (long) queued.get99thPercentile());
  }

  @Override
  public void granted(Lease lease, String workerId, String job) {
    grants.get(lease.kind()).inc();
    jobs.granted(job, lease.kind());
  }

  /**
   * Not a grant: the lease keeps the id and token the run before granted it (a restart's state
   * file, or a worker re-declaring it), so the grant counters, like {@code GetStatus}'s totals, do
   * not count it again; the in-use gauges see it.
   */
  @Override
  public void readmitted(Lease lease, String workerId, String job) {}

  @Override
  public void refused(AcquireSpec spec, Decision.Refused refusal, String job) {
    refusals.get(spec.kind()).get(refusal.reason()).inc();
    jobs.refused(job, refusal.reason());
    if (!spec.host().isEmpty()) {
      hosts.refused(spec.host());
    }
  }

  @Override
  public void ended(Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome) {
    ended.get(lease.kind()).get(how).inc();
  }

  @Override
  public void sessionOpened(String sessionId, String workerId, boolean resumed) {
    (resumed ? sessionsResumed : sessionsOpened).inc();
  }

  @Override
  public void sessionEnded(String sessionId, String workerId, boolean expired) {
    (expired ? sessionsExpired : sessionsClosed).inc();
  }

  @Override
  public void pressureChanged(PressureChange change) {
    pressureChanges.inc();
  }

  @Override
  public void limitChanged(LimitChange change) {
    limitChanges.get(change.kind()).inc();
  }

  // ---------------------------------------------------------------- registration

  /**
   * Exports a cluster member's Raft term ({@code berth_raft_term}), whether it is the leader that
   * serves workers ({@code berth_raft_leader}, 1 or 0), and counts the changes of leader it sees
   * ({@code berth_raft_leader_changes_total}); called once, by a daemon in a cluster.
   *
   * @param term read at each scrape
   * @param serving read at each scrape: whether this member leads and serves workers now
   * @return what to run on every change of leader
   */
  public Runnable cluster(LongSupplier term, BooleanSupplier serving) {
    families.add("berth.raft.term", "berth_raft_term", "The Raft term this member knows");
    registry.gauge("berth.raft.term", () -> (Gauge<Double>) () -> (double) term.getAsLong());
    raw(
        "berth.raft.leader",
        "berth_raft_leader",
        "1 while this member is the leader that serves workers, else 0",
        () -> serving.getAsBoolean() ? 1 : 0);
    Counter changes =
        counter(
            "berth.raft.leader_changes",
            "berth_raft_leader_changes",
            "Changes of the leader this member saw (including to none, during an election)");
    return changes::inc;
  }

  /**
   * Exports the lines the event log dropped ({@code berth_events_log_dropped}); called once, by a
   * daemon with {@code events.log} on.
   */
  public void eventLog(LongSupplier dropped) {
    raw(
        "berth.events_log.dropped",
        "berth_events_log_dropped",
        "Event-log lines dropped because the writer fell behind",
        dropped);
  }

  /**
   * What a cluster member's replication looks like, read at each scrape.
   *
   * @param commitLag on the leader, how many committed entries the furthest-behind member still
   *     misses; 0 on a follower
   * @param applyLag committed entries this member has not applied yet
   * @param uncommittedGrants grants of a pool this leader made whose journal entry is not committed
   * @param batchesSent journal batches this leadership sent (0 while not leading)
   * @param entriesSent journal entries in them
   * @param entriesFolded journal entries never sent: a grant and its lease's end, both still
   *     buffered when the lease ended
   * @param largestBatch the most entries one of them held
   */
  public record Replication(
      LongSupplier commitLag,
      LongSupplier applyLag,
      java.util.function.ToLongFunction<ResourceKind> uncommittedGrants,
      LongSupplier batchesSent,
      LongSupplier entriesSent,
      LongSupplier entriesFolded,
      LongSupplier largestBatch) {}

  /**
   * Exports a cluster member's replication gauges: {@code berth_raft_commit_lag}, {@code
   * berth_raft_apply_lag}, {@code berth_journal_uncommitted_grants{kind}}, {@code
   * berth_journal_batches}, {@code berth_journal_entries}, {@code berth_journal_entries_folded} and
   * {@code berth_journal_largest_batch} (of the current leadership; their ratio is the mean batch
   * size). Called once, by a daemon in a cluster.
   */
  public void replication(Replication r) {
    raw(
        "berth.raft.commit_lag",
        "berth_raft_commit_lag",
        "On the leader, committed entries the furthest-behind member misses",
        r.commitLag());
    raw(
        "berth.raft.apply_lag",
        "berth_raft_apply_lag",
        "Committed entries this member has not applied yet",
        r.applyLag());
    for (ResourceKind kind : ResourceKind.values()) {
      String k = lower(kind);
      raw(
          "berth.journal.uncommitted_grants." + k,
          "berth_journal_uncommitted_grants",
          "Grants this leader made whose journal entry is not committed yet",
          () -> r.uncommittedGrants().applyAsLong(kind),
          "kind",
          k);
    }
    raw(
        "berth.journal.batches",
        "berth_journal_batches",
        "Journal batches this leadership sent",
        r.batchesSent());
    raw(
        "berth.journal.entries",
        "berth_journal_entries",
        "Journal entries this leadership sent, in those batches",
        r.entriesSent());
    raw(
        "berth.journal.entries_folded",
        "berth_journal_entries_folded",
        "Journal entries this leadership never sent: grants whose lease ended before either was sent,"
            + " and those ends",
        r.entriesFolded());
    raw(
        "berth.journal.largest_batch",
        "berth_journal_largest_batch",
        "The most entries one journal batch of this leadership held",
        r.largestBatch());
  }

  /**
   * Registers the distribution of journal batch sizes ({@code berth_journal_batch_size}: entries
   * per batch a leader sent, over the last minute, as quantiles with a count and sum); called once,
   * by a daemon in a cluster.
   *
   * @return what to tell each batch's number of entries
   */
  public IntConsumer journalBatchSizes() {
    families.add(
        "berth.journal.batch_size",
        "berth_journal_batch_size",
        "Entries per journal batch this member sent while leading, over the last minute");
    Histogram h =
        registry.histogram(
            "berth.journal.batch_size",
            () ->
                new Histogram(
                    new WindowedHdrReservoir(TIMER_WINDOW_SECONDS, TimeUnit.SECONDS, clock)));
    return h::update;
  }

  private void raw(String name, String family, String help, LongSupplier read, String... labels) {
    families.add(name, family, help, labels);
    registry.gauge(name, () -> (Gauge<Double>) () -> (double) read.getAsLong());
  }

  private Counter counter(String name, String family, String help, String... labels) {
    families.add(name, family, help, labels);
    return registry.counter(name);
  }

  private Timer timer(String name, String family, String help, Clock clock, String kind) {
    families.add(name, family, help, "kind", kind);
    return registry.timer(
        name,
        () ->
            HistogramMeter.timer(
                new Histogram(
                    new WindowedHdrReservoir(TIMER_WINDOW_SECONDS, TimeUnit.SECONDS, clock)),
                clock));
  }

  private void gauge(
      String name,
      String family,
      String help,
      ToDoubleFunction<Views.Status> read,
      String... labels) {
    families.add(name, family, help, labels);
    registry.gauge(name, () -> (Gauge<Double>) () -> read.applyAsDouble(status()));
  }

  private synchronized Views.Status status() {
    long now = time.nanoTime();
    if (status == null || now - statusAt >= STATUS_TTL_NANOS) {
      status = statusSource.get();
      statusAt = now;
    }
    return status;
  }

  private static Views.Pool pool(Views.Status s, ResourceKind kind) {
    for (Views.Pool pool : s.pools()) {
      if (pool.kind() == kind) {
        return pool;
      }
    }
    throw new IllegalStateException("no pool " + kind);
  }

  private static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
