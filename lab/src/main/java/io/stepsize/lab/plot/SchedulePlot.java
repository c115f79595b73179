package io.stepsize.lab.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** A learning-rate-versus-step line chart of several schedules, written as a PNG. */
public final class SchedulePlot {

  /** Above this many steps a series is drawn from every n-th step, so files stay small and fast. */
  static final int MAX_POINTS_PER_SERIES = 4000;

  private final String title;
  private final List<XYSeries> series = new ArrayList<>();
  private final List<Long> markers = new ArrayList<>();

  public SchedulePlot(String title) {
    this.title = title;
  }

  /** Adds one schedule: lr[s] for s = 0..lr.length-1. */
  public SchedulePlot add(String name, long steps, LongToDoubleFunction lr) {
    XYSeries s = new XYSeries(name, false, false);
    // only the sampled steps are evaluated: a budget of billions of steps costs MAX_POINTS_PER_SERIES
    long stride = Math.max(1, (steps + MAX_POINTS_PER_SERIES - 1) / MAX_POINTS_PER_SERIES);
    for (long i = 0; i < steps; i += stride) {
      s.add(i, lr.applyAsDouble(i));
    }
    if ((steps - 1) % stride != 0) {
      s.add(steps - 1, lr.applyAsDouble(steps - 1)); // always show the last step
    }
    series.add(s);
    return this;
  }

  /** A dashed vertical line at a step (end of warmup, phase boundaries). */
  public SchedulePlot marker(long step) {
    markers.add(step);
    return this;
  }

  /** Renders width × height pixels to a PNG file. */
  public void writePng(File file, int width, int height) throws IOException {
    // no display on servers; AWT must not try to open one
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
    XYSeriesCollection data = new XYSeriesCollection();
    series.forEach(data::addSeries);
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    for (int i = 0; i < series.size(); i++) {
      renderer.setSeriesStroke(i, new BasicStroke(2f));
    }
    XYPlot plot = new XYPlot(data, new NumberAxis("step"), new NumberAxis("learning rate"), renderer);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(true);
    for (long step : markers) {
      ValueMarker m = new ValueMarker(step, Color.GRAY,
          new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {4f, 4f}, 0f));
      plot.addDomainMarker(m);
    }
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(file, chart, width, height);
  }
}
