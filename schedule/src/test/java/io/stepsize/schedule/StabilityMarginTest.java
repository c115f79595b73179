package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The stability margin of DESIGN.md §1.7 on served values: the edge ratio of each answer and the
 * guard. Jobs with lr_max = lr_min serve a constant lr after the warmup, so every expected value is
 * written out by hand.
 */
class StabilityMarginTest {

  private static final StabilityMargin SGD_0 = new StabilityMargin(Optimizer.SGD, 0, null);

  /** A constant lr c from step 0 (no warmup), one phase of 100 steps, fixed phi. */
  private static JobSchedule constant(double c, List<ParamGroup> groups, PhiPolicy policy) {
    return new JobSchedule(new Budget(100, 0, new long[0], 0), c, c, groups, policy, 5, 1);
  }

  private static CurvaturePoint hessian(long step, double lambdaMax) {
    return new CurvaturePoint(step, step + 1, 1, 0.5, 0.5, lambdaMax, lambdaMax / 0.5, lambdaMax, 1, false);
  }

  private static CurvaturePoint preconditioned(long step, double lambdaMax) {
    return new CurvaturePoint(step, step + 1, 1, 0.5, 0.5, lambdaMax, lambdaMax / 0.5, lambdaMax, 1, true);
  }

  @Test
  void thresholdsAreTheHeavyBallAndAdamEdges() {
    assertThat(new StabilityMargin(Optimizer.SGD, 0, null).threshold()).isEqualTo(2.0);
    assertThat(new StabilityMargin(Optimizer.SGD, 0.9, null).threshold()).isEqualTo(2 + 2 * 0.9);
    assertThat(StabilityMargin.DEFAULT.threshold()).isEqualTo(3.8);
    // (2 + 2·0.9)/(1 − 0.9) = 38, up to the rounding of 1 − 0.9
    assertThat(new StabilityMargin(Optimizer.ADAMW, 0.9, null).threshold()).isCloseTo(38, within(1e-12));
    assertThat(new StabilityMargin(Optimizer.ADAMW, 0.5, null).threshold()).isEqualTo(6.0);
    assertThat(new StabilityMargin(Optimizer.OTHER, 0.9, null).threshold()).isNaN();
  }

  @Test
  void badMomentumAndGuardNameTheFieldAndTheRule() {
    assertThatThrownBy(() -> new StabilityMargin(Optimizer.SGD, 1, null))
        .hasMessage("momentum: must be in [0, 1) (got 1.0)");
    assertThatThrownBy(() -> new StabilityMargin(Optimizer.SGD, -0.1, null))
        .hasMessage("momentum: must be in [0, 1) (got -0.1)");
    assertThatThrownBy(() -> new StabilityMargin(Optimizer.SGD, Double.NaN, null))
        .hasMessage("momentum: must be in [0, 1) (got NaN)");
    assertThatThrownBy(() -> new StabilityMargin(Optimizer.SGD, 0.9, 0.0))
        .hasMessage("guard.max_edge_ratio: must be finite and > 0 (got 0.0)");
    assertThatThrownBy(() -> new StabilityMargin(Optimizer.ADAMW, 0.9, Double.POSITIVE_INFINITY))
        .hasMessage("guard.max_edge_ratio: must be finite and > 0 (got Infinity)");
    assertThatThrownBy(() -> new StabilityMargin(Optimizer.OTHER, 0.9, 1.0))
        .hasMessage("guard.max_edge_ratio: needs optimizer SGD or ADAMW (OTHER has no stability threshold, so the"
            + " guard could never act) (got 1.0)");
  }

