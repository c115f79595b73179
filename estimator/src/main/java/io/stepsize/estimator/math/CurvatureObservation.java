package io.stepsize.estimator.math;

/**
 * The curvature seen at one probe step, before smoothing: the extremes of the step's
 * (merged) density and its lower edge.
 *
 * @param step           the training step the probes were taken at
 * @param lambdaMin      smallest Ritz value, signed
 * @param lambdaLow      lower edge by the job's rule
 * @param lambdaMax      largest Ritz value
 * @param lambdaMaxBound largest λ_max + r of the probes
 * @param probes         how many probes were merged
 */
public record CurvatureObservation(long step, double lambdaMin, double lambdaLow, double lambdaMax,
        double lambdaMaxBound, int probes) {

    /** The observation of one step from its merged density. */
    public static CurvatureObservation of(long step, SpectralDensity density, LowerEdgeSettings settings) {
        return new CurvatureObservation(step, density.lambdaMin(), LowerEdge.lambdaLow(density, settings),
                density.lambdaMax(), density.lambdaMaxBound(), density.probes());
    }

    /** Whether it defines a condition number: 0 < λ_low ≤ λ_max. */
    public boolean hasConditionNumber() {
        return lambdaLow > 0.0 && lambdaMax >= lambdaLow;
    }
}
