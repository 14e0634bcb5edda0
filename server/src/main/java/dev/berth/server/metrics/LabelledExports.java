package dev.berth.server.metrics;

import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot.SummaryDataPointSnapshot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Berth's Dropwizard registry as Prometheus families with labels. {@link DropwizardExports} turns
 * each Dropwizard metric into a snapshot of its own (counters, gauges, timers as summaries in
 * seconds); this collector then merges the snapshots of one family into one, labelled by {@link
 * MetricFamilies}. (DropwizardExports' own label mapper cannot do this in 1.3: two metrics mapped
 * to one name fail the scrape as duplicates.) Metrics not in the table pass through unchanged.
 *
 * <p>Thread-safe: each scrape works on its own copies.
 */
final class LabelledExports implements MultiCollector {
  private final DropwizardExports exports;
  private final MetricFamilies families;
  private final Runnable beforeScrape;

  /**
   * @param beforeScrape runs once at the start of each scrape, e.g. to refresh cached gauges
   */
  LabelledExports(DropwizardExports exports, MetricFamilies families, Runnable beforeScrape) {
    this.exports = exports;
    this.families = families;
    this.beforeScrape = beforeScrape;
  }

  /** One family being assembled. */
  private static final class Family {
    final MetricSnapshot first;
    final String help;
    final List<DataPointSnapshot> points = new ArrayList<>();

    Family(MetricSnapshot first, String help) {
      this.first = first;
      this.help = help;
    }
  }

  @Override
  public MetricSnapshots collect() {
    beforeScrape.run();
    Map<String, Family> merged = new LinkedHashMap<>();
    MetricSnapshots.Builder out = MetricSnapshots.builder();
    for (MetricSnapshot snapshot : exports.collect()) {
      MetricFamilies.Series series = families.lookup(snapshot.getMetadata().getPrometheusName());
      if (series == null) {
        out.metricSnapshot(snapshot);
        continue;
      }
      Family family =
          merged.computeIfAbsent(series.family(), name -> new Family(snapshot, series.help()));
      for (DataPointSnapshot point : snapshot.getDataPoints()) {
        family.points.add(relabel(point, series.labels()));
      }
    }
    for (Map.Entry<String, Family> e : merged.entrySet()) {
      out.metricSnapshot(build(e.getKey(), e.getValue()));
    }
    return out.build();
  }

  private static DataPointSnapshot relabel(DataPointSnapshot point, Labels labels) {
    if (point instanceof CounterDataPointSnapshot c) {
      return CounterDataPointSnapshot.builder().value(c.getValue()).labels(labels).build();
    }
    if (point instanceof GaugeDataPointSnapshot g) {
      return GaugeDataPointSnapshot.builder().value(g.getValue()).labels(labels).build();
    }
    SummaryDataPointSnapshot s = (SummaryDataPointSnapshot) point;
    SummaryDataPointSnapshot.Builder b =
        SummaryDataPointSnapshot.builder()
            .quantiles(s.getQuantiles())
            .count(s.getCount())
            .labels(labels);
    if (s.hasSum()) {
      b.sum(s.getSum());
    }
    return b.build();
  }

  private static MetricSnapshot build(String name, Family family) {
    MetricMetadata metadata = new MetricMetadata(name, family.help);
    List<DataPointSnapshot> points = family.points;
    if (family.first instanceof CounterSnapshot) {
      return new CounterSnapshot(metadata, cast(points));
    }
    if (family.first instanceof GaugeSnapshot) {
      return new GaugeSnapshot(metadata, cast(points));
    }
    return new SummarySnapshot(metadata, cast(points));
  }

  @SuppressWarnings("unchecked")
  private static <T> List<T> cast(List<DataPointSnapshot> points) {
    return (List<T>) (List<?>) points;
  }
}
