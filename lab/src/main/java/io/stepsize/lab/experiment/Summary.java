package io.stepsize.lab.experiment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** Aggregates of the grid: per cell (workload, optimizer, budget, arm) and paired comparisons. */
public final class Summary {
  private Summary() {}

  /** The cell key of a result. */
  public record Cell(String workload, String optimizer, int budgetPercent, String arm) {}

  /** Mean and sample standard deviation over the finite values, with how many were not finite. */
  public record Stat(double mean, double std, int n, int missing) {
    public static Stat of(double[] values) {
      double[] finite = Arrays.stream(values).filter(Double::isFinite).toArray();
      int n = finite.length;
      double mean = n == 0 ? Double.NaN : Arrays.stream(finite).sum() / n;
      double ss = 0;
      for (double v : finite) {
        ss += (v - mean) * (v - mean);
      }
      double std = n < 2 ? (n == 1 ? 0 : Double.NaN) : Math.sqrt(ss / (n - 1));
      return new Stat(mean, std, n, values.length - n);
    }
  }

  /** Results grouped by cell, in grid order; within a cell, by seed. */
  public static Map<Cell, List<Run.Result>> byCell(List<Run.Result> results) {
    Map<Cell, List<Run.Result>> cells = new LinkedHashMap<>();
    for (Run.Result r : results) {
      Run.Spec s = r.spec();
      cells.computeIfAbsent(new Cell(s.workload().name(), s.optimizer().label(), s.budgetPercent(), s.arm().label()),
          k -> new ArrayList<>()).add(r);
    }
    for (List<Run.Result> list : cells.values()) {
      list.sort((a, b) -> Long.compare(a.spec().seed(), b.spec().seed()));
    }
    return cells;
  }

  public static Stat stat(List<Run.Result> runs, ToDoubleFunction<Run.Result> metric) {
    return Stat.of(runs.stream().mapToDouble(metric).toArray());
  }

  /** -1 loss, 0 tie, +1 win of {@code a} over {@code b}. */
  public enum Outcome { LOSS, TIE, WIN }

  /**
   * Paired by seed (same initial weights and batch order in both arms): Δ_i = a_i − b_i, signed so
   * that positive is better ({@code higherIsBetter}). A win or loss needs |mean Δ| > 2·sd(Δ)/√n,
   * else a tie. A diverged run is worse than any finite one: the arm with more divergences loses.
   */
  public static Outcome compare(List<Run.Result> a, List<Run.Result> b, ToDoubleFunction<Run.Result> metric,
      boolean higherIsBetter) {
    long da = a.stream().filter(Run.Result::diverged).count();
    long db = b.stream().filter(Run.Result::diverged).count();
    if (da != db) {
      return da < db ? Outcome.WIN : Outcome.LOSS;
    }
    List<Double> deltas = new ArrayList<>();
    for (Run.Result ra : a) {
      for (Run.Result rb : b) {
        if (ra.spec().seed() == rb.spec().seed()) {
          double x = metric.applyAsDouble(ra);
          double y = metric.applyAsDouble(rb);
          if (Double.isFinite(x) && Double.isFinite(y)) {
            deltas.add(higherIsBetter ? x - y : y - x);
          }
        }
      }
    }
    if (deltas.isEmpty()) {
      return Outcome.TIE;
    }
    Stat d = Stat.of(deltas.stream().mapToDouble(Double::doubleValue).toArray());
    if (d.mean() == 0) {
      return Outcome.TIE;
    }
    double margin = d.n() < 2 ? 0 : 2 * d.std() / Math.sqrt(d.n());
    if (Math.abs(d.mean()) <= margin) {
      return Outcome.TIE;
    }
    return d.mean() > 0 ? Outcome.WIN : Outcome.LOSS;
  }

  public static double median(double[] values) {
    double[] v = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]);
  }

  public static double quantile(double[] values, double q) {
    double[] v = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    double pos = q * (v.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(v.length - 1, lo + 1);
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
  }
}