  @Test
  void edgeRatioReadsTheEstimateInForceWhateverThePolicy() {
    // fixed phi reads no estimate for phi, but still has an edge ratio
    JobPlan plan = JobPlan.of(constant(0.1, List.of(), new PhiPolicy.Fixed(3)), List.of(), SGD_0);
    CurvatureTimeline t = CurvatureTimeline.of(List.of(hessian(10, 50), hessian(30, 8)));
    assertThat(plan.evaluate(10, t).edgeRatio()).isNaN(); // nothing applies before step 11
    assertThat(plan.evaluate(11, t).edgeRatio()).isEqualTo(0.1 * 50 / 2);
    assertThat(plan.evaluate(30, t).edgeRatio()).isEqualTo(0.1 * 50 / 2);
    assertThat(plan.evaluate(31, t).edgeRatio()).isEqualTo(0.1 * 8 / 2);
    assertThat(plan.evaluate(31, t).guarded()).isFalse();

    // latched phi keeps the phase's estimate; the edge ratio still follows the newest one
    JobPlan latched = JobPlan.of(constant(0.1, List.of(),
        PhiPolicy.ConditionNumber.defaults().withMode(PhiMode.LATCHED)), List.of(), SGD_0);
    LrValue v = latched.evaluate(40, t);
    assertThat(v.source()).isEqualTo(Source.FALLBACK); // nothing applied at the phase's first step
    assertThat(v.edgeRatio()).isEqualTo(0.1 * 8 / 2);

    // with groups, eta is group 0's lr; the default margin is SGD with momentum 0.9
    JobPlan groups = JobPlan.of(constant(0.1, List.of(new ParamGroup("a", 0.3, 0.3), new ParamGroup("b", 0.01, 0.01)),
        new PhiPolicy.Fixed(3)), List.of());
    assertThat(groups.evaluate(50, t).edgeRatio()).isEqualTo(0.3 * 8 / (2 + 2 * 0.9));
    // a schedule evaluated without its plan reads the default margin too
    assertThat(LrEvaluator.evaluate(constant(0.1, List.of(), new PhiPolicy.Fixed(3)), 50, t).edgeRatio())
        .isEqualTo(0.1 * 8 / (2 + 2 * 0.9));
    // baselines read no estimate
    assertThat(LrEvaluator.evaluate(constant(0.1, List.of(), new PhiPolicy.Fixed(3)), Baseline.COSINE, 50)
        .edgeRatio()).isNaN();
  }

  @Test
  void adamReadsOnlyPreconditionedEstimatesAndOtherHasNoRatio() {
    JobSchedule job = constant(0.001, List.of(), new PhiPolicy.Fixed(0.5));
    JobPlan adam = JobPlan.of(job, List.of(), new StabilityMargin(Optimizer.ADAMW, 0.5, null));
    CurvatureTimeline t = CurvatureTimeline.of(List.of(preconditioned(10, 3000), hessian(20, 5)));
    // (2 + 2·0.5)/(1 − 0.5) = 6
    assertThat(adam.evaluate(15, t).edgeRatio()).isEqualTo(0.001 * 3000 / 6);
    assertThat(adam.evaluate(25, t).edgeRatio()).isNaN(); // a Hessian point is in force
    // and SGD the other way round
    assertThat(JobPlan.of(job, List.of(), SGD_0).evaluate(15, t).edgeRatio()).isNaN();
    assertThat(JobPlan.of(job, List.of(), SGD_0).evaluate(25, t).edgeRatio()).isEqualTo(0.001 * 5 / 2);
    assertThat(JobPlan.of(job, List.of(), new StabilityMargin(Optimizer.OTHER, 0.9, null)).evaluate(25, t)
        .edgeRatio()).isNaN();
  }

