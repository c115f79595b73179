package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** DESIGN.md §1.3: fixed, condition_number (clamp, exponent, live/latched), chebyshev, fallback. */
class PhiPolicyTest {

  private final Budget twoPhases = new Budget(100, 0, new long[] {50, 100}, 0);

  private static CurvaturePoint point(long step, long appliesFrom, double lambdaLow, double lambdaMax) {
    return new CurvaturePoint(step, appliesFrom, 1, lambdaLow, lambdaLow, lambdaMax, lambdaMax / lambdaLow,
        lambdaMax, 1);
  }

  @Test
  void conditionNumberClampsAndHonoursScaleAndExponent() {
    PhiPolicy.ConditionNumber paper = PhiPolicy.ConditionNumber.paper();
    assertThat(paper.phiFor(10)).isEqualTo(20);
    assertThat(paper.phiFor(1e6)).isEqualTo(1000);
    assertThat(paper.phiFor(0.01)).isEqualTo(0.1);
    // the default maps kappa to 0.2 kappa (docs/EXPERIMENTS.md), with the same clamp
    PhiPolicy.ConditionNumber defaults = PhiPolicy.ConditionNumber.defaults();
    assertThat(defaults.scale()).isEqualTo(0.1);
    assertThat(defaults.exponent()).isEqualTo(1);
    assertThat(defaults.phiFor(10)).isCloseTo(2, within(1e-15));
    assertThat(defaults.phiFor(1e6)).isEqualTo(1000);
    assertThat(defaults.phiFor(0.01)).isEqualTo(0.1);
    var sqrt = new PhiPolicy.ConditionNumber(2, 0.5, 0.1, 1000, LowerEdgeRule.FLOOR, 1e-6, 0.05, 1e-2,
        PhiMode.LIVE);
    assertThat(sqrt.phiFor(8)).isCloseTo(8, within(1e-12)); // 2·(16)^0.5
    assertThat(sqrt.phiFor(1e9)).isEqualTo(1000);
  }

  @Test
  void liveAndLatchedPickDifferentEstimates() {
    CurvatureTimeline timeline = CurvatureTimeline.of(List.of(point(40, 41, 1, 10), point(60, 61, 1, 100)));
    JobSchedule live = new JobSchedule(twoPhases, 1, 0, List.of(), PhiPolicy.ConditionNumber.paper(), 0.5, 1);
    JobSchedule latched = new JobSchedule(twoPhases, 1, 0, List.of(),
        PhiPolicy.ConditionNumber.paper().withMode(PhiMode.LATCHED), 0.5, 1);

    LrValue liveAt70 = LrEvaluator.evaluate(live, 70, timeline);
    assertThat(liveAt70.phi()).isEqualTo(200);
    assertThat(liveAt70.curvatureStep()).isEqualTo(60);
    assertThat(liveAt70.source()).isEqualTo(Source.CURVATURE);
    assertThat(liveAt70.kappa()).isEqualTo(100);

    // phase 2 starts at 50: the newest estimate applying to step 50 is the one from step 40
    LrValue latchedAt70 = LrEvaluator.evaluate(latched, 70, timeline);
    assertThat(latchedAt70.phi()).isEqualTo(20);
    assertThat(latchedAt70.curvatureStep()).isEqualTo(40);
    assertThat(latchedAt70.lr()).isEqualTo(Uba.factor(20, twoPhases, 70));

    // phase 1 starts at 0, before any estimate: latched falls back for the whole phase
    assertThat(LrEvaluator.evaluate(live, 45, timeline).phi()).isEqualTo(20);
    LrValue latchedAt45 = LrEvaluator.evaluate(latched, 45, timeline);
    assertThat(latchedAt45.source()).isEqualTo(Source.FALLBACK);
    assertThat(latchedAt45.phi()).isEqualTo(0.5);
    assertThat(latchedAt45.curvatureStep()).isEqualTo(-1);
    assertThat(latchedAt45.note()).isEqualTo(LrEvaluator.NOTE_NO_ESTIMATE);
  }

