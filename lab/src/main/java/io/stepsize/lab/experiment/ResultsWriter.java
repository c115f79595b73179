package io.stepsize.lab.experiment;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

/**
 * Writes the grid's results: {@value #RUNS} (one row per run), {@value #PROBES} (one row per probe),
 * {@value #STEPS} (every step of every run), {@value #SUMMARY_CSV} and {@value #SUMMARY_MD}
 * (mean ± std over seeds per cell, win/tie/loss tables and the curvature seen). CSV doubles are
 * printed in full precision so the tables can be recomputed from the runs.
 */
public final class ResultsWriter {
  public static final String RUNS = "runs.csv";
  public static final String PROBES = "probes.csv";
  public static final String STEPS = "steps.csv.gz";
  public static final String SUMMARY_CSV = "summary.csv";
  public static final String SUMMARY_MD = "summary.md";

  public static final String RUNS_HEADER = "index,workload,optimizer,budget_pct,total_steps,warmup_steps,seed,arm,job_id,"
      + "train_loss,test_loss,test_accuracy,diverged,steps_run,probes,kappa_median,phi_first,phi_last,"
      + "indefinite_fraction,converged_fraction,wall_ms";
  public static final String PROBES_HEADER = "index,workload,optimizer,budget_pct,seed,arm,step,phase,raw_lambda_min,"
      + "raw_lambda_max,raw_smallest_converged_positive,lambda_min,lambda_low,lambda_max,kappa";
  public static final String STEPS_HEADER = "index,step,lr,phi,kappa,batch_loss";
  public static final String SUMMARY_HEADER = "workload,optimizer,budget_pct,arm,runs,diverged,test_accuracy_mean,"
      + "test_accuracy_std,train_loss_mean,train_loss_std,test_loss_mean,test_loss_std,kappa_median";

  private ResultsWriter() {}

  public static void writeAll(Path dir, List<Run.Result> results, String description) throws IOException {
    Files.createDirectories(dir);
    writeRuns(dir.resolve(RUNS), results);
    writeProbes(dir.resolve(PROBES), results);
    writeSteps(dir.resolve(STEPS), results);
    writeSummaryCsv(dir.resolve(SUMMARY_CSV), results);
    Files.writeString(dir.resolve(SUMMARY_MD), markdown(results, description), StandardCharsets.UTF_8);
  }

  static String d(double v) {
    return Double.isNaN(v) ? "" : Double.toString(v);
  }

  /** The median service κ a run saw (NaN when it had no probes or no condition number). */
  public static double kappaMedian(Run.Result r) {
    return Summary.median(r.probes().stream().mapToDouble(Run.Probe::kappa).filter(k -> k > 0).toArray());
  }

  static double firstFinite(double[] v) {
    for (double x : v) {
      if (Double.isFinite(x)) {
        return x;
      }
    }
    return Double.NaN;
  }

  static double lastFinite(double[] v) {
    for (int i = v.length - 1; i >= 0; i--) {
      if (Double.isFinite(v[i])) {
        return v[i];
      }
    }
    return Double.NaN;
  }

  static double fraction(List<Run.Probe> probes, java.util.function.Predicate<Run.Probe> p) {
    return probes.isEmpty() ? Double.NaN : (double) probes.stream().filter(p).count() / probes.size();
  }

