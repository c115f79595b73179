package io.stepsize.estimator.math;

import io.stepsize.schedule.LowerEdgeRule;
import io.stepsize.schedule.PhiPolicy;

/**
 * The inputs of the lower-edge rule (DESIGN §1.4 step 2), the math's own view of the
 * {@code condition_number} policy.
 *
 * @param rule       which rule picks λ_low
 * @param floorRatio τ = floorRatio·λ_max separates "positive" curvature from noise, in [0, 1)
 * @param quantile   q of the {@code quantile} rule, in (0, 1)
 * @param tol        a Ritz value counts as converged when r_i ≤ tol·|θ_i|; finite, > 0
 */
public record LowerEdgeSettings(LowerEdgeRule rule, double floorRatio, double quantile, double tol) {

    public LowerEdgeSettings {
        if (rule == null) {
            throw new IllegalArgumentException("lower_edge must be set");
        }
        if (!(floorRatio >= 0.0 && floorRatio < 1.0)) {
            throw new IllegalArgumentException("floor_ratio must be in [0, 1), got " + floorRatio);
        }
        if (!(quantile > 0.0 && quantile < 1.0)) {
            throw new IllegalArgumentException("quantile must be in (0, 1), got " + quantile);
        }
        if (!(tol > 0.0) || !Double.isFinite(tol)) {
            throw new IllegalArgumentException("tol must be finite and > 0, got " + tol);
        }
    }

    /** The condition_number policy's defaults (DESIGN §1.4), as schedule/ defines them. */
    public static LowerEdgeSettings defaults() {
        return from(PhiPolicy.ConditionNumber.defaults());
    }

    /** The settings a job's condition_number policy carries. */
    public static LowerEdgeSettings from(PhiPolicy.ConditionNumber policy) {
        return new LowerEdgeSettings(policy.lowerEdge(), policy.floorRatio(), policy.quantile(), policy.tol());
    }

    public LowerEdgeSettings withRule(LowerEdgeRule newRule) {
        return new LowerEdgeSettings(newRule, floorRatio, quantile, tol);
    }
}
