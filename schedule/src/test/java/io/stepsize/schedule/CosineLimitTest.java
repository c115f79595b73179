package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Proposition 2: phi = 2 is cosine at the UBA midpoints, and phi → 2 converges to it. */
class CosineLimitTest {

  private final Budget budget = new Budget(300, 20, new long[] {100, 180, 300}, 0);

  @Test
  void phiTwoIsCosineAtTheSameMidpoints() {
    for (long s = budget.warmupSteps(); s < budget.totalSteps(); s++) {
      double cosine = (1 + Math.cos(Uba.theta(budget, s))) / 2;
      assertThat(Uba.factor(2, budget, s)).as("step %d", s).isCloseTo(cosine, within(1e-15));
      assertThat(Uba.factor(2, Uba.theta(budget, s))).isCloseTo(cosine, within(1e-15));
    }
  }

  @Test
  void gapToCosineShrinksMonotonicallyAsPhiApproachesTwo() {
    double[] fromAbove = {4, 3, 2.5, 2.1, 2.01, 2.001};
    double[] fromBelow = {0.5, 1, 1.5, 1.9, 1.99, 1.999};
    for (double[] sequence : new double[][] {fromAbove, fromBelow}) {
      double previous = Double.POSITIVE_INFINITY;
      for (double phi : sequence) {
        double gap = maxGapToCosine(phi);
        assertThat(gap).as("phi %s", phi).isLessThan(previous).isGreaterThan(0);
        previous = gap;
      }
      assertThat(previous).isLessThan(1e-3);
    }
  }

  private double maxGapToCosine(double phi) {
    double gap = 0;
    for (long s = budget.warmupSteps(); s < budget.totalSteps(); s++) {
      gap = Math.max(gap, Math.abs(Uba.factor(phi, budget, s) - Uba.factor(2, budget, s)));
    }
    return gap;
  }
}
