package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md §1.5 (revisions) and §1.6 (continuous phi). Expected values are computed here from eq. 5
 * written out literally and from the re-planning formulas with p, independently of the code under test.
 */
class RevisionTest {
  private static final double LR_MAX = 1.0;
  private static final double LR_MIN = 0.1;
  private static final double PHI = 5;

  /** Eq. 5's factor, literally: θ = (2j − 1)π/(2L) + (rising ? π : 0), c = 1 + cos θ. */
  static double f(double phi, long length, long j, boolean rising) {
    double theta = (2 * j - 1) * Math.PI / (2.0 * length) + (rising ? Math.PI : 0);
    double c = 1 + Math.cos(theta);
    return 2 * c / (2 * phi + (2 - phi) * c);
  }

  /** Falling re-plan: lr = b + (p − b)·f(j′; L′), p = b + (v − b)/f(1; L′). */
  static double falling(double phi, double b, double v, long a, long end, long s) {
    double p = b + (v - b) / f(phi, end - a, 1, false);
    return b + (p - b) * f(phi, end - a, s - a + 1, false);
  }

  /** Rising re-plan: lr = p + (t − p)·f(j′; L′), p = (v − t·f(1; L′))/(1 − f(1; L′)). */
  static double rising(double phi, double t, double v, long a, long end, long s) {
    double f1 = f(phi, end - a, 1, true);
    double p = (v - t * f1) / (1 - f1);
    return p + (t - p) * f(phi, end - a, s - a + 1, true);
  }

  static double eq5(double phi, double top, double bottom, long start, long end, long s, boolean rising) {
    return bottom + (top - bottom) * f(phi, end - start, s - start + 1, rising);
  }

  private static JobSchedule job(Budget budget) {
    return new JobSchedule(budget, LR_MAX, LR_MIN, List.of(), new PhiPolicy.Fixed(PHI), PHI, 1);
  }

  private static void close(double actual, double expected) {
    assertThat(Math.abs(actual - expected)).as("%s vs %s", actual, expected)
        .isLessThanOrEqualTo(1e-12 * Math.abs(expected));
  }

  private static double lr(JobPlan plan, long s) {
    return plan.evaluate(s, CurvatureTimeline.EMPTY).lr();
  }

  @Test
  void anExtensionReplansTheRestOfThePhaseFromTheValueAtFromStep() {
    JobPlan before = JobPlan.of(job(Budget.of(100)), List.of());
    JobPlan plan = before.revise(Revision.budget(40, 150));
    double v = eq5(PHI, LR_MAX, LR_MIN, 0, 100, 40, false);
    for (long s = 0; s < 40; s++) {
      assertThat(plan.evaluate(s, null)).isEqualTo(before.evaluate(s, null));
      assertThat(plan.evaluate(s, null).revision()).isZero();
    }
    for (long s = 40; s < 150; s++) {
      close(lr(plan, s), falling(PHI, LR_MIN, v, 40, 150, s));
      assertThat(plan.evaluate(s, null).revision()).isEqualTo(1);
    }
    close(lr(plan, 40), v);
    assertThat(plan.budget().totalSteps()).isEqualTo(150);
    assertThat(lr(plan, 149)).isGreaterThan(LR_MIN).isLessThan(lr(plan, 148));
  }

  @Test
  void aShorteningEndsThePhaseAtTheRevisedTotal() {
    JobPlan plan = JobPlan.of(job(Budget.of(100)), List.of(Revision.budget(40, 60)));
    double v = eq5(PHI, LR_MAX, LR_MIN, 0, 100, 40, false);
    for (long s = 40; s < 60; s++) {
      close(lr(plan, s), falling(PHI, LR_MIN, v, 40, 60, s));
    }
    assertThatThrownBy(() -> plan.evaluate(60, null))
        .hasMessage("step: must be in [0, total_steps = 60) (got 60)");
  }

  @Test
  void aRisingPhaseIsReplannedTowardLrMax() {
    JobPlan plan = JobPlan.of(job(new Budget(100, 0, null, 1)), List.of(Revision.budget(30, 80)));
    double v = eq5(PHI, LR_MAX, LR_MIN, 0, 100, 30, true);
    for (long s = 30; s < 80; s++) {
      close(lr(plan, s), rising(PHI, LR_MAX, v, 30, 80, s));
    }
    close(lr(plan, 30), v);
  }

