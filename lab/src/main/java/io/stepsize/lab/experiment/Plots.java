package io.stepsize.lab.experiment;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The grid's charts, per (workload, optimizer) at the largest budget: training-loss curves (mean over
 * seeds, moving average), φ against step as the service answered it, κ_eff against step, and the
 * raw spectrum edges the probes of one κ arm saw.
 */
public final class Plots {
  private Plots() {}

  /** Writes every chart into {@code dir}; returns the files. */
  public static List<Path> writeAll(Path dir, List<Run.Result> results) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Map<String, List<Run.Result>> byPair = new LinkedHashMap<>();
    for (Run.Result r : results) {
      byPair.computeIfAbsent(r.spec().workload().name() + "-" + r.spec().optimizer().label(), k -> new ArrayList<>())
          .add(r);
    }
    List<Path> files = new ArrayList<>();
    for (Map.Entry<String, List<Run.Result>> e : byPair.entrySet()) {
      int top = e.getValue().stream().mapToInt(r -> r.spec().budgetPercent()).max().orElseThrow();
      List<Run.Result> runs = e.getValue().stream().filter(r -> r.spec().budgetPercent() == top).toList();
      String title = e.getKey().replace('-', ' ') + ", " + top + "% budget";
      files.add(loss(dir.resolve("loss-" + e.getKey() + ".png"), "training loss (batch, moving average, mean of seeds): "
          + title, runs));
      files.add(phi(dir.resolve("phi-" + e.getKey() + ".png"), "phi from the service, seed 0: " + title, runs));
      files.add(kappa(dir.resolve("kappa-" + e.getKey() + ".png"), "kappa_eff from the service, seed 0: " + title, runs));
      files.add(spectrum(dir.resolve("spectrum-" + e.getKey() + ".png"), "probe spectrum edges, seed 0: " + title, runs));
    }
    return files;
  }

  private static Map<String, List<Run.Result>> byArm(List<Run.Result> runs) {
    Map<String, List<Run.Result>> m = new LinkedHashMap<>();
    runs.forEach(r -> m.computeIfAbsent(r.spec().arm().label(), k -> new ArrayList<>()).add(r));
    return m;
  }

  static Path loss(Path file, String title, List<Run.Result> runs) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (Map.Entry<String, List<Run.Result>> e : byArm(runs).entrySet()) {
      int t = e.getValue().get(0).batchLoss().length;
      double[] mean = new double[t];
      int[] count = new int[t];
      for (Run.Result r : e.getValue()) {
        for (int s = 0; s < r.stepsRun(); s++) {
          if (Double.isFinite(r.batchLoss()[s])) {
            mean[s] += r.batchLoss()[s];
            count[s]++;
          }
        }
      }
      int window = Math.max(1, t / 40);
      XYSeries series = new XYSeries(e.getKey(), false, false);
      for (int s = 0; s < t; s++) {
        double sum = 0;
        int n = 0;
        for (int i = Math.max(0, s - window + 1); i <= s; i++) {
          if (count[i] > 0) {
            sum += mean[i] / count[i];
            n++;
          }
        }
        if (n > 0 && sum > 0) {
          series.add(s, sum / n);
        }
      }
      data.addSeries(series);
    }
    return write(file, title, data, "loss");
  }

  static Path phi(Path file, String title, List<Run.Result> runs) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (Map.Entry<String, List<Run.Result>> e : byArm(runs).entrySet()) {
      Run.Result r = e.getValue().get(0);
      if (r.spec().arm().isBaseline()) {
        continue;
      }
      XYSeries series = new XYSeries(e.getKey(), false, false);
      for (int s = 0; s < r.stepsRun(); s++) {
        if (Double.isFinite(r.phi()[s]) && r.phi()[s] > 0) {
          series.add(s, r.phi()[s]);
        }
      }
      data.addSeries(series);
    }
    return write(file, title, data, "phi");
  }

  static Path kappa(Path file, String title, List<Run.Result> runs) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (Map.Entry<String, List<Run.Result>> e : byArm(runs).entrySet()) {
      Run.Result r = e.getValue().get(0);
      if (r.probes().isEmpty()) {
        continue;
      }
      XYSeries series = new XYSeries(e.getKey(), false, false);
      r.probes().stream().filter(p -> p.kappa() > 0).forEach(p -> series.add(p.step(), p.kappa()));
      data.addSeries(series);
    }
    return write(file, title, data, "kappa_eff = lambda_max / lambda_low");
  }

  static Path spectrum(Path file, String title, List<Run.Result> runs) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    Run.Result r = runs.stream().filter(x -> x.spec().arm().isKappa() && x.spec().seed() == 0 && !x.probes().isEmpty())
        .findFirst().orElse(runs.stream().filter(x -> !x.probes().isEmpty()).findFirst().orElse(null));
    if (r != null) {
      XYSeries max = new XYSeries("raw lambda_max", false, false);
      XYSeries low = new XYSeries("raw smallest converged positive Ritz value", false, false);
      XYSeries neg = new XYSeries("-raw lambda_min (when < 0)", false, false);
      XYSeries est = new XYSeries("service lambda_low (EWMA)", false, false);
      for (Run.Probe p : r.probes()) {
        if (p.raw().lambdaMax() > 0) {
          max.add(p.step(), p.raw().lambdaMax());
        }
        if (p.raw().converged()) {
          low.add(p.step(), p.raw().smallestConvergedPositive());
        }
        if (p.raw().lambdaMin() < 0) {
          neg.add(p.step(), -p.raw().lambdaMin());
        }
        if (p.lambdaLow() > 0) {
          est.add(p.step(), p.lambdaLow());
        }
      }
      for (XYSeries s : List.of(max, low, neg, est)) {
        data.addSeries(s);
      }
      title = title + " (" + r.spec().arm().label() + ")";
    }
    return write(file, title, data, "eigenvalue");
  }

  private static Path write(Path file, String title, XYSeriesCollection data, String yLabel)
      throws IOException {
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    for (int i = 0; i < data.getSeriesCount(); i++) {
      renderer.setSeriesStroke(i, new BasicStroke(1.6f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND,
          10f, i < 8 ? null : new float[] {6f, 3f}, 0f));
    }
    boolean positive = true;
    for (int i = 0; i < data.getSeriesCount(); i++) {
      positive &= data.getSeries(i).getItemCount() == 0 || data.getSeries(i).getMinY() > 0;
    }
    ValueAxis y;
    // log scale when every value allows it
    if (positive && data.getSeriesCount() > 0) {
      LogAxis axis = new LogAxis(yLabel);
      axis.setSmallestValue(1e-12);
      y = axis;
    } else {
      y = new NumberAxis(yLabel);
    }
    XYPlot plot = new XYPlot(data, new NumberAxis("step"), y, renderer);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    JFreeChart chart = new JFreeChart(title, new java.awt.Font("SansSerif", java.awt.Font.BOLD, 13), plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, 1000, 600);
    return file;
  }
}