  @Test
  void theGuardCapsEtaAtRStarThresholdOverLambdaMaxAndScalesEveryGroup() {
    JobSchedule job = constant(0.1, List.of(new ParamGroup("a", 0.2, 0.2), new ParamGroup("b", 0.05, 0.05)),
        new PhiPolicy.Fixed(3));
    JobPlan plan = JobPlan.of(job, List.of(), new StabilityMargin(Optimizer.SGD, 0, 1.5));
    CurvatureTimeline t = CurvatureTimeline.of(List.of(hessian(10, 40), hessian(30, 2)));

    LrValue before = plan.evaluate(10, t);
    assertThat(before.guarded()).isFalse();
    assertThat(before.lr()).isEqualTo(0.1);

    // cap = 1.5·2/40 = 0.075 < eta = 0.2: group a at the cap, the rest scaled by 0.075/0.2 = 0.375
    LrValue capped = plan.evaluate(11, t);
    double cap = 1.5 * 2 / 40;
    assertThat(capped.guarded()).isTrue();
    assertThat(capped.groupLrs()).containsExactly(cap, 0.05 * (cap / 0.2));
    assertThat(capped.lr()).isEqualTo(0.1 * (cap / 0.2));
    assertThat(capped.groupLrs()[1]).isCloseTo(0.01875, within(1e-15));
    // the edge ratio is the schedule's: 0.2·40/2, not r*
    assertThat(capped.edgeRatio()).isEqualTo(0.2 * 40 / 2);
    assertThat(capped.phi()).isEqualTo(3.0);
    LrValue scheduled = JobPlan.of(job, List.of(), new StabilityMargin(Optimizer.SGD, 0, null)).evaluate(11, t);
    assertThat(capped.factor()).isEqualTo(scheduled.factor());
    assertThat(scheduled.guarded()).isFalse();
    assertThat(scheduled.groupLrs()).containsExactly(0.2, 0.05);

    // below the cap (1.5·2/2 = 1.5 > 0.2): the schedule's value, not guarded
    LrValue free = plan.evaluate(31, t);
    assertThat(free.guarded()).isFalse();
    assertThat(free.lr()).isEqualTo(0.1);
    assertThat(free.groupLrs()).containsExactly(0.2, 0.05);
    assertThat(free.edgeRatio()).isEqualTo(0.2 * 2 / 2);
  }

  @Test
  void theGuardWithoutGroupsServesTheCapExactly() {
    JobPlan plan = JobPlan.of(constant(0.1, List.of(), new PhiPolicy.Fixed(3)), List.of(),
        new StabilityMargin(Optimizer.SGD, 0.9, 1.0));
    LrValue v = plan.evaluate(50, CurvatureTimeline.of(List.of(hessian(10, 100))));
    assertThat(v.guarded()).isTrue();
    assertThat(v.lr()).isEqualTo(1.0 * (2 + 2 * 0.9) / 100);
    assertThat(v.groupLrs()).isEmpty();
    // eta exactly at the cap is not lowered: 0.1 = 1·2/20 with momentum 0
    JobPlan atCap = JobPlan.of(constant(0.1, List.of(), new PhiPolicy.Fixed(3)), List.of(),
        new StabilityMargin(Optimizer.SGD, 0, 1.0));
    LrValue edge = atCap.evaluate(50, CurvatureTimeline.of(List.of(hessian(10, 20))));
    assertThat(edge.guarded()).isFalse();
    assertThat(edge.lr()).isEqualTo(0.1);
  }

  @Test
  void theGuardIgnoresEstimatesThatDoNotMeasureTheStepOrSetNoLimit() {
    JobSchedule job = constant(0.1, List.of(), new PhiPolicy.Fixed(3));
    JobPlan adam = JobPlan.of(job, List.of(), new StabilityMargin(Optimizer.ADAMW, 0.9, 1.0));
    // a Hessian point on an AdamW job: no edge ratio, no guard however sharp
    LrValue v = adam.evaluate(50, CurvatureTimeline.of(List.of(hessian(10, 1e6))));
    assertThat(v.guarded()).isFalse();
    assertThat(v.lr()).isEqualTo(0.1);
    // a preconditioned one caps at 1·38/λ (up to the rounding of 1 − 0.9)
    LrValue p = adam.evaluate(50, CurvatureTimeline.of(List.of(preconditioned(10, 1e4))));
    assertThat(p.guarded()).isTrue();
    assertThat(p.lr()).isEqualTo(1.0 * ((2 + 2 * 0.9) / (1 - 0.9)) / 1e4).isCloseTo(0.0038, within(1e-15));
    // lambda_max <= 0 sets no limit
    JobPlan sgd = JobPlan.of(job, List.of(), new StabilityMargin(Optimizer.SGD, 0, 1.0));
    assertThat(sgd.evaluate(50, CurvatureTimeline.of(List.of(hessian(10, -3)))).guarded()).isFalse();
    assertThat(sgd.evaluate(50, CurvatureTimeline.of(List.of(hessian(10, 0)))).guarded()).isFalse();
    // no estimate, no guard
    assertThat(sgd.evaluate(50, CurvatureTimeline.EMPTY).guarded()).isFalse();
    assertThat(sgd.evaluate(50, CurvatureTimeline.EMPTY).edgeRatio()).isNaN();
  }

