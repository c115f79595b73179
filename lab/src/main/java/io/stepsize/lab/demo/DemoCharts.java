package io.stepsize.lab.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * One "quantity against step" chart of the demo, as a PNG: several series, the live run drawn
 * first and thickest, optional dots (the probes) and dashed vertical markers.
 */
final class DemoCharts {
  /** The live run is always the first colour; baselines follow in a fixed order. */
  private static final Paint[] COLORS = {
      new Color(0xC0, 0x1C, 0x28), new Color(0x1F, 0x77, 0xB4), new Color(0x2C, 0xA0, 0x2C),
      new Color(0x94, 0x67, 0xBD), new Color(0xFF, 0x7F, 0x0E), new Color(0x8C, 0x56, 0x4B)};

  private final String title;
  private final String subtitle;
  private final String yLabel;
  private final boolean logY;
  private final List<XYSeries> lines = new ArrayList<>();
  private final List<XYSeries> dots = new ArrayList<>();
  private final List<Long> markers = new ArrayList<>();
  private final List<java.util.Map.Entry<Long, String>> events = new ArrayList<>();
  private final List<java.util.Map.Entry<Double, String>> levels = new ArrayList<>();
  private double yLower = Double.NaN;
  private double yUpper = Double.NaN;
  private double xUpper = Double.NaN;

  /** @param logY a log axis when the values span more than a factor {@value #MIN_LOG_SPREAD} */
  DemoCharts(String title, String subtitle, String yLabel, boolean logY) {
    this.title = title;
    this.subtitle = subtitle;
    this.yLabel = yLabel;
    this.logY = logY;
  }

  /** A line through y[s], s = 0..n-1; values that a log axis cannot show (≤ 0, NaN) are skipped. */
  DemoCharts line(String name, double[] y) {
    XYSeries s = new XYSeries(name, false, true);
    for (int i = 0; i < y.length; i++) {
      if (shows(y[i])) {
        s.add(i, y[i]);
      }
    }
    lines.add(s);
    return this;
  }

  /** A line through (x[i], y[i]), e.g. one point per probe; values the axis cannot show are skipped. */
  DemoCharts line(String name, double[] x, double[] y) {
    XYSeries s = new XYSeries(name, false, true);
    for (int i = 0; i < x.length; i++) {
      if (shows(y[i])) {
        s.add(x[i], y[i]);
      }
    }
    lines.add(s);
    return this;
  }

  /** A dashed horizontal line with a label at y (a threshold); it also keeps y inside the axis range. */
  DemoCharts level(double y, String label) {
    levels.add(java.util.Map.entry(y, label));
    return this;
  }

  /** Unconnected dots at (x[i], y[i]). */
  DemoCharts dots(String name, double[] x, double[] y) {
    XYSeries s = new XYSeries(name, false, true);
    for (int i = 0; i < x.length; i++) {
      if (shows(y[i])) {
        s.add(x[i], y[i]);
      }
    }
    dots.add(s);
    return this;
  }

  /** A fixed y range instead of the automatic one (lines leaving it are clipped). */
  DemoCharts yRange(double lower, double upper) {
    this.yLower = lower;
    this.yUpper = upper;
    return this;
  }

  /** The step axis from 0 to {@code upper} (the run's budget), whatever the series cover; ignored unless > 0. */
  DemoCharts steps(double upper) {
    this.xUpper = upper;
    return this;
  }

  /** A solid vertical line with a label, for an event on the run (a revision and its reason). */
  DemoCharts event(long step, String label) {
    events.add(java.util.Map.entry(step, label));
    return this;
  }

  DemoCharts marker(long step) {
    markers.add(step);
    return this;
  }

  /** The lines and then the dot series, as added (for tests). */
  List<XYSeries> series() {
    List<XYSeries> all = new ArrayList<>(lines);
    all.addAll(dots);
    return all;
  }

