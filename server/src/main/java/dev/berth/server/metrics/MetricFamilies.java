package dev.berth.server.metrics;

import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.PrometheusNaming;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Maps each Dropwizard metric Berth registers to the Prometheus family it belongs to and the labels
 * that tell it apart, e.g. {@code berth.refusals.render.rate_limited} to {@code
 * berth_refusals{kind="render",reason="rate_limited"}}. Dropwizard names are flat (and are what JMX
 * shows); Prometheus wants one family with labels.
 *
 * <p>Thread-safe.
 */
final class MetricFamilies {
  /** One Dropwizard metric's place in Prometheus. */
  record Series(String family, String help, Labels labels) {}

  private final Map<String, Series> byExportedName = new ConcurrentHashMap<>();

  /**
   * Records that {@code dropwizardName} is a member of {@code family}.
   *
   * @param labelPairs label name, value, name, value, ...
   * @return false when another metric already exports under the same sanitised name
   */
  boolean add(String dropwizardName, String family, String help, String... labelPairs) {
    Series series = new Series(family, help, Labels.of(labelPairs));
    return byExportedName.putIfAbsent(exportedName(dropwizardName), series) == null;
  }

  /** Whether a Dropwizard name would collide with one already recorded. */
  boolean taken(String dropwizardName) {
    return byExportedName.containsKey(exportedName(dropwizardName));
  }

  /** The series of the metric DropwizardExports exported as {@code prometheusName}, or null. */
  Series lookup(String prometheusName) {
    return byExportedName.get(prometheusName);
  }

  /** The name DropwizardExports gives a Dropwizard metric. */
  static String exportedName(String dropwizardName) {
    return PrometheusNaming.prometheusName(PrometheusNaming.sanitizeMetricName(dropwizardName));
  }
}
