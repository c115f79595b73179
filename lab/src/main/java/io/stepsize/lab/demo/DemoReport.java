package io.stepsize.lab.demo;

import io.stepsize.proto.v1.LearningRate;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The demo's outputs: the comparison table (stdout), the live run and its probes as CSV (doubles
 * in full precision, shortest round-trip form, as every Stepsize CSV), the table as CSV, the
 * four charts of lr, φ, κ and loss against step, and the service's curvature per probe (DESIGN.md
 * §1.7): λ_max next to the gradient-weighted λ_h, and the edge ratio against its line at 1.
 */
public final class DemoReport {
  public static final int WIDTH = 1000;
  public static final int HEIGHT = 560;
  /** Smoothing of the mini-batch loss in loss.png: an EMA with a memory of about 1/ALPHA steps. */
  static final double LOSS_EMA_ALPHA = 0.05;

  private DemoReport() {}

  /** Writes every file of {@link DemoRun#FILES} into {@code out}; returns their paths in that order. */
  static List<Path> write(Path out, DemoSettings settings, LiveTrace live, List<RunResult> runs) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String name : DemoRun.FILES) {
      files.add(out.resolve(name));
    }
    DemoRun.writeText(files.get(0), liveCsv(live));
    DemoRun.writeText(files.get(1), probesCsv(live));
    DemoRun.writeText(files.get(2), resultsCsv(runs));
    String about = about(settings);
    double[] probeSteps = live.probes().stream().mapToDouble(LiveTrace.ProbeRecord::step).toArray();

    DemoCharts lr = new DemoCharts("Learning rate per step", about, "learning rate", false);
    for (RunResult r : runs) {
      lr.line(r.name(), r.lr());
    }
    for (io.stepsize.proto.v1.Revision v : live.revisions()) {
      lr.event(v.getFromStep(), "revision " + v.getNumber() + ": " + v.getReason());
    }
    lr.writePng(files.get(3).toFile(), WIDTH, HEIGHT);

    double[] phi = DemoRun.phis(live.served());
    double[] fixedPhi = new double[phi.length];
    java.util.Arrays.fill(fixedPhi, settings.fixedPhi());
    DemoCharts phiChart = new DemoCharts("UBA shape phi per step, as Stepsize served it", String.format(Locale.ROOT,
        "phi = clamp(%s * (2 kappa)^%s, 0.1, 1000) once an estimate applies, fallback phi before; grey lines: probes",
        DemoRun.format(settings.phiScale()), DemoRun.format(settings.phiExponent())), "phi", true);
    phiChart.line(runs.get(0).name(), phi).line("UBA, fixed phi=" + DemoRun.format(settings.fixedPhi()), fixedPhi);
    probeSteps(phiChart, live);
    phiChart.writePng(files.get(4).toFile(), WIDTH, HEIGHT);

    double[] kappa = new double[phi.length];
    for (int s = 0; s < kappa.length; s++) {
      kappa[s] = live.served()[s].getKappa();
    }
    double[] single = live.probes().stream().mapToDouble(p -> p.ritzLow() > 0 ? p.ritzMax() / p.ritzLow() : Double.NaN)
        .toArray();
    DemoCharts kappaChart = new DemoCharts("Condition number kappa = lambda_max / lambda_low",
        "line: the estimate each step's phi used (EWMA over probes); dots: each Lanczos probe alone (m = "
            + settings.lanczosSteps() + ")", "kappa", true);
    kappaChart.line("kappa used at the step (Stepsize)", kappa).dots("kappa of one probe", probeSteps, single);
    probeSteps(kappaChart, live);
    kappaChart.writePng(files.get(5).toFile(), WIDTH, HEIGHT);

    // the first tenth of the run falls steeply and alike for every schedule; the axis shows the rest,
    // where the schedules differ
    int from = runs.get(0).batchLoss().length / 10;
    double low = Double.POSITIVE_INFINITY;
    double high = 0;
    List<double[]> smoothed = new ArrayList<>();
    for (RunResult r : runs) {
      double[] e = ema(r.batchLoss(), LOSS_EMA_ALPHA);
      smoothed.add(e);
      for (int s = from; s < e.length; s++) {
        low = Math.min(low, e[s]);
        high = Math.max(high, e[s]);
      }
    }
    DemoCharts loss = new DemoCharts("Training loss per step (mini-batch, EMA over ~"
        + Math.round(1 / LOSS_EMA_ALPHA) + " steps)", about + "; y axis fitted to steps " + from + " on",
        "loss (cross-entropy + L2)", false);
    for (int i = 0; i < runs.size(); i++) {
      loss.line(runs.get(i).name(), smoothed.get(i));
    }
    if (high > low) {
      double pad = 0.05 * (high - low);
      loss.yRange(Math.max(0, low - pad), high + pad);
    }
    loss.writePng(files.get(6).toFile(), WIDTH, HEIGHT);

    curvatureChart(live).writePng(files.get(7).toFile(), WIDTH, HEIGHT);
    edgeChart(live).writePng(files.get(8).toFile(), WIDTH, HEIGHT);
    DemoRun.writeText(files.get(9), curvatureCsv(live));
    DemoRun.writeText(files.get(10), statsCsv(live));
    return files;
  }

  /**
   * A quantity the estimator reports, or NaN when it did not: λ_h and the edge ratio are positive when
   * they mean anything (λ_h is a mean of θ_i > τ > 0; η > 0 and λ_max > 0 for the ratio), while an
   * estimator that does not fill them leaves 0, and NaN stands for "not defined" (no gradient start, an
   * Adam job with Hessian probes). Neither may be drawn as a curvature of 0.
   */
  static double reported(double v) {
    return Double.isFinite(v) && v > 0 ? v : Double.NaN;
  }

  private static long countReported(double[] v) {
    return java.util.Arrays.stream(v).filter(Double::isFinite).count();
  }

  /** λ_max and λ_h of every estimate (log axis), and alpha[0] = ĝᵀHĝ of each probe alone. */
  static DemoCharts curvatureChart(LiveTrace live) {
    List<io.stepsize.proto.v1.CurvaturePoint> points = live.points();
    double[] step = points.stream().mapToDouble(io.stepsize.proto.v1.CurvaturePoint::getStep).toArray();
    double[] max = points.stream().mapToDouble(p -> reported(p.getLambdaMax())).toArray();
    double[] harmonic = points.stream().mapToDouble(p -> reported(p.getLambdaHarmonic())).toArray();
    double[] probeSteps = live.probes().stream().mapToDouble(LiveTrace.ProbeRecord::step).toArray();
    double[] alpha0 = live.probes().stream()
        .mapToDouble(p -> p.start() == io.stepsize.proto.v1.Start.START_GRADIENT ? reported(p.alpha0()) : Double.NaN)
        .toArray();
    String note = countReported(harmonic) == 0
        ? "; no estimate carried lambda_h (0 or NaN: not reported by this estimator)" : "";
    DemoCharts chart = new DemoCharts("Curvature per estimate: lambda_max and the gradient-weighted lambda_h",
        "lambda_h = sum w_i / sum (w_i / theta_i) over theta_i > floor, w_i the gradient's energy per Ritz direction;"
            + " dots: g^T H g of each probe" + note, "curvature", true);
    chart.steps(live.totalSteps()).line("lambda_max (Stepsize)", step, max)
        .line("lambda_h (Stepsize)", step, harmonic)
        .dots("g^T H g of one probe (alpha[0])", probeSteps, alpha0);
    probeSteps(chart, live);
    return chart;
  }

  /** The edge ratio η·λ_max/threshold at each estimate's probe step, with the edge of stability at 1. */
  static DemoCharts edgeChart(LiveTrace live) {
    List<io.stepsize.proto.v1.CurvaturePoint> points = live.points();
    double[] step = points.stream().mapToDouble(io.stepsize.proto.v1.CurvaturePoint::getStep).toArray();
    double[] ratio = points.stream().mapToDouble(p -> reported(p.getEdgeRatio())).toArray();
    String note = countReported(ratio) == 0 ? "; no estimate carried an edge ratio (0 or NaN: not reported)" : "";
    DemoCharts chart = new DemoCharts("Edge ratio: lr * lambda_max / stability threshold",
        "at each probe step, as the service computed it; above 1 the step is beyond the edge of stability"
            + note, "edge ratio", false);
    chart.steps(live.totalSteps()).line("edge ratio (Stepsize)", step, ratio).level(1.0, "edge of stability");
    probeSteps(chart, live);
    return chart;
  }

  /** The service's gradient statistics of the run (GetGradientStats): one row per step it kept. */
  static String statsCsv(LiveTrace live) {
    StringBuilder csv = new StringBuilder(48 * live.gradientStats().size() + 32);
    csv.append("step,loss,grad_norm,workers\n");
    for (io.stepsize.proto.v1.GradientStatsPoint p : live.gradientStats()) {
      csv.append(p.getStep()).append(',').append(p.getLoss()).append(',').append(p.getGradNorm()).append(',')
          .append(p.getWorkers()).append('\n');
    }
    return csv.toString();
  }

  /** One row per estimate, with the trainer's own view of the probe of that step when it made one. */
  static String curvatureCsv(LiveTrace live) {
    java.util.Map<Long, LiveTrace.ProbeRecord> byStep = new java.util.HashMap<>();
    live.probes().forEach(p -> byStep.put(p.step(), p));
    StringBuilder csv = new StringBuilder("step,probes,start,alpha0,lambda_max,lambda_low,lambda_harmonic,"
        + "gradient_sharpness,negative_mass,edge_ratio\n");
    for (io.stepsize.proto.v1.CurvaturePoint c : live.points()) {
      LiveTrace.ProbeRecord p = byStep.get(c.getStep());
      csv.append(c.getStep()).append(',').append(c.getProbes()).append(',')
          .append(p == null ? "" : p.start().name().substring("START_".length()).toLowerCase(Locale.ROOT))
          .append(',').append(p == null ? "" : Double.toString(p.alpha0())).append(',').append(c.getLambdaMax())
          .append(',').append(c.getLambdaLow()).append(',').append(c.getLambdaHarmonic()).append(',')
          .append(c.getGradientSharpness()).append(',').append(c.getNegativeMass()).append(',')
          .append(c.getEdgeRatio()).append('\n');
    }
    return csv.toString();
  }

  private static void probeSteps(DemoCharts chart, LiveTrace live) {
    for (LiveTrace.ProbeRecord p : live.probes()) {
      chart.marker(p.step());
    }
  }

  static double[] ema(double[] v, double alpha) {
    double[] out = new double[v.length];
    double m = v.length == 0 ? 0 : v[0];
    for (int i = 0; i < v.length; i++) {
      m = i == 0 ? v[0] : (1 - alpha) * m + alpha * v[i];
      out[i] = m;
    }
    return out;
  }

  /** One line on what was trained, for chart subtitles and the table's heading. */
  static String about(DemoSettings s) {
    Model model = s.newModel();
    String what = s.model().equals("mlp") ? "MLP (64-" + s.hidden() + "-10, tanh)" : "softmax regression";
    return String.format(Locale.ROOT, "%s, %,d parameters, L2 %s; digits %,d train / %,d test; %,d SGD steps "
        + "(batch %d, momentum %s), lr in [%s, %s]", what, model.dimension(), DemoRun.format(s.l2()),
        Digits.SIZE - DemoSettings.TEST_SIZE, DemoSettings.TEST_SIZE, s.revisedSteps(), s.batchSize(),
        DemoRun.format(s.momentum()), DemoRun.format(s.lrMin()), DemoRun.format(s.lrMax()));
  }

  /** The lines above the table: what was trained and how the live run went. */
  public static String heading(DemoRun.Result r) {
    LiveTrace live = r.live();
    return "Stepsize demo: " + about(r.settings()) + System.lineSeparator()
        + String.format(Locale.ROOT, "live run (job %s): %,d steps answered by the service over gRPC, %,d by the "
            + "client's local fallback; %d Lanczos probes reported", live.spec().getJobId(), live.remoteAnswers(),
            live.localAnswers(), live.probes().size())
        + (live.lateEstimates() == 0 ? "" : "; " + live.lateEstimates() + " estimates arrived late")
        + revisions(live, r.settings());
  }

  /** One line per revision of the live run: where, the budget before and after, and why. */
  static String revisions(LiveTrace live, DemoSettings settings) {
    StringBuilder t = new StringBuilder();
    long before = settings.steps();
    for (io.stepsize.proto.v1.Revision v : live.revisions()) {
      long after = v.hasTotalSteps() ? v.getTotalSteps() : before;
      t.append(System.lineSeparator()).append(String.format(Locale.ROOT, "revision %d at step %,d (ReviseJob): "
          + "total_steps %,d -> %,d, reason \"%s\"; the baselines below train %,d steps planned from the start",
          v.getNumber(), v.getFromStep(), before, after, v.getReason(), live.totalSteps()));
      before = after;
    }
    return t.toString();
  }

  /**
   * The comparison table as printed by {@code stepsize demo}: one row per schedule, live run first,
   * with the steps each trained (the live run's as "planned -> trained at the revision's step").
   */
  public static String table(DemoRun.Result result) {
    List<RunResult> runs = result.runs();
    LiveTrace live = result.live();
    int nameWidth = "schedule".length();
    for (RunResult r : runs) {
      nameWidth = Math.max(nameWidth, r.name().length());
    }
    StringBuilder t = new StringBuilder();
    String header = String.format(Locale.ROOT, "%-" + nameWidth + "s  %-22s  %16s  %10s  %13s%n", "schedule",
        "steps", "final train loss", "test loss", "test accuracy");
    t.append(header);
    t.append("-".repeat(header.strip().length())).append('\n');
    for (RunResult r : runs) {
      t.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-22s  %16.4f  %10.4f  %12.2f%%%n", r.name(),
          r == live.run() ? steps(live, result.settings()) : String.format(Locale.ROOT, "%,d", r.lr().length),
          r.finalTrainLoss(), r.testLoss(), 100 * r.testAccuracy()));
    }
    return t.toString();
  }

  /** "1,500", or for a revised run "1,000 -> 1,500 at 500" (planned, trained, the first revision's step). */
  private static String steps(LiveTrace live, DemoSettings settings) {
    String total = String.format(Locale.ROOT, "%,d", live.totalSteps());
    return live.revisions().isEmpty() ? total : String.format(Locale.ROOT, "%,d -> %s at %,d", settings.steps(),
        total, live.revisions().get(0).getFromStep());
  }

  static String liveCsv(LiveTrace live) {
    StringBuilder csv = new StringBuilder(64 * live.served().length + 100);
    csv.append("step,lr,phi,factor,phase,kappa,lambda_low,lambda_max,curvature_step,source,batch_loss,probed,"
        + "revision\n");
    java.util.Set<Long> probed = new java.util.HashSet<>();
    live.probes().forEach(p -> probed.add(p.step()));
    double[] loss = live.run().batchLoss();
    for (int s = 0; s < live.served().length; s++) {
      LearningRate a = live.served()[s];
      csv.append(s).append(',').append(a.getLr()).append(',').append(a.getPhi()).append(',').append(a.getFactor())
          .append(',').append(a.getPhase()).append(',').append(a.getKappa()).append(',').append(a.getLambdaLow())
          .append(',').append(a.getLambdaMax()).append(',').append(a.getCurvatureStep()).append(',')
          .append(a.getSource().name().substring("SOURCE_".length()).toLowerCase(Locale.ROOT)).append(',')
          .append(loss[s]).append(',').append(probed.contains((long) s) ? 1 : 0).append(',').append(a.getRevision())
          .append('\n');
    }
    return csv.toString();
  }

  static String probesCsv(LiveTrace live) {
    StringBuilder csv = new StringBuilder("step,lanczos_steps,ritz_max,ritz_min,ritz_low,visible_after_ms\n");
    for (LiveTrace.ProbeRecord p : live.probes()) {
      csv.append(p.step()).append(',').append(p.lanczosSteps()).append(',').append(p.ritzMax()).append(',')
          .append(p.ritzMin()).append(',').append(p.ritzLow()).append(',')
          .append(String.format(Locale.ROOT, "%.1f", p.visibleAfterMillis())).append('\n');
    }
    return csv.toString();
  }

  static String resultsCsv(List<RunResult> runs) {
    StringBuilder csv = new StringBuilder("schedule,final_train_loss,test_loss,test_accuracy\n");
    for (RunResult r : runs) {
      csv.append('"').append(r.name()).append("\",").append(r.finalTrainLoss()).append(',').append(r.testLoss())
          .append(',').append(r.testAccuracy()).append('\n');
    }
    return csv.toString();
  }
}