  @Test
  void newBoundariesReplanTheCurrentPhaseAndPlanTheLaterOnesByEq5() {
    JobSchedule spec = job(new Budget(100, 0, new long[] {50, 100}, 0));
    assertThatThrownBy(() -> JobPlan.of(spec, List.of()).revise(Revision.budget(20, 200)))
        .hasMessage("phase_boundaries: must be given when total_steps changes and the job has a boundary in"
            + " (from_step, total_steps) = (20, 100) (the job has 50)");
    JobPlan plan = JobPlan.of(spec, List.of(Revision.budget(20, 200, 60, 200)));
    double v = eq5(PHI, LR_MAX, LR_MIN, 0, 50, 20, false);
    for (long s = 20; s < 60; s++) {
      close(lr(plan, s), falling(PHI, LR_MIN, v, 20, 60, s));
    }
    for (long s = 60; s < 200; s++) {
      close(lr(plan, s), eq5(PHI, LR_MAX, LR_MIN, 60, 200, s, true));
      assertThat(plan.evaluate(s, null).phase()).isEqualTo(2);
    }
    // the same total keeps the boundaries after from_step
    JobPlan bounds = JobPlan.of(spec, List.of(Revision.at(20).withBounds(2.0, null)));
    close(lr(bounds, 70), eq5(PHI, 2.0, LR_MIN, 50, 100, 70, true));
  }

  @Test
  void aFinishedJobIsExtendedFromItsLastValue() {
    JobPlan plan = JobPlan.of(job(Budget.of(100)), List.of(Revision.budget(100, 150)));
    double v = eq5(PHI, LR_MAX, LR_MIN, 0, 100, 99, false);
    for (long s = 100; s < 150; s++) {
      close(lr(plan, s), falling(PHI, LR_MIN, v, 100, 150, s));
    }
    close(lr(plan, 100), v);
  }

  @Test
  void holdKeepsTheValueAndTheNextRevisionReplansFromIt() {
    JobPlan plan = JobPlan.of(job(Budget.of(100)), List.of(Revision.at(40).withHold(true), Revision.at(70)));
    double v = eq5(PHI, LR_MAX, LR_MIN, 0, 100, 40, false);
    for (long s = 40; s < 70; s++) {
      close(lr(plan, s), v);
    }
    for (long s = 70; s < 100; s++) {
      close(lr(plan, s), falling(PHI, LR_MIN, v, 70, 100, s));
    }
    close(lr(plan, 70), v);
  }

  @Test
  void setLrStartsTheReplanFromTheGivenValue() {
    JobPlan plan = JobPlan.of(job(Budget.of(100)), List.of(Revision.at(40).withSetLr(0.5)));
    assertThat(lr(plan, 40)).isEqualTo(0.5);
    for (long s = 40; s < 100; s++) {
      close(lr(plan, s), falling(PHI, LR_MIN, 0.5, 40, 100, s));
    }
  }

  @Test
  void eachGroupReplansWithItsOwnBoundsAndValue() {
    JobSchedule spec = new JobSchedule(Budget.of(100), LR_MAX, LR_MIN,
        List.of(new ParamGroup("a", 2.0, 0.2), new ParamGroup("b", 0.5, 0.0)), new PhiPolicy.Fixed(PHI), PHI, 1);
    JobPlan plan = JobPlan.of(spec, List.of(Revision.budget(40, 120)
        .withGroups(List.of(new ParamGroup("a", 2.0, 0.5), new ParamGroup("b", 0.5, 0.0)))));
    double va = eq5(PHI, 2.0, 0.2, 0, 100, 40, false);
    double vb = eq5(PHI, 0.5, 0.0, 0, 100, 40, false);
    for (long s = 40; s < 120; s++) {
      double[] g = plan.evaluate(s, null).groupLrs();
      close(g[0], falling(PHI, 0.5, va, 40, 120, s));
      close(g[1], falling(PHI, 0.0, vb, 40, 120, s));
    }
    assertThatThrownBy(() -> JobPlan.of(spec, List.of()).revise(Revision.at(40)
        .withGroups(List.of(new ParamGroup("b", 1, 0), new ParamGroup("a", 1, 0)))))
        .hasMessage("groups: must name the job's groups in order, [a, b] (got [b, a])");
  }

