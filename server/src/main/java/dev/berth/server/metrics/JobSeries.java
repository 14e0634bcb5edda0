package dev.berth.server.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.Views;
import dev.berth.server.lease.ResourceKind;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The per-job series, labelled {@code crawl_job} (not {@code job}: Prometheus gives every scraped
 * series its target's {@code job} label, and a series' own {@code job} would be renamed {@code
 * exported_job}): grants by kind and refusals by reason (counters fed by broker events), and held
 * leases and the min that applies now ({@link Views.JobKind#guaranteedMin}) by kind, waiting
 * requests and weight (gauges over the status view). The label set is bounded by the configuration:
 * the broker names only configured jobs (a session naming another runs as, and is counted under,
 * {@code default}). A job's series are registered the first time it is seen and kept until restart,
 * so {@code rate()} works across reloads; a job removed by a reload reads 0.
 *
 * <p>Thread-safe.
 */
final class JobSeries {
  private final MetricRegistry registry;
  private final MetricFamilies families;
  private final Supplier<Views.Status> status;
  private final Map<String, Counters> byJob = new ConcurrentHashMap<>();

  /** One job's counters. */
  private record Counters(
      Map<ResourceKind, Counter> grants, Map<RefusalReason, Counter> refusals) {}

  JobSeries(MetricRegistry registry, MetricFamilies families, Supplier<Views.Status> status) {
    this.registry = registry;
    this.families = families;
    this.status = status;
  }

  void granted(String job, ResourceKind kind) {
    counters(job).grants().get(kind).inc();
  }

  void refused(String job, RefusalReason reason) {
    counters(job).refusals().get(reason).inc();
  }

  /** Registers the series of every job in {@code s} not seen yet. */
  void seen(Views.Status s) {
    for (Views.Job job : s.jobs()) {
      counters(job.name());
    }
  }

  private Counters counters(String job) {
    if (job.isEmpty()) {
      job = dev.berth.server.jobs.JobsConfig.DEFAULT_JOB;
    }
    Counters c = byJob.get(job);
    return c != null ? c : register(job);
  }

  private synchronized Counters register(String job) {
    Counters known = byJob.get(job);
    if (known != null) {
      return known;
    }
    String prefix = "berth.job." + job + ".";
    Map<ResourceKind, Counter> grants = new EnumMap<>(ResourceKind.class);
    for (ResourceKind kind : ResourceKind.values()) {
      String k = lower(kind);
      grants.put(
          kind,
          counter(
              prefix + "grants." + k,
              "berth_job_grants",
              "Leases granted, by job and kind",
              "crawl_job",
              job,
              "kind",
              k));
      gauge(
          prefix + "held." + k,
          "berth_job_held",
          "Leases held now, by job and kind",
          s -> kind(s, job, kind).held(),
          "crawl_job",
          job,
          "kind",
          k);
      gauge(
          prefix + "guaranteed_min." + k,
          "berth_job_guaranteed_min",
          "The job's min that applies now, by kind: its configured min, scaled down while the"
              + " pool is degraded or slots are held back after a change of leader; 0 for none",
          s -> kind(s, job, kind).guaranteedMin(),
          "crawl_job",
          job,
          "kind",
          k);
    }
    Map<RefusalReason, Counter> refusals = new EnumMap<>(RefusalReason.class);
    for (RefusalReason reason : RefusalReason.values()) {
      String r = lower(reason);
      refusals.put(
          reason,
          counter(
              prefix + "refusals." + r,
              "berth_job_refusals",
              "Requests refused, by job and reason (a bundle counts once)",
              "crawl_job",
              job,
              "reason",
              r));
    }
    gauge(
        prefix + "waiting",
        "berth_job_waiting",
        "Requests waiting, by job (a bundle counts once)",
        s -> job(s, job) == null ? 0 : job(s, job).waiting(),
        "crawl_job",
        job);
    gauge(
        prefix + "weight",
        "berth_job_weight",
        "The job's configured weight; 0 once a reload removed it",
        s -> job(s, job) == null ? 0 : job(s, job).weight(),
        "crawl_job",
        job);
    Counters c = new Counters(grants, refusals);
    byJob.put(job, c);
    return c;
  }

  private Counter counter(String name, String family, String help, String... labels) {
    families.add(name, family, help, labels);
    return registry.counter(name);
  }

  private void gauge(
      String name,
      String family,
      String help,
      ToDoubleFunction<Views.Status> read,
      String... labels) {
    families.add(name, family, help, labels);
    registry.gauge(name, () -> (Gauge<Double>) () -> read.applyAsDouble(status.get()));
  }

  private static Views.Job job(Views.Status s, String name) {
    for (Views.Job job : s.jobs()) {
      if (job.name().equals(name)) {
        return job;
      }
    }
    return null;
  }

  private static Views.JobKind kind(Views.Status s, String name, ResourceKind kind) {
    Views.Job job = job(s, name);
    if (job != null) {
      for (Views.JobKind k : job.kinds()) {
        if (k.kind() == kind) {
          return k;
        }
      }
    }
    return new Views.JobKind(kind, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  private static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
