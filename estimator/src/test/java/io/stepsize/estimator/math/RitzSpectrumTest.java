package io.stepsize.estimator.math;

import io.stepsize.wire.InvalidProbeException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import io.stepsize.schedule.LowerEdgeRule;
import org.junit.jupiter.api.Test;

class RitzSpectrumTest {

    private static final double S = Math.sqrt(0.5);

    @Test
    void twoByTwoByHand() {
        // T = [[2, 1], [1, 2]]: θ = 1, 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2; β_m = 0.5
        RitzSpectrum r = RitzSpectrum.of(new double[] {2, 2}, new double[] {1, 0.5});
        assertThat(r.theta()).containsExactly(new double[] {1, 3}, offset(1e-15));
        assertThat(r.weights()).containsExactly(new double[] {0.5, 0.5}, offset(1e-15));
        assertThat(r.residualBounds()).containsExactly(new double[] {0.5 * S, 0.5 * S}, offset(1e-15));
        assertThat(r.lambdaMin()).isCloseTo(1, offset(1e-15));
        assertThat(r.lambdaMax()).isCloseTo(3, offset(1e-15));
        assertThat(r.lambdaMaxBound()).isCloseTo(3 + 0.5 * S, offset(1e-15));
        assertThat(r.residualNorm()).isEqualTo(0.5);
    }

    @Test
    void oneStepProbeIsItsOwnRayleighQuotient() {
        RitzSpectrum r = RitzSpectrum.of(new double[] {-4}, new double[] {2});
        assertThat(r.theta()).containsExactly(-4);
        assertThat(r.weights()).containsExactly(1);
        assertThat(r.residualBounds()).containsExactly(2);
    }

    @Test
    void boundsAreFlooredAt1e12OfTheLargestMagnitudeAfterBreakdown() {
        RitzSpectrum r = RitzSpectrum.of(new double[] {2, 2}, new double[] {1, 0});
        assertThat(r.residualBounds()).containsExactly(3e-12, 3e-12);
    }

    @Test
    void slqWeightsSumToOneAndAreAGaussQuadratureOfTheSpectralMeasure() {
        double[] lambda = new double[2000];
        for (int i = 0; i < lambda.length; i++) {
            lambda[i] = -1.0 + 3.0 * Math.pow((double) i / 1999, 2);
        }
        int m = 12;
        DiagonalLanczos d = DiagonalLanczos.run(lambda, m, 5);
        RitzSpectrum r = RitzSpectrum.of(d.alpha, d.beta);
        double[] w = r.weights();
        double[] t = r.theta();
        double sum = 0.0;
        for (double x : w) {
            sum += x;
        }
        assertThat(sum).isCloseTo(1.0, offset(1e-14));
        // an m-node Gauss rule integrates polynomials of degree ≤ 2m − 1 exactly
        for (int p = 1; p <= 2 * m - 1; p++) {
            double quadrature = 0.0;
            for (int i = 0; i < m; i++) {
                quadrature += w[i] * Math.pow(t[i], p);
            }
            assertThat(quadrature).as("moment %d", p).isCloseTo(d.moment(p), offset(1e-11 * Math.pow(2, p)));
        }
    }

    @Test
    void isolatedTopAndNegativeBottomOfAKnownSpectrumAt20Steps() {
        double[] lambda = new double[2000];
        for (int i = 0; i < lambda.length; i++) {
            lambda[i] = 0.1 + 9.9 * i / 1997;
        }
        lambda[1998] = -5.0;
        lambda[1999] = 100.0;
        RitzSpectrum r = RitzSpectrum.of(DiagonalLanczos.run(lambda, 20, 6).alpha, DiagonalLanczos.run(lambda, 20, 6).beta);
        assertThat(Math.abs(r.lambdaMax() - 100.0) / 100.0).isLessThan(1e-8);
        assertThat(r.lambdaMin()).isNegative();
        assertThat(Math.abs(r.lambdaMin() + 5.0) / 5.0).isLessThan(1e-8);
        assertThat(r.lambdaMaxBound()).isGreaterThanOrEqualTo(100.0 - 1e-12);
        for (int i = 0; i < r.size(); i++) {
            assertThat(DiagonalLanczos.distanceToSpectrum(r.theta()[i], lambda)).isLessThanOrEqualTo(r.residualBounds()[i]);
        }
    }

