package io.stepsize.estimator.math;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import io.stepsize.schedule.LowerEdgeRule;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProbeMergeTest {

    private static final double R = 0.5 * Math.sqrt(0.5);

    // A: T = [[2, 1], [1, 2]], β = 0.5 → θ {1, 3}, w {1/2, 1/2}, r {0.3536, 0.3536}
    private static final RitzSpectrum A = RitzSpectrum.of(new double[] {2, 2}, new double[] {1, 0.5});
    // B: m = 1 → θ {2.5}, w {1}, r {0.1}
    private static final RitzSpectrum B = RitzSpectrum.of(new double[] {2.5}, new double[] {0.1});

    @Test
    void twoProbesAverageTheirDensities() {
        SpectralDensity m = ProbeMerge.merge(List.of(A, B));
        assertThat(m.theta()).containsExactly(new double[] {1, 2.5, 3}, offset(1e-15));
        assertThat(m.weights()).containsExactly(new double[] {0.25, 0.5, 0.25}, offset(1e-15));
        assertThat(m.residualBounds()).containsExactly(new double[] {R, 0.1, R}, offset(1e-15));
        assertThat(m.probes()).isEqualTo(2);
        assertThat(m.totalWeight()).isCloseTo(1.0, offset(1e-15));
        assertThat(m.lambdaMax()).isCloseTo(3.0, offset(1e-15));      // max over the probes
        assertThat(m.lambdaMin()).isCloseTo(1.0, offset(1e-15));      // min over the probes
        assertThat(m.lambdaMaxBound()).isCloseTo(3 + R, offset(1e-15)); // max of 3 + R and 2.6
    }

    @Test
    void lowerEdgeRulesApplyToTheMergedDensity() {
        SpectralDensity m = ProbeMerge.merge(List.of(A, B));
        LowerEdgeSettings q = new LowerEdgeSettings(LowerEdgeRule.QUANTILE, 1e-6, 0.3, 1e-2);
        // A alone: cumulative 0.5 at θ = 1 ≥ 0.3 → 1; merged: 0.25, 0.75 → 2.5
        assertThat(LowerEdge.lambdaLow(A, q)).isCloseTo(1.0, offset(1e-15));
        assertThat(LowerEdge.lambdaLow(m, q)).isEqualTo(2.5);
        // smallest_positive with tol 0.2: θ = 1 has r = 0.354 > 0.2; θ = 2.5 has 0.1 <= 0.5
        LowerEdgeSettings sp = new LowerEdgeSettings(LowerEdgeRule.SMALLEST_POSITIVE, 1e-6, 0.05, 0.2);
        assertThat(LowerEdge.lambdaLow(m, sp)).isEqualTo(2.5);
        CurvatureObservation o = CurvatureObservation.of(40, m, sp);
        // λ_h of the averaged density: 1 / (0.25/1 + 0.5/2.5 + 0.25/3) = 1.875; no node below 0
        assertThat(o.lambdaHarmonic()).isCloseTo(1.875, offset(1e-15));
        assertThat(o).isEqualTo(new CurvatureObservation(40, m.lambdaMin(), 2.5, m.lambdaMax(), m.lambdaMaxBound(), 2,
                o.lambdaHarmonic(), 0.0, Double.NaN));
        // under gradient_harmonic the lower edge is that same number
        CurvatureObservation h = CurvatureObservation.of(40, m, sp.withRule(LowerEdgeRule.GRADIENT_HARMONIC), 4.0);
        assertThat(h.lambdaLow()).isEqualTo(o.lambdaHarmonic());
        assertThat(h.lambdaHarmonic()).isEqualTo(o.lambdaHarmonic());
        assertThat(h.gradientSharpness()).isEqualTo(4.0);
    }

    @Test
    void oneProbeMergesToItsOwnDensityAndNoneIsAnError() {
        SpectralDensity m = ProbeMerge.merge(List.of(A));
        assertThat(m.theta()).containsExactly(A.theta());
        assertThat(m.weights()).containsExactly(A.weights());
        assertThatThrownBy(() -> ProbeMerge.merge(List.of())).hasMessage("merge needs at least one probe");
    }
}
