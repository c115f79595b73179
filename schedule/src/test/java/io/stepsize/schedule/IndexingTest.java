package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** DESIGN.md §1.1 indexing: phases, theta at the ends of a phase, rising phases, warmup, groups. */
class IndexingTest {

  // W = 10, phases [10, 50), [50, 100), [100, 130)
  private final Budget budget = new Budget(130, 10, new long[] {50, 100, 130}, 0);

  @Test
  void phasesAndTheirBounds() {
    assertThat(budget.phases()).isEqualTo(3);
    assertThat(budget.phaseOf(0)).isZero();
    assertThat(budget.phaseOf(9)).isZero();
    assertThat(budget.phaseOf(10)).isEqualTo(1);
    assertThat(budget.phaseOf(49)).isEqualTo(1);
    assertThat(budget.phaseOf(50)).isEqualTo(2);
    assertThat(budget.phaseOf(129)).isEqualTo(3);
    assertThat(budget.phaseStart(1)).isEqualTo(10);
    assertThat(budget.phaseEnd(1)).isEqualTo(50);
    assertThat(budget.phaseStart(3)).isEqualTo(100);
    assertThat(budget.phaseEnd(3)).isEqualTo(130);
    assertThat(budget.phaseStart(0)).isZero();
    assertThat(budget.phaseEnd(0)).isEqualTo(10);
    assertThat(Budget.of(7).phases()).isEqualTo(1);
    assertThat(Budget.of(7).phaseEnd(1)).isEqualTo(7);
  }

  @Test
  void firstAndLastStepOfEachPhase() {
    // phase 1: L = 40, k - 1 = 0
    assertThat(Uba.theta(budget, 10)).isCloseTo(Math.PI / 80, within(1e-15));
    assertThat(Uba.theta(budget, 49)).isCloseTo(79 * Math.PI / 80, within(1e-15));
    // phase 2: L = 50, shifted by π
    assertThat(Uba.theta(budget, 50)).isCloseTo(Math.PI / 100 + Math.PI, within(1e-15));
    assertThat(Uba.theta(budget, 99)).isCloseTo(99 * Math.PI / 100 + Math.PI, within(1e-14));
    // phase 3: L = 30, shifted by 2π
    assertThat(Uba.theta(budget, 100)).isCloseTo(Math.PI / 60 + 2 * Math.PI, within(1e-14));
    assertThat(Uba.theta(budget, 129)).isCloseTo(59 * Math.PI / 60 + 2 * Math.PI, within(1e-14));
  }

  @Test
  void budgetFactorAgreesWithTheLiteralFormula() {
    for (double phi : new double[] {0.1, 0.5, 2, 5, 30, 1000}) {
      for (long s = 10; s < 130; s++) {
        double literal = Uba.factor(phi, Uba.theta(budget, s));
        assertThat(Uba.factor(phi, budget, s)).as("phi %s step %d", phi, s).isCloseTo(literal, within(1e-12));
      }
    }
  }

  @Test
  void oddPhasesFallEvenPhasesRise() {
    for (long s = 11; s < 130; s++) {
      if (s == 50 || s == 100) {
        continue; // phase changes
      }
      double delta = Uba.factor(5, budget, s) - Uba.factor(5, budget, s - 1);
      int phase = budget.phaseOf(s);
      if (phase == 2) {
        assertThat(delta).as("step %d", s).isPositive();
      } else {
        assertThat(delta).as("step %d", s).isNegative();
      }
    }
  }

  @Test
  void phaseOffsetOneMakesPhaseOneRise() {
    Budget rising = new Budget(100, 0, new long[] {40, 100}, 1);
    assertThat(Uba.theta(rising, 0)).isCloseTo(Math.PI / 80 + Math.PI, within(1e-15));
    for (long s = 1; s < 40; s++) {
      assertThat(Uba.factor(0.5, rising, s)).isGreaterThan(Uba.factor(0.5, rising, s - 1));
    }
    for (long s = 41; s < 100; s++) {
      assertThat(Uba.factor(0.5, rising, s)).isLessThan(Uba.factor(0.5, rising, s - 1));
    }
  }

  @Test
  void warmupReachesLrMaxAtItsLastStep() {
    JobSchedule job = new JobSchedule(budget, 0.4, 0.004, List.of(new ParamGroup("head", 0.8, 0.0)),
        new PhiPolicy.Fixed(5), 5, 1);
    for (long s = 0; s < 10; s++) {
      LrValue v = LrEvaluator.evaluate(job, s, CurvatureTimeline.EMPTY);
      assertThat(v.source()).isEqualTo(Source.WARMUP);
      assertThat(v.phase()).isZero();
      assertThat(v.lr()).isCloseTo(0.4 * (s + 1) / 10, within(1e-15));
      assertThat(v.groupLrs()[0]).isCloseTo(0.8 * (s + 1) / 10, within(1e-15));
    }
    assertThat(LrEvaluator.evaluate(job, 9, CurvatureTimeline.EMPTY).lr()).isEqualTo(0.4);
    LrValue first = LrEvaluator.evaluate(job, 10, CurvatureTimeline.EMPTY);
    assertThat(first.source()).isEqualTo(Source.FIXED);
    assertThat(first.factor()).isEqualTo(Uba.factor(5, budget, 10));
    assertThatThrownBy(() -> Uba.theta(budget, 9)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("step: must be >= warmup_steps = 10");
  }

  @Test
  void everyGroupScalesByTheSameFactor() {
    List<ParamGroup> groups = List.of(new ParamGroup("body", 0.1, 0.001), new ParamGroup("head", 1.0, 0.5),
        new ParamGroup("frozen", 0.0, 0.0));
    JobSchedule job = new JobSchedule(budget, 0.3, 0.01, groups, new PhiPolicy.Fixed(0.8), 0.5, 1);
    for (long s = 10; s < 130; s++) {
      LrValue v = LrEvaluator.evaluate(job, s, CurvatureTimeline.EMPTY);
      assertThat((v.lr() - 0.01) / (0.3 - 0.01)).isCloseTo(v.factor(), within(1e-14));
      for (int g = 0; g < 2; g++) {
        ParamGroup group = groups.get(g);
        double f = (v.groupLrs()[g] - group.lrMin()) / (group.lrMax() - group.lrMin());
        assertThat(f).as("group %s step %d", group.name(), s).isCloseTo(v.factor(), within(1e-14));
      }
      assertThat(v.groupLrs()[2]).isZero();
    }
  }
}
