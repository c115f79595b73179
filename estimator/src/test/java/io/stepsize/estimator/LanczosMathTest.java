package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.estimator.math.RitzSpectrum;
import io.stepsize.schedule.PhiPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The remembered spectra change no estimate: a step's workers added one by one give, at every
 * count, exactly the estimate a math object that never saw them computes; only the same probe
 * object is remembered.
 */
class LanczosMathTest {
  private static final PhiPolicy.ConditionNumber LOWER_EDGE = PhiPolicy.ConditionNumber.defaults();

  /** A Lanczos-like T_m: positive diagonal, positive couplings, a residual norm last. */
  private static CurvatureMath.Probe probe(long seed, boolean gradientStart) {
    SplittableRandom g = new SplittableRandom(seed);
    int m = 20;
    double[] alpha = new double[m];
    double[] beta = new double[m];
    for (int i = 0; i < m; i++) {
      alpha[i] = 1 + 5 * g.nextDouble();
      beta[i] = 0.5 + g.nextDouble();
    }
    return new CurvatureMath.Probe(alpha, beta, gradientStart, false);
  }

  @Test
  void workersAddedOneByOneGiveTheEstimatesOfAFreshMath() {
    LanczosMath remembering = new LanczosMath();
    byte[] ewmaBefore = new LanczosMath().estimate(99, new byte[0], List.of(probe(1, true)), LOWER_EDGE, 10)
        .ewmaAfter();
    List<CurvatureMath.Probe> step = new ArrayList<>();
    for (int w = 0; w < 6; w++) {
      step.add(probe(100 + w, w % 2 == 0));
      CurvatureMath.Smoothed got = remembering.estimate(100, ewmaBefore, List.copyOf(step), LOWER_EDGE, 10);
      CurvatureMath.Smoothed fresh = new LanczosMath().estimate(100, ewmaBefore, List.copyOf(step), LOWER_EDGE, 10);
      assertThat(got.ewmaAfter()).as("workers: %d", w + 1).isEqualTo(fresh.ewmaAfter());
      assertThat(got).usingRecursiveComparison().ignoringFields("ewmaAfter").isEqualTo(fresh);
      assertThat(got.probes()).isEqualTo(fresh.probes());
    }
  }

  @Test
  void onlyTheSameProbeObjectIsRemembered() {
    LanczosMath math = new LanczosMath();
    CurvatureMath.Probe p = probe(7, false);
    RitzSpectrum first = math.spectrum(p);
    assertThat(math.spectrum(p)).isSameAs(first);
    // equal values in other arrays (a probe read back from its bytes): decomposed again, to the same values
    CurvatureMath.Probe copy = new CurvatureMath.Probe(p.alpha().clone(), p.beta().clone(), false, false);
    RitzSpectrum again = math.spectrum(copy);
    assertThat(again).isNotSameAs(first);
    assertThat(again.theta()).containsExactly(first.theta());
    assertThat(again.weights()).containsExactly(first.weights());
  }

  @Test
  void whatIsRememberedIsBoundedInRitzValues() {
    LanczosMath math = new LanczosMath();
    CurvatureMath.Probe first = probe(1, false);
    RitzSpectrum remembered = math.spectrum(first);
    // m = 20: the bound holds REMEMBERED_VALUES / 20 spectra; one more than that pushes the first out
    int others = LanczosMath.REMEMBERED_VALUES / 20;
    for (int i = 0; i < others - 1; i++) {
      math.spectrum(probe(1000 + i, false));
    }
    assertThat(math.spectrum(first)).as("still within the bound").isSameAs(remembered);
    for (int i = 0; i < others; i++) {
      math.spectrum(probe(100_000 + i, false));
    }
    assertThat(math.spectrum(first)).as("pushed out, solved again").isNotSameAs(remembered);
  }
}
