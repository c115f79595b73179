package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.LongToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * The paper's Table 1 says phi = 0.8 approximates REX and phi = 30 an exponential decay. We fit
 * phi on a log grid (0.01 .. 1000, 4001 points) to each baseline's normalized factor over one
 * phase of T = 1000 steps and record what we measured (docs/SCHEDULE.md, "Table 1, measured").
 *
 * <p>Findings: by max deviation, neither paper value is the best fit (REX: 0.62, exponential with a
 * 100-fold decay: 40.4). By mean absolute deviation the best REX fit is 0.80, the paper's value,
 * and the best exponential fit is 25 (30 is 7% worse).
 */
class PaperTable1FitTest {

  private static final int T = 1000;
  private static final Budget BUDGET = Budget.of(T);
  private static final int GRID = 4000;

  private record Fit(double phi, double deviation) {}

  @Test
  void rexIsBestFitByPhiNearPointSixTwoNotPointEightByMaxDeviation() {
    Fit best = bestFit(s -> Baseline.REX.factor(s, T), false);
    double paper = maxDeviation(0.8, s -> Baseline.REX.factor(s, T));
    report("REX max-dev", best, 0.8, paper);
    assertThat(best.phi()).isBetween(0.60, 0.63);
    assertThat(best.deviation()).isBetween(0.108, 0.111);
    assertThat(paper).isBetween(0.134, 0.137);
    // the paper's value is not the best fit by max deviation: 0.8 is 0.026 worse
    assertThat(paper - best.deviation()).isGreaterThan(0.02);
  }

  @Test
  void rexIsBestFitByThePapersPointEightByMeanDeviation() {
    Fit best = bestFit(s -> Baseline.REX.factor(s, T), true);
    report("REX mean-dev", best, 0.8, meanDeviation(0.8, s -> Baseline.REX.factor(s, T)));
    assertThat(best.phi()).isBetween(0.78, 0.82);
    assertThat(best.deviation()).isBetween(0.065, 0.068);
  }

  @Test
  void exponentialIsBestFitByPhiNearFortyNotThirtyByMaxDeviation() {
    LongToDoubleFunction exponential = s -> Baseline.EXPONENTIAL.factor(s, T);
    Fit best = bestFit(exponential, false);
    double paper = maxDeviation(30, exponential);
    report("exponential(0.01) max-dev", best, 30, paper);
    assertThat(best.phi()).isBetween(39.0, 42.0);
    assertThat(best.deviation()).isBetween(0.092, 0.095);
    assertThat(paper).isBetween(0.120, 0.123);
    assertThat(paper - best.deviation()).isGreaterThan(0.02);
  }

  @Test
  void exponentialIsBestFitByPhiNearTwentyFiveByMeanDeviation() {
    LongToDoubleFunction exponential = s -> Baseline.EXPONENTIAL.factor(s, T);
    Fit best = bestFit(exponential, true);
    double paper = meanDeviation(30, exponential);
    report("exponential(0.01) mean-dev", best, 30, paper);
    // by mean deviation 30 is near but not at the optimum (about 25)
    assertThat(best.phi()).isBetween(24.0, 26.5);
    assertThat(best.deviation()).isBetween(0.033, 0.035);
    assertThat(paper).isBetween(0.036, 0.037);
  }

  private static Fit bestFit(LongToDoubleFunction target, boolean mean) {
    Fit best = new Fit(Double.NaN, Double.POSITIVE_INFINITY);
    for (int i = 0; i <= GRID; i++) {
      double phi = Math.pow(10, -2 + 5.0 * i / GRID);
      double d = mean ? meanDeviation(phi, target) : maxDeviation(phi, target);
      if (d < best.deviation()) {
        best = new Fit(phi, d);
      }
    }
    // the optimum is interior, not a grid edge
    assertThat(best.phi()).isBetween(0.011, 900.0);
    return best;
  }

  private static double maxDeviation(double phi, LongToDoubleFunction target) {
    double max = 0;
    for (long s = 0; s < T; s++) {
      max = Math.max(max, Math.abs(Uba.factor(phi, BUDGET, s) - target.applyAsDouble(s)));
    }
    return max;
  }

  private static double meanDeviation(double phi, LongToDoubleFunction target) {
    double sum = 0;
    for (long s = 0; s < T; s++) {
      sum += Math.abs(Uba.factor(phi, BUDGET, s) - target.applyAsDouble(s));
    }
    return sum / T;
  }

  private static void report(String what, Fit best, double paperPhi, double paperDeviation) {
    System.out.printf("Table 1 fit %s: best phi %.4f deviation %.5f; paper phi %s deviation %.5f%n",
        what, best.phi(), best.deviation(), paperPhi, paperDeviation);
  }
}