    @Test
    void clusteredSpectrumIsHonestAndSmallestPositiveSkipsUnconvergedRitzValues() {
        // 2,000 eigenvalues in [0.01, 1] crowded at both ends (no isolated eigenvalue)
        double[] lambda = new double[2000];
        for (int i = 0; i < lambda.length; i++) {
            double s = (1 - Math.cos(Math.PI * i / 1999)) / 2;
            lambda[i] = 0.01 + 0.99 * (1 - Math.cos(Math.PI * s)) / 2;
        }
        DiagonalLanczos d = DiagonalLanczos.run(lambda, 20, 5);
        RitzSpectrum r = RitzSpectrum.of(d.alpha, d.beta);
        double theta1 = r.lambdaMin();
        double r1 = r.residualBounds()[0];
        assertThat(theta1 - 0.01).isGreaterThan(3e-4);          // not converged
        assertThat(r1).isGreaterThan(2.0 * (theta1 - 0.01));     // and the bound says so
        for (int i = 0; i < r.size(); i++) {
            assertThat(DiagonalLanczos.distanceToSpectrum(r.theta()[i], lambda)).isLessThanOrEqualTo(r.residualBounds()[i]);
        }
        LowerEdgeSettings defaults = LowerEdgeSettings.defaults();
        // with tol 1e-2 only the top Ritz value counts as converged: λ_low = λ_max, κ = 1
        assertThat(LowerEdge.lambdaLow(r, defaults)).isEqualTo(r.lambdaMax());
        // with tol 1e-3 none does: the floor rule, here θ_1
        LowerEdgeSettings strict = new LowerEdgeSettings(LowerEdgeRule.SMALLEST_POSITIVE, 1e-6, 0.05, 1e-3);
        assertThat(LowerEdge.lambdaLow(r, strict)).isEqualTo(theta1);
        // the quantile rule stays inside the bottom of the spectrum
        double q = LowerEdge.lambdaLow(r, defaults.withRule(LowerEdgeRule.QUANTILE));
        assertThat(q).isBetween(theta1, 0.1);
    }

    @Test
    void breakdownWithKDistinctEigenvaluesGivesThemExactly() {
        double[] distinct = {-2.0, 0.5, 1.0, 3.0, 7.0};
        double[] lambda = new double[2000];
        for (int i = 0; i < lambda.length; i++) {
            lambda[i] = distinct[i % 5];
        }
        DiagonalLanczos d = DiagonalLanczos.run(lambda, 5, 9);
        double[] beta = d.beta.clone();
        assertThat(beta[4]).isLessThan(1e-12); // the invariant subspace is reached
        beta[4] = 0.0; // what the client's driver reports at breakdown
        RitzSpectrum r = RitzSpectrum.of(d.alpha, beta);
        assertThat(r.theta()).containsExactly(distinct, offset(1e-12 * 7));
        // the bound is the floor of 1e-12·‖T‖ (here θ_max = 7) that keeps a breakdown honest
        assertThat(r.residualBounds()).containsOnly(new double[] {7e-12}, offset(1e-24));
    }

    @Test
    void invalidProbesAreRejectedBeforeAnyMath() {
        assertThatThrownBy(() -> RitzSpectrum.of(new double[] {1, Double.NaN}, new double[] {1, 1}))
                .isInstanceOf(InvalidProbeException.class)
                .hasMessage("lanczos.alpha[1] must be finite, got NaN");
    }
}
