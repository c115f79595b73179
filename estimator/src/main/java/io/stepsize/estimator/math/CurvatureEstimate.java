package io.stepsize.estimator.math;

import io.stepsize.schedule.CurvaturePoint;

/**
 * The estimate the estimator emits for a (job, phase): κ_eff = λ_max/λ_low of the smoothed
 * state, the bounds, and from which step it may be used. κ_eff is NaN when λ_low ≤ 0 (no
 * positive lower edge: no condition number; the φ policies fall back).
 *
 * @param step            probe step of the newest observation in the estimate
 * @param appliesFromStep step + apply_delay_steps: the first step whose learning rate may use it
 * @param probes          probes absorbed into the estimate
 */
public record CurvatureEstimate(long step, long appliesFromStep, double lambdaMin, double lambdaLow,
        double lambdaMax, double kappa, double lambdaMaxBound, long probes) {

    public static CurvatureEstimate of(EwmaState state, long applyDelaySteps) {
        if (applyDelaySteps < 0) {
            throw new IllegalArgumentException("apply_delay_steps must be >= 0, got " + applyDelaySteps);
        }
        double kappa = state.hasConditionNumber() ? state.lambdaMax() / state.lambdaLow() : Double.NaN;
        return new CurvatureEstimate(state.step(), Math.addExact(state.step(), applyDelaySteps), state.lambdaMin(),
                state.lambdaLow(), state.lambdaMax(), kappa, state.lambdaMaxBound(), state.probes());
    }

    public boolean hasConditionNumber() {
        return !Double.isNaN(kappa);
    }

    /** The schedule module's view of this estimate, for the curvature timeline. */
    public CurvaturePoint toCurvaturePoint(int phase) {
        return new CurvaturePoint(step, appliesFromStep, phase, lambdaMin, lambdaLow, lambdaMax, kappa,
                lambdaMaxBound, probes);
    }
}