  /**
   * Re-plans read the scheduled curve: a hold made while the guard acts holds the scheduled value,
   * which is served again once the estimate in force allows it.
   */
  @Test
  void aHoldUnderTheGuardHoldsTheScheduledValue() {
    JobSchedule job = new JobSchedule(new Budget(100, 0, new long[0], 0), 0.1, 0.001, List.of(),
        new PhiPolicy.Fixed(5), 5, 1);
    List<Revision> hold = List.of(Revision.at(20).withHold(true));
    JobPlan guarded = JobPlan.of(job, hold, new StabilityMargin(Optimizer.SGD, 0, 1.0));
    JobPlan plain = JobPlan.of(job, hold, new StabilityMargin(Optimizer.SGD, 0, null));
    CurvatureTimeline t = CurvatureTimeline.of(List.of(hessian(10, 100), hessian(30, 1)));
    double scheduledAt20 = plain.evaluate(20, t).lr();
    assertThat(scheduledAt20).isGreaterThan(0.02); // so the guard acts at 20
    assertThat(guarded.evaluate(20, t).lr()).isEqualTo(2.0 / 100);
    assertThat(guarded.evaluate(30, t).lr()).isEqualTo(2.0 / 100);
    assertThat(guarded.evaluate(31, t).lr()).isEqualTo(scheduledAt20);
    assertThat(guarded.evaluate(31, t).guarded()).isFalse();
    assertThat(guarded.evaluate(99, t).lr()).isEqualTo(scheduledAt20);
  }

  /**
   * Over revisions and continuous mode: the guarded answer is the unguarded plan's wherever the
   * guard does not act, and eta at the cap, with every group scaled alike, where it does.
   */
  @Test
  void theGuardedPlanIsTheScheduledPlanCappedStepByStep() {
    JobSchedule job = new JobSchedule(new Budget(200, 10, new long[] {100, 200}, 0), 0.4, 0.004,
        List.of(new ParamGroup("a", 0.4, 0.004), new ParamGroup("b", 0.1, 0.0)),
        PhiPolicy.ConditionNumber.defaults().withMode(PhiMode.CONTINUOUS), 5, 1);
    List<Revision> revisions = List.of(Revision.at(60).withHold(true), Revision.at(80),
        Revision.budget(120, 250, 250).withSetLr(0.3));
    JobPlan guarded = JobPlan.of(job, revisions, new StabilityMargin(Optimizer.SGD, 0.9, 1.2));
    JobPlan plain = JobPlan.of(job, revisions, new StabilityMargin(Optimizer.SGD, 0.9, null));
    List<CurvaturePoint> points = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      double lambdaMax = i % 3 == 0 ? 80 : 4 + i;
      points.add(new CurvaturePoint(10L * i, 10L * i + 2, 1, 0.1, 0.1 + i % 5, lambdaMax, 0, lambdaMax, 1));
    }
    CurvatureTimeline t = CurvatureTimeline.of(points);
    int acted = 0;
    for (long s = 0; s < 250; s++) {
      LrValue g = guarded.evaluate(s, t);
      LrValue p = plain.evaluate(s, t);
      assertThat(Double.compare(g.edgeRatio(), p.edgeRatio())).as("step %d", s).isZero();
      CurvaturePoint inForce = t.applyingTo(s);
      double cap = inForce == null ? Double.POSITIVE_INFINITY : 1.2 * 3.8 / inForce.lambdaMax();
      if (p.groupLrs()[0] > cap) {
        acted++;
        assertThat(g.guarded()).as("step %d", s).isTrue();
        assertThat(g.groupLrs()[0]).as("step %d", s).isEqualTo(cap);
        assertThat(g.groupLrs()[1]).as("step %d", s).isEqualTo(p.groupLrs()[1] * (cap / p.groupLrs()[0]));
        assertThat(g.lr()).as("step %d", s).isEqualTo(p.lr() * (cap / p.groupLrs()[0]));
        assertThat(g.edgeRatio()).as("step %d", s).isGreaterThan(1.2);
      } else {
        assertThat(g).as("step %d", s).isEqualTo(p);
      }
    }
    assertThat(acted).isBetween(20, 200);
  }
}
