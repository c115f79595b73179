package io.stepsize.estimator.math;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.schedule.LowerEdgeRule;
import io.stepsize.schedule.PhiPolicy;
import org.junit.jupiter.api.Test;

/**
 * The three rules on a hand-made density. With floor_ratio 1e-6 and λ_max = 10, τ = 1e-5:
 * −0.5 and 1e-7 are below τ; above it the nodes 0.2, 1, 4, 10 carry weights 0.1, 0.2, 0.2, 0.1
 * (mass 0.6) and relative bounds 0.25, 1e-3, 2.5e-5, 2e-7.
 */
class LowerEdgeTest {

    private static final SpectralDensity D = SpectralDensity.of(
            new double[] {-0.5, 1e-7, 0.2, 1.0, 4.0, 10.0},
            new double[] {0.1, 0.3, 0.1, 0.2, 0.2, 0.1},
            new double[] {1e-3, 5e-10, 0.05, 1e-3, 1e-4, 2e-6},
            1);

    private static LowerEdgeSettings s(LowerEdgeRule rule, double floorRatio, double quantile, double tol) {
        return new LowerEdgeSettings(rule, floorRatio, quantile, tol);
    }

    @Test
    void smallestPositiveTakesTheSmallestConvergedRitzValueAboveTau() {
        // 0.2 fails (0.05 > 0.002), 1.0 passes (1e-3 <= 1e-2)
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.SMALLEST_POSITIVE, 1e-6, 0.05, 1e-2))).isEqualTo(1.0);
        // a looser tol accepts 0.2 (0.05 <= 0.1)
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.SMALLEST_POSITIVE, 1e-6, 0.05, 0.5))).isEqualTo(0.2);
        // a strict tol accepts none (1e-3 > 1e-7, 1e-4 > 4e-7, 2e-6 > 1e-6): floor = max(−0.5, 1e-5)
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.SMALLEST_POSITIVE, 1e-6, 0.05, 1e-7))).isCloseTo(1e-5, within(1e-18));
    }

    @Test
    void floorRatioKeepsTheNearZeroSpikeOut() {
        // with τ = 0 the converged 1e-7 (5e-10 <= 1e-9) would make κ = 1e8
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.SMALLEST_POSITIVE, 0.0, 0.05, 1e-2))).isEqualTo(1e-7);
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.FLOOR, 0.0, 0.05, 1e-2))).isEqualTo(0.0);
    }

    @Test
    void quantileOfTheDensityAboveTau() {
        // cumulative weights above τ: 0.1, 0.3, 0.5, 0.6 out of 0.6
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.QUANTILE, 1e-6, 0.05, 1e-2))).isEqualTo(0.2); // 0.03
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.QUANTILE, 1e-6, 0.4, 1e-2))).isEqualTo(1.0);  // 0.24
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.QUANTILE, 1e-6, 0.6, 1e-2))).isEqualTo(4.0);  // 0.36
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.QUANTILE, 1e-6, 0.9, 1e-2))).isEqualTo(10.0); // 0.54
    }

    @Test
    void floorIsMaxOfLambdaMinAndTau() {
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.FLOOR, 1e-6, 0.05, 1e-2))).isCloseTo(1e-5, within(1e-18));
        assertThat(LowerEdge.lambdaLow(D, s(LowerEdgeRule.FLOOR, 0.5, 0.05, 1e-2))).isEqualTo(5.0);
        SpectralDensity positive = SpectralDensity.of(new double[] {2, 8}, new double[] {0.5, 0.5},
                new double[] {1, 1}, 1);
        assertThat(LowerEdge.lambdaLow(positive, s(LowerEdgeRule.FLOOR, 1e-6, 0.05, 1e-2))).isEqualTo(2.0);
    }

    @Test
    void noPositiveCurvatureGivesNoPositiveLowerEdge() {
        SpectralDensity negative = SpectralDensity.of(new double[] {-3, -1}, new double[] {0.5, 0.5},
                new double[] {1e-9, 1e-9}, 1);
        // τ = 1e-6·(−1) = −1e-6; nothing lies above it, every rule ends at the floor −1e-6
        for (LowerEdgeRule rule : LowerEdgeRule.values()) {
            assertThat(LowerEdge.lambdaLow(negative, LowerEdgeSettings.defaults().withRule(rule))).isEqualTo(-1e-6);
        }
    }

    @Test
    void settingsFromTheJobsPolicyAndTheirRules() {
        LowerEdgeSettings fromPolicy = LowerEdgeSettings.from(PhiPolicy.ConditionNumber.defaults());
        assertThat(fromPolicy).isEqualTo(LowerEdgeSettings.defaults());
        assertThatThrownBy(() -> s(LowerEdgeRule.FLOOR, 1.0, 0.05, 1e-2)).hasMessage("floor_ratio must be in [0, 1), got 1.0");
        assertThatThrownBy(() -> s(LowerEdgeRule.FLOOR, 0, 0.0, 1e-2)).hasMessage("quantile must be in (0, 1), got 0.0");
        assertThatThrownBy(() -> s(LowerEdgeRule.FLOOR, 0, 0.5, Double.NaN)).hasMessage("tol must be finite and > 0, got NaN");
        assertThatThrownBy(() -> s(null, 0, 0.5, 1)).hasMessage("lower_edge must be set");
    }
}
