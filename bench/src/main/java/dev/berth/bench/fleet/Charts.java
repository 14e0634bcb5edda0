package dev.berth.bench.fleet;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws a run's charts as PNG files with JFreeChart, headless, from the measured figures of a
 * {@link FleetReport}: each job's share of slot time against its weight, pool utilization, the
 * storm host's requests per second against its limit, and the memory the workers reported against
 * the fleet limit. The shaded bands are the storm (orange) and the memory leak (grey).
 *
 * <p>Stateless and thread-safe.
 */
public final class Charts {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 360;
  private static final Color[] JOB_COLOURS = {
    new Color(0x1f77b4), new Color(0x2ca02c), new Color(0xd62728)
  };

  private Charts() {}

  /** Writes every chart into {@code dir}; returns their file names, in report order. */
  public static List<String> write(FleetReport r, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<String> names = new ArrayList<>();
    save(shares(r), dir, "share.png", names);
    save(utilization(r), dir, "utilization.png", names);
    save(storm(r), dir, "storm.png", names);
    save(memory(r), dir, "memory.png", names);
    return names;
  }

  private static void save(JFreeChart chart, Path dir, String name, List<String> names)
      throws IOException {
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(dir.resolve(name).toFile(), chart, WIDTH, HEIGHT);
    names.add(name);
  }

  private static JFreeChart shares(FleetReport r) {
    Windows w =
        Windows.covering(r.scenario.warmup(), r.scenario.duration(), 5 * FleetReport.WINDOW);
    double[][] slots = w.slotSeconds(r.holds, Scenario.JOBS.size());
    XYSeriesCollection data = new XYSeriesCollection();
    for (int j = 0; j < Scenario.JOBS.size(); j++) {
      XYSeries s =
          new XYSeries(
              Scenario.JOBS.get(j).name() + " (weight " + Scenario.JOBS.get(j).weight() + ")");
      for (int i = 0; i < w.count(); i++) {
        s.add(w.midSeconds(i), 100 * Windows.shares(slots[i])[j]);
      }
      data.addSeries(s);
    }
    JFreeChart c =
        ChartFactory.createXYLineChart(
            "Share of RENDER slot time per job (5 s windows); dashed: weight share",
            "seconds",
            "% of slot time",
            data,
            PlotOrientation.VERTICAL,
            true,
            false,
            false);
    XYPlot p = plot(c, r);
    for (int j = 0; j < Scenario.JOBS.size(); j++) {
      p.getRenderer().setSeriesPaint(j, JOB_COLOURS[j % JOB_COLOURS.length]);
      ValueMarker weight =
          new ValueMarker(100.0 * Scenario.JOBS.get(j).weight() / Scenario.totalWeight());
      weight.setPaint(JOB_COLOURS[j % JOB_COLOURS.length]);
      weight.setStroke(dashed());
      p.addRangeMarker(weight);
    }
    p.getRangeAxis().setRange(0, 100);
    return c;
  }

  private static JFreeChart utilization(FleetReport r) {
    XYSeries s = new XYSeries("RENDER slots in use");
    for (int i = 0; i < r.windows.count(); i++) {
      s.add(r.windows.midSeconds(i), 100 * r.utilization[i]);
    }
    JFreeChart c =
        ChartFactory.createXYLineChart(
            "Pool utilization per second (" + r.scenario.pool() + " slots); dashed: 95 %",
            "seconds",
            "% of the pool limit",
            new XYSeriesCollection(s),
            PlotOrientation.VERTICAL,
            true,
            false,
            false);
    XYPlot p = plot(c, r);
    ValueMarker goal = new ValueMarker(95);
    goal.setStroke(dashed());
    goal.setPaint(Color.BLACK);
    p.addRangeMarker(goal);
    p.getRangeAxis().setRange(0, 105);
    return c;
  }

  private static JFreeChart storm(FleetReport r) {
    SimHost host = r.scenario.stormHost();
    XYSeries s = new XYSeries("requests granted per second");
    for (int i = 0; i < r.stormPerSecond.length; i++) {
      s.add(i + 0.5, r.stormPerSecond[i]);
    }
    JFreeChart c =
        ChartFactory.createXYLineChart(
            "Storm host " + host.name() + ": requests per second; dashed: its limit",
            "seconds",
            "requests/s",
            new XYSeriesCollection(s),
            PlotOrientation.VERTICAL,
            true,
            false,
            false);
    XYPlot p = plot(c, r);
    ValueMarker limit = new ValueMarker(host.rate());
    limit.setStroke(dashed());
    limit.setPaint(Color.BLACK);
    p.addRangeMarker(limit);
    return c;
  }

  private static JFreeChart memory(FleetReport r) {
    XYSeries s = new XYSeries("memory reported by the workers");
    for (Observations.Sample sample : r.measured.observations().samples()) {
      s.add(sample.at() / 1e9, sample.reportedMb() / 1024.0);
    }
    XYSeries episodes = new XYSeries("pressure episodes (heartbeat answers)");
    for (Episodes.Episode e : r.episodes) {
      episodes.add(e.start() / 1e9, 0.0);
      episodes.add(e.start() / 1e9, r.scenario.fleetLimitMb() / 1024.0);
      episodes.add(e.end() / 1e9, r.scenario.fleetLimitMb() / 1024.0);
      episodes.add(e.end() / 1e9, 0.0);
    }
    XYSeriesCollection data = new XYSeriesCollection(s);
    data.addSeries(episodes);
    JFreeChart c =
        ChartFactory.createXYLineChart(
            "Fleet memory reported in heartbeats; dashed: the fleet limit",
            "seconds",
            "GiB",
            data,
            PlotOrientation.VERTICAL,
            true,
            false,
            false);
    XYPlot p = plot(c, r);
    ValueMarker limit = new ValueMarker(r.scenario.fleetLimitMb() / 1024.0);
    limit.setStroke(dashed());
    limit.setPaint(Color.BLACK);
    p.addRangeMarker(limit);
    return c;
  }

  /** The plot with the storm and the leak shaded. */
  private static XYPlot plot(JFreeChart c, FleetReport r) {
    XYPlot p = c.getXYPlot();
    p.setBackgroundPaint(Color.WHITE);
    p.setDomainGridlinePaint(Color.LIGHT_GRAY);
    p.setRangeGridlinePaint(Color.LIGHT_GRAY);
    p.addDomainMarker(
        band(r.scenario.stormStart(), r.scenario.stormEnd(), new Color(255, 200, 120, 90)));
    p.addDomainMarker(
        band(r.scenario.leakStart(), r.scenario.leakEnd(), new Color(160, 160, 160, 70)));
    p.getDomainAxis().setRange(0, r.scenario.duration() / 1e9);
    return p;
  }

  private static IntervalMarker band(long from, long to, Color colour) {
    IntervalMarker m = new IntervalMarker(from / 1e9, to / 1e9, colour);
    return m;
  }

  private static BasicStroke dashed() {
    return new BasicStroke(
        1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);
  }
}