  @Test
  void aRevisionInTheWarmupKeepsTheWarmup() {
    JobPlan plan = JobPlan.of(job(Budget.of(100, 10)), List.of(Revision.budget(5, 200)));
    for (long s = 0; s < 10; s++) {
      close(lr(plan, s), LR_MAX * (s + 1) / 10);
    }
    for (long s = 10; s < 200; s++) {
      close(lr(plan, s), eq5(PHI, LR_MAX, LR_MIN, 10, 200, s, false));
    }
    assertThatThrownBy(() -> JobPlan.of(job(Budget.of(100, 10)), List.of(Revision.at(5).withSetLr(0.3))))
        .hasMessage("revisions[0].set_lr: needs from_step >= warmup_steps = 10 or hold (the warmup is kept)"
            + " (from_step = 5)");
  }

  @Test
  void brokenRulesNameTheFieldAndTheRule() {
    JobPlan plan = JobPlan.of(job(Budget.of(100)), List.of(Revision.budget(40, 150)));
    assertThatThrownBy(() -> plan.revise(Revision.at(30)))
        .isInstanceOf(InvalidFieldException.class)
        .hasMessage("from_step: must be >= the previous revision's from_step = 40 (got 30)");
    assertThatThrownBy(() -> plan.revise(Revision.at(151)))
        .hasMessage("from_step: must be <= total_steps = 150 (a finished job is extended from total_steps) (got 151)");
    assertThatThrownBy(() -> plan.revise(Revision.budget(60, 60)))
        .hasMessage("total_steps: must be > from_step = 60 (got 60)");
    assertThatThrownBy(() -> plan.revise(Revision.at(150)))
        .hasMessage("total_steps: must be > from_step = 150 (got 150, the total_steps in force)");
    assertThatThrownBy(() -> plan.revise(Revision.budget(60, 200, 90, 80, 200)))
        .hasMessage("phase_boundaries: must be strictly increasing (B_2 = 80 <= B_1 = 90)");
    assertThatThrownBy(() -> plan.revise(Revision.budget(60, 200, 90, 190)))
        .hasMessage("phase_boundaries: must end at total_steps = 200 (got 190)");
    assertThatThrownBy(() -> plan.revise(Revision.budget(60, 200, 50, 200)))
        .hasMessage("phase_boundaries: must list only the boundaries after from_step = 60 (got 50)");
    assertThatThrownBy(() -> plan.revise(Revision.at(60).withBounds(0.1, 0.5)))
        .hasMessage("lr_min: must be <= lr_max (0.5 > 0.1)");
    assertThatThrownBy(() -> Revision.at(60).withSetLr(-1))
        .hasMessage("set_lr: must be finite and >= 0 (got -1.0)");
    assertThatThrownBy(() -> Revision.at(60).withSetLr(Double.NaN))
        .hasMessage("set_lr: must be finite and >= 0 (got NaN)");
    assertThatThrownBy(() -> Revision.at(60).withSetLr(Double.POSITIVE_INFINITY))
        .hasMessage("set_lr: must be finite and >= 0 (got Infinity)");
    assertThatThrownBy(() -> JobPlan.of(job(Budget.of(100)), List.of(Revision.at(10), Revision.at(5))))
        .hasMessage("revisions[1].from_step: must be >= the previous revision's from_step = 10 (got 5)");
  }

  private static CurvaturePoint estimate(long step, double kappa) {
    return new CurvaturePoint(step, step + 1, 1, 1, 1, kappa, kappa, kappa, 1);
  }

  private static JobSchedule conditionNumber(Budget budget, PhiMode mode) {
    return new JobSchedule(budget, LR_MAX, LR_MIN, List.of(), PhiPolicy.ConditionNumber.paper().withMode(mode),
        PHI, 1);
  }

