package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Baselines as their authors define them (see the javadoc of {@link Baseline}). */
class BaselineTest {

  @Test
  void namesRoundTrip() {
    for (Baseline b : Baseline.values()) {
      assertThat(Baseline.byName(b.label())).isSameAs(b);
    }
    assertThat(Baseline.byName("OneCycle")).isSameAs(Baseline.ONECYCLE);
  }

  @Test
  void everyFactorStaysInTheUnitInterval() {
    for (Baseline b : Baseline.values()) {
      for (long n : new long[] {1, 2, 3, 7, 100, 1001}) {
        for (long t = 0; t < n; t++) {
          assertThat(b.factor(t, n)).as("%s %d/%d", b, t, n).isBetween(0.0, 1.0);
        }
      }
    }
  }

  @Test
  void valuesAtKnownPoints() {
    assertThat(Baseline.STEP.factor(49, 100)).isEqualTo(1);
    assertThat(Baseline.STEP.factor(50, 100)).isEqualTo(0.1);
    assertThat(Baseline.STEP.factor(74, 100)).isEqualTo(0.1);
    assertThat(Baseline.STEP.factor(75, 100)).isEqualTo(0.01);
    assertThat(Baseline.COSINE.factor(0, 100)).isEqualTo(1);
    assertThat(Baseline.COSINE.factor(50, 100)).isCloseTo(0.5, within(1e-15));
    assertThat(Baseline.LINEAR.factor(25, 100)).isEqualTo(0.75);
    assertThat(Baseline.REX.factor(50, 100)).isCloseTo(2.0 / 3, within(1e-15));
    // PyTorch OneCycleLR(max_lr=1, total_steps=100): 0.04 at 0, 1 at step 29, 4e-6 at 99
    assertThat(Baseline.ONECYCLE.factor(0, 100)).isCloseTo(0.04, within(1e-15));
    assertThat(Baseline.ONECYCLE.factor(29, 100)).isCloseTo(1, within(1e-15));
    assertThat(Baseline.ONECYCLE.factor(99, 100)).isCloseTo(4e-6, within(1e-15));
    // PyTorch at step 64 (phase 2, pct = 35/70): 4e-6 + (1 - 4e-6)/2·(cos(π/2) + 1)
    assertThat(Baseline.ONECYCLE.factor(64, 100)).isCloseTo(4e-6 + (1 - 4e-6) / 2, within(1e-15));
    // two triangles over the budget
    assertThat(Baseline.CYCLIC.factor(0, 100)).isZero();
    assertThat(Baseline.CYCLIC.factor(25, 100)).isEqualTo(1);
    assertThat(Baseline.CYCLIC.factor(50, 100)).isZero();
    assertThat(Baseline.CYCLIC.factor(75, 100)).isEqualTo(1);
    assertThat(Baseline.CYCLIC.factor(99, 100)).isCloseTo(0.04, within(1e-15));
    // 20% 1-sqrt cooldown
    assertThat(Baseline.WSD.factor(80, 100)).isEqualTo(1);
    assertThat(Baseline.WSD.factor(85, 100)).isEqualTo(0.5);
    assertThat(Baseline.EXPONENTIAL.factor(0, 100)).isEqualTo(1);
    assertThat(Baseline.EXPONENTIAL.factor(99, 100)).isCloseTo(0.01, within(1e-15));
    assertThat(Baseline.EXPONENTIAL.factor(33, 100) / Baseline.EXPONENTIAL.factor(32, 100))
        .isCloseTo(Baseline.EXPONENTIAL.factor(1, 100), within(1e-14));
  }

  @Test
  void baselinesShareTheJobsWarmupAndGroups() {
    JobSchedule job = new JobSchedule(Budget.of(110, 10), 0.5, 0.1, List.of(new ParamGroup("g", 1.0, 0.0)),
        new PhiPolicy.Fixed(1), 1, 1);
    LrValue warm = LrEvaluator.evaluate(job, Baseline.COSINE, 4);
    assertThat(warm.source()).isEqualTo(Source.WARMUP);
    assertThat(warm.lr()).isCloseTo(0.25, within(1e-16));
    LrValue v = LrEvaluator.evaluate(job, Baseline.LINEAR, 35);
    assertThat(v.factor()).isEqualTo(0.75);
    assertThat(v.lr()).isCloseTo(0.1 + 0.4 * 0.75, within(1e-16));
    assertThat(v.groupLrs()[0]).isEqualTo(0.75);
    assertThat(v.source()).isEqualTo(Source.FIXED);
    assertThat(v.curvatureStep()).isEqualTo(-1);
  }
}