  static void writeRuns(Path file, List<Run.Result> results) throws IOException {
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
      out.println(RUNS_HEADER);
      for (Run.Result r : results) {
        Run.Spec s = r.spec();
        out.println(String.join(",", Integer.toString(s.index()), s.workload().name(), s.optimizer().label(),
            Integer.toString(s.budgetPercent()), Long.toString(s.totalSteps()), Long.toString(s.warmupSteps()),
            Long.toString(s.seed()), s.arm().label(), s.jobId(), d(r.trainLoss()), d(r.testLoss()),
            d(r.testAccuracy()), Boolean.toString(r.diverged()), Long.toString(r.stepsRun()),
            Integer.toString(r.probes().size()), d(kappaMedian(r)), d(firstFinite(r.phi())), d(lastFinite(r.phi())),
            d(fraction(r.probes(), p -> p.raw().indefinite())), d(fraction(r.probes(), p -> p.raw().converged())),
            Long.toString(r.wallMillis())));
      }
    }
  }

  static void writeProbes(Path file, List<Run.Result> results) throws IOException {
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
      out.println(PROBES_HEADER);
      for (Run.Result r : results) {
        Run.Spec s = r.spec();
        for (Run.Probe p : r.probes()) {
          out.println(String.join(",", Integer.toString(s.index()), s.workload().name(), s.optimizer().label(),
              Integer.toString(s.budgetPercent()), Long.toString(s.seed()), s.arm().label(), Long.toString(p.step()),
              Long.toString(p.phase()), d(p.raw().lambdaMin()), d(p.raw().lambdaMax()),
              d(p.raw().smallestConvergedPositive()), d(p.lambdaMin()), d(p.lambdaLow()), d(p.lambdaMax()),
              d(p.kappa())));
        }
      }
    }
  }

  static void writeSteps(Path file, List<Run.Result> results) throws IOException {
    try (Writer w = new OutputStreamWriter(new GZIPOutputStream(Files.newOutputStream(file), 1 << 16),
        StandardCharsets.UTF_8); PrintWriter out = new PrintWriter(w)) {
      out.println(STEPS_HEADER);
      for (Run.Result r : results) {
        for (int s = 0; s < r.stepsRun(); s++) {
          out.println(r.spec().index() + "," + s + "," + d(r.lr()[s]) + "," + d(r.phi()[s]) + "," + d(r.kappa()[s])
              + "," + d(r.batchLoss()[s]));
        }
      }
    }
  }

  static void writeSummaryCsv(Path file, List<Run.Result> results) throws IOException {
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
      out.println(SUMMARY_HEADER);
      for (Map.Entry<Summary.Cell, List<Run.Result>> e : Summary.byCell(results).entrySet()) {
        Summary.Cell c = e.getKey();
        List<Run.Result> runs = e.getValue();
        Summary.Stat acc = Summary.stat(runs, Run.Result::testAccuracy);
        Summary.Stat train = Summary.stat(runs, Run.Result::trainLoss);
        Summary.Stat test = Summary.stat(runs, Run.Result::testLoss);
        double kappa = Summary.median(runs.stream().mapToDouble(ResultsWriter::kappaMedian).toArray());
        out.println(String.join(",", c.workload(), c.optimizer(), Integer.toString(c.budgetPercent()), c.arm(),
            Integer.toString(runs.size()), Long.toString(runs.stream().filter(Run.Result::diverged).count()),
            d(acc.mean()), d(acc.std()), d(train.mean()), d(train.std()), d(test.mean()), d(test.std()), d(kappa)));
      }
    }
  }

  static String pm(Summary.Stat s, int digits) {
    if (s.n() == 0) {
      return "diverged";
    }
    String f = "%." + digits + "f ± %." + digits + "f";
    String v = String.format(Locale.ROOT, f, s.mean(), s.std());
    return s.missing() > 0 ? v + " (" + s.missing() + " div.)" : v;
  }

  static String g(double v) {
    if (!Double.isFinite(v)) {
      return "—";
    }
    return String.format(Locale.ROOT, Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v != 0) ? "%.3g" : "%.3f", v);
  }

  /** The markdown report: per (workload, optimizer) tables, win/tie/loss of UBA arms, curvature. */
  public static String markdown(List<Run.Result> results, String description) {
    StringBuilder md = new StringBuilder();
    md.append("# Experiment results\n\n").append(description).append("\n\n");
    Map<Summary.Cell, List<Run.Result>> cells = Summary.byCell(results);
    Set<String> pairs = new LinkedHashSet<>();
    Set<Integer> budgets = new java.util.TreeSet<>();
    Set<String> arms = new LinkedHashSet<>();
    for (Summary.Cell c : cells.keySet()) {
      pairs.add(c.workload() + "/" + c.optimizer());
      budgets.add(c.budgetPercent());
      arms.add(c.arm());
    }
    for (String pair : pairs) {
      String[] wo = pair.split("/");
      md.append("## ").append(wo[0]).append(", ").append(wo[1]).append("\n\n");
      md.append("Test accuracy (mean ± std over seeds), then final training loss; κ is the median of the "
          + "service's κ_eff over the probes of the 100% runs.\n\n");
      md.append("| arm |");
      for (int b : budgets) {
        md.append(" acc ").append(b).append("% |");
      }
      for (int b : budgets) {
        md.append(" train loss ").append(b).append("% |");
      }
      md.append(" κ |\n|---|");
      md.append("---|".repeat(2 * budgets.size() + 1)).append('\n');
      for (String arm : arms) {
        md.append("| ").append(arm).append(" |");
        List<Run.Result> top = null;
        for (int b : budgets) {
          List<Run.Result> runs = cells.get(new Summary.Cell(wo[0], wo[1], b, arm));
          md.append(' ').append(runs == null ? "" : pm(Summary.stat(runs, Run.Result::testAccuracy), 4)).append(" |");
          top = runs == null ? top : runs;
        }
        for (int b : budgets) {
          List<Run.Result> runs = cells.get(new Summary.Cell(wo[0], wo[1], b, arm));
          md.append(' ').append(runs == null ? "" : pm(Summary.stat(runs, Run.Result::trainLoss), 4)).append(" |");
        }
        double kappa = top == null ? Double.NaN
            : Summary.median(top.stream().mapToDouble(ResultsWriter::kappaMedian).toArray());
        md.append(' ').append(g(kappa)).append(" |\n");
      }
      md.append('\n');
    }
    appendComparisons(md, cells, arms, "test accuracy", Run.Result::testAccuracy, true);
    appendComparisons(md, cells, arms, "final training loss", Run.Result::trainLoss, false);
    appendCurvature(md, results);
    return md.toString();
  }

  private static void appendComparisons(StringBuilder md, Map<Summary.Cell, List<Run.Result>> cells, Set<String> arms,
      String metricName, java.util.function.ToDoubleFunction<Run.Result> metric, boolean higher) {
    List<String> uba = arms.stream().filter(a -> a.startsWith("uba-")).toList();
    if (uba.isEmpty()) {
      return;
    }
    md.append("## Win / tie / loss by ").append(metricName).append("\n\n");
    md.append("Each entry is W-T-L of the row arm against the column arm over every (workload, optimizer, budget) "
        + "cell, paired by seed: a win or loss needs |mean Δ| > 2·sd(Δ)/√n, else a tie.\n\n");
    List<String> cols = new ArrayList<>(arms);
    md.append("| arm |");
    cols.forEach(c -> md.append(' ').append(c).append(" |"));
    md.append("\n|---|").append("---|".repeat(cols.size())).append('\n');
    for (String a : uba) {
      md.append("| ").append(a).append(" |");
      for (String b : cols) {
        if (a.equals(b)) {
          md.append(" · |");
          continue;
        }
        int[] wtl = new int[3];
        for (Map.Entry<Summary.Cell, List<Run.Result>> e : cells.entrySet()) {
          Summary.Cell c = e.getKey();
          if (!c.arm().equals(a)) {
            continue;
          }
          List<Run.Result> other = cells.get(new Summary.Cell(c.workload(), c.optimizer(), c.budgetPercent(), b));
          if (other != null) {
            Summary.Outcome o = Summary.compare(e.getValue(), other, metric, higher);
            wtl[o == Summary.Outcome.WIN ? 0 : o == Summary.Outcome.TIE ? 1 : 2]++;
          }
        }
        md.append(' ').append(wtl[0]).append('-').append(wtl[1]).append('-').append(wtl[2]).append(" |");
      }
      md.append('\n');
    }
    md.append('\n');
  }

  private static void appendCurvature(StringBuilder md, List<Run.Result> results) {
    md.append("## Curvature the probes measured\n\n");
    md.append("Raw columns read each probe alone (its Ritz values); κ_eff is the service's smoothed estimate. "
        + "\"indefinite\" = λ_min < 0; \"converged λ_low\" = the smallest_positive rule found a positive Ritz value "
        + "with residual ≤ 1e-2·θ (else λ_low came from the floor rule, floor_ratio·λ_max).\n\n");
    md.append("| workload | optimizer | probes | indefinite | converged λ_low | raw λ_max (median) | raw λ_min (median) "
        + "| λ_low (median) | κ_eff median | κ_eff 10%–90% |\n|---|---|---|---|---|---|---|---|---|---|\n");
    Map<String, List<Run.Probe>> by = new java.util.LinkedHashMap<>();
    for (Run.Result r : results) {
      by.computeIfAbsent(r.spec().workload().name() + "|" + r.spec().optimizer().label(), k -> new ArrayList<>())
          .addAll(r.probes());
    }
    for (Map.Entry<String, List<Run.Probe>> e : by.entrySet()) {
      List<Run.Probe> ps = e.getValue();
      if (ps.isEmpty()) {
        continue;
      }
      String[] k = e.getKey().split("\\|");
      double[] kap = ps.stream().mapToDouble(Run.Probe::kappa).filter(x -> x > 0).toArray();
      md.append("| ").append(k[0]).append(" | ").append(k[1]).append(" | ").append(ps.size()).append(" | ")
          .append(g(fraction(ps, p -> p.raw().indefinite()))).append(" | ")
          .append(g(fraction(ps, p -> p.raw().converged()))).append(" | ")
          .append(g(Summary.median(ps.stream().mapToDouble(p -> p.raw().lambdaMax()).toArray()))).append(" | ")
          .append(g(Summary.median(ps.stream().mapToDouble(p -> p.raw().lambdaMin()).toArray()))).append(" | ")
          .append(g(Summary.median(ps.stream().mapToDouble(Run.Probe::lambdaLow).toArray()))).append(" | ")
          .append(g(Summary.median(kap))).append(" | ")
          .append(g(Summary.quantile(kap, 0.1))).append("–").append(g(Summary.quantile(kap, 0.9))).append(" |\n");
    }
    md.append('\n');
  }
}