  @Test
  void applyDelayIsRespected() {
    JobSchedule job = new JobSchedule(Budget.of(100), 1, 0, List.of(), PhiPolicy.ConditionNumber.paper(), 5, 5);
    assertThat(job.appliesFrom(10)).isEqualTo(15);
    CurvatureTimeline timeline = CurvatureTimeline.of(List.of(point(10, job.appliesFrom(10), 2, 20)));
    LrValue before = LrEvaluator.evaluate(job, 14, timeline);
    assertThat(before.source()).isEqualTo(Source.FALLBACK);
    assertThat(before.phi()).isEqualTo(5);
    LrValue after = LrEvaluator.evaluate(job, 15, timeline);
    assertThat(after.source()).isEqualTo(Source.CURVATURE);
    assertThat(after.phi()).isEqualTo(20);
    assertThat(after.curvatureStep()).isEqualTo(10);
    assertThat(after.lambdaLow()).isEqualTo(2);
    assertThat(after.lambdaMax()).isEqualTo(20);
  }

  @Test
  void chebyshevFallsBackWhenLambdaLowIsNotPositive() {
    JobSchedule job = new JobSchedule(Budget.of(100), 0.2, 0.002, List.of(), new PhiPolicy.Chebyshev(), 0.5, 1);
    for (double lambdaLow : new double[] {-0.5, 0.0, Double.NaN}) {
      CurvatureTimeline timeline = CurvatureTimeline.of(List.of(point(3, 4, lambdaLow, 10)));
      LrValue v = LrEvaluator.evaluate(job, 20, timeline);
      assertThat(v.source()).isEqualTo(Source.FALLBACK);
      assertThat(v.note()).isEqualTo(LrEvaluator.NOTE_NO_CONDITION_NUMBER).contains("lambda_low <= 0");
      assertThat(v.phi()).isEqualTo(0.5);
      assertThat(v.lr()).isEqualTo(0.002 + (0.2 - 0.002) * Uba.factor(0.5, job.budget(), 20));
      assertThat(v.curvatureStep()).isEqualTo(-1);
      assertThat(v.kappa()).isZero();
    }
    // with a positive lower edge the range comes from the spectrum
    LrValue ok = LrEvaluator.evaluate(job, 20, CurvatureTimeline.of(List.of(point(3, 4, 0.5, 10))));
    assertThat(ok.source()).isEqualTo(Source.CURVATURE);
    assertThat(ok.phi()).isEqualTo(40);
    assertThat(ok.lr()).isBetween(1 / 10.0, 1 / 0.5);
    // no estimate at all
    assertThat(LrEvaluator.evaluate(job, 2, CurvatureTimeline.of(List.of(point(3, 4, 0.5, 10)))).note())
        .isEqualTo(LrEvaluator.NOTE_NO_ESTIMATE);
  }

  @Test
  void chebyshevGroupsKeepTheirRatioToTheJob() {
    JobSchedule job = new JobSchedule(Budget.of(100), 0.2, 0.0,
        List.of(new ParamGroup("a", 0.1, 0.0), new ParamGroup("b", 0.4, 0.1)), new PhiPolicy.Chebyshev(), 0.5, 1);
    LrValue v = LrEvaluator.evaluate(job, 50, CurvatureTimeline.of(List.of(point(0, 1, 1, 8))));
    assertThat(v.groupLrs()[0]).isCloseTo(v.lr() / 2, within(1e-15));
    assertThat(v.groupLrs()[1]).isCloseTo(v.lr() * 2, within(1e-15));
  }

  @Test
  void fixedIgnoresTheTimeline() {
    JobSchedule job = new JobSchedule(Budget.of(100), 1, 0, List.of(), new PhiPolicy.Fixed(3), 0.5, 1);
    LrValue v = LrEvaluator.evaluate(job, 50, CurvatureTimeline.of(List.of(point(0, 1, 1, 8))));
    assertThat(v.source()).isEqualTo(Source.FIXED);
    assertThat(v.phi()).isEqualTo(3);
    assertThat(v.curvatureStep()).isEqualTo(-1);
    assertThat(v.lambdaMax()).isZero();
    assertThat(v.note()).isEmpty();
  }

  @Test
  void optimizerDefaults() {
    assertThat(Optimizer.SGD.defaultPhi()).isEqualTo(5);
    assertThat(Optimizer.ADAMW.defaultPhi()).isEqualTo(0.5);
    assertThat(Optimizer.OTHER.defaultPhi()).isEqualTo(0.5);
    assertThat(JobSchedule.of(Budget.of(10), 1, 0, new PhiPolicy.Chebyshev(), Optimizer.SGD).fallbackPhi())
        .isEqualTo(5);
  }
}