  List<java.util.Map.Entry<Double, String>> levels() {
    return List.copyOf(levels);
  }

  /** Below this max/min ratio a log axis would show no labelled tick; a linear one reads better. */
  private static final double MIN_LOG_SPREAD = 30;

  private static double spread(XYSeriesCollection data) {
    double min = Double.POSITIVE_INFINITY;
    double max = 0;
    for (int i = 0; i < data.getSeriesCount(); i++) {
      XYSeries s = data.getSeries(i);
      if (!s.isEmpty()) {
        min = Math.min(min, s.getMinY());
        max = Math.max(max, s.getMaxY());
      }
    }
    return max > 0 && min > 0 ? max / min : 1;
  }

  private boolean shows(double v) {
    return Double.isFinite(v) && (!logY || v > 0);
  }

  void writePng(File file, int width, int height) throws IOException {
    // no display on servers; AWT must not try to open one
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
    XYSeriesCollection data = new XYSeriesCollection();
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    int i = 0;
    for (XYSeries s : lines) {
      data.addSeries(s);
      renderer.setSeriesPaint(i, COLORS[i % COLORS.length]);
      renderer.setSeriesStroke(i, new BasicStroke(i == 0 ? 2.6f : 1.6f));
      i++;
    }
    for (XYSeries s : dots) {
      data.addSeries(s);
      renderer.setSeriesLinesVisible(i, false);
      renderer.setSeriesShapesVisible(i, true);
      renderer.setSeriesPaint(i, Color.DARK_GRAY);
      i++;
    }
    ValueAxis y;
    if (logY && spread(data) > MIN_LOG_SPREAD) {
      // ticks at 1, 2, 3, …, 10, 20, … with plain labels, readable over a narrow range too
      LogarithmicAxis log = new LogarithmicAxis(yLabel);
      log.setStrictValuesFlag(false);
      log.setExpTickLabelsFlag(false);
      log.setLog10TickLabelsFlag(false);
      log.setAutoRangeNextLogFlag(false);
      y = log;
    } else {
      NumberAxis linear = new NumberAxis(yLabel);
      linear.setAutoRangeIncludesZero(true);
      y = linear;
    }
    if (yLower < yUpper) {
      y.setRange(yLower, yUpper);
    }
    NumberAxis x = new NumberAxis("step");
    x.setAutoRangeIncludesZero(true);
    if (xUpper > 0) {
      x.setRange(0, xUpper);
    }
    XYPlot plot = new XYPlot(data, x, y, renderer);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    for (long step : markers) {
      plot.addDomainMarker(new ValueMarker(step, new Color(0, 0, 0, 40), new BasicStroke(1f)));
    }
    for (var e : events) {
      ValueMarker m = new ValueMarker(e.getKey(), new Color(200, 0, 0, 160), new BasicStroke(1.5f));
      m.setLabel(e.getValue());
      m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      m.setLabelPaint(new Color(160, 0, 0));
      m.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
      m.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.TOP_LEFT);
      plot.addDomainMarker(m);
    }
    for (var l : levels) {
      ValueMarker m = new ValueMarker(l.getKey(), Color.BLACK, new BasicStroke(1.2f, BasicStroke.CAP_BUTT,
          BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
      m.setLabel(l.getValue());
      m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      m.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_LEFT);
      m.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.BOTTOM_LEFT);
      plot.addRangeMarker(m);
      if (!(yLower < yUpper)) {
        // a marker outside the data's range would be drawn off the chart: widen the range to show it
        double lo = Math.min(y.getLowerBound(), l.getKey());
        double hi = Math.max(y.getUpperBound(), l.getKey() * 1.1);
        y.setRange(lo, hi);
      }
    }
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    if (!subtitle.isEmpty()) {
      chart.addSubtitle(new TextTitle(subtitle, new Font(Font.SANS_SERIF, Font.PLAIN, 12)));
    }
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(file, chart, width, height);
  }
}