  @Test
  void continuousModeReplansFromTheValueAtEachEstimateWithoutJumps() {
    // estimates apply from 31 (phi = 2·10 = 20) and 61 (phi = 2·3 = 6); fallback 5 before
    CurvatureTimeline timeline = CurvatureTimeline.of(List.of(estimate(30, 10), estimate(60, 3)));
    JobSchedule job = conditionNumber(Budget.of(100), PhiMode.CONTINUOUS);
    JobPlan plan = JobPlan.of(job, List.of());
    double[] expected = new double[100];
    for (long s = 0; s < 31; s++) {
      expected[(int) s] = eq5(PHI, LR_MAX, LR_MIN, 0, 100, s, false);
    }
    double before31 = eq5(PHI, LR_MAX, LR_MIN, 0, 100, 31, false);
    for (long s = 31; s < 61; s++) {
      expected[(int) s] = falling(20, LR_MIN, before31, 31, 100, s);
    }
    double before61 = falling(20, LR_MIN, before31, 31, 100, 61);
    for (long s = 61; s < 100; s++) {
      expected[(int) s] = falling(6, LR_MIN, before61, 61, 100, s);
    }
    for (int s = 0; s < 100; s++) {
      LrValue v = plan.evaluate(s, timeline);
      close(v.lr(), expected[s]);
      assertThat(LrEvaluator.evaluate(job, s, timeline).lr()).isEqualTo(v.lr());
    }
    assertThat(plan.evaluate(40, timeline).phi()).isEqualTo(20);
    // no jump where an estimate applies
    assertThat(Math.abs(plan.evaluate(31, timeline).lr() - before31)).isLessThanOrEqualTo(1e-12 * before31);
    assertThat(Math.abs(plan.evaluate(61, timeline).lr() - before61)).isLessThanOrEqualTo(1e-12 * before61);
    // live mode jumps there
    JobPlan live = JobPlan.of(conditionNumber(Budget.of(100), PhiMode.LIVE), List.of());
    close(live.evaluate(31, timeline).lr(), eq5(20, LR_MAX, LR_MIN, 0, 100, 31, false));
  }

  @Test
  void continuousModeStartsEachPhaseWithThePhiInForceThere() {
    // the estimate applies from 50, the first step of phase 2: no re-plan there; one from 70 re-plans
    CurvatureTimeline timeline = CurvatureTimeline.of(List.of(estimate(49, 10), estimate(69, 3)));
    JobPlan plan = JobPlan.of(conditionNumber(new Budget(100, 0, new long[] {50, 100}, 0), PhiMode.CONTINUOUS),
        List.of());
    for (long s = 50; s < 70; s++) {
      close(plan.evaluate(s, timeline).lr(), eq5(20, LR_MAX, LR_MIN, 50, 100, s, true));
    }
    double before70 = eq5(20, LR_MAX, LR_MIN, 50, 100, 70, true);
    for (long s = 70; s < 100; s++) {
      close(plan.evaluate(s, timeline).lr(), rising(6, LR_MAX, before70, 70, 100, s));
    }
  }

  @Test
  void aRevisionReplansAContinuousJobFromItsValueAndLaterEstimatesFromTheirs() {
    CurvatureTimeline timeline = CurvatureTimeline.of(List.of(estimate(30, 10), estimate(80, 3)));
    JobSchedule job = conditionNumber(Budget.of(100), PhiMode.CONTINUOUS);
    JobPlan plan = JobPlan.of(job, List.of(Revision.budget(50, 200)));
    double before31 = eq5(PHI, LR_MAX, LR_MIN, 0, 100, 31, false);
    double v = falling(20, LR_MIN, before31, 31, 100, 50);
    for (long s = 50; s < 81; s++) {
      close(plan.evaluate(s, timeline).lr(), falling(20, LR_MIN, v, 50, 200, s));
    }
    double before81 = falling(20, LR_MIN, v, 50, 200, 81);
    for (long s = 81; s < 200; s++) {
      close(plan.evaluate(s, timeline).lr(), falling(6, LR_MIN, before81, 81, 200, s));
    }
    // the answers before from_step are the job's before the revision
    JobPlan unrevised = JobPlan.of(job, List.of());
    for (long s = 0; s < 50; s++) {
      assertThat(plan.evaluate(s, timeline)).isEqualTo(unrevised.evaluate(s, timeline));
    }
  }
}
