package io.stepsize.estimator.math;

import io.stepsize.schedule.LowerEdgeRule;

/**
 * The curvature seen at one probe step, before smoothing: the extremes of the step's
 * (merged) density, its lower edge, and the gradient statistics of DESIGN §1.7.
 *
 * @param step              the training step the probes were taken at
 * @param lambdaMin         smallest Ritz value, signed
 * @param lambdaLow         lower edge by the job's rule
 * @param lambdaMax         largest Ritz value
 * @param lambdaMaxBound    largest λ_max + r of the probes
 * @param probes            how many probes were merged
 * @param lambdaHarmonic    λ_h of the merged density ({@link LowerEdge#gradientHarmonic}, whatever the job's rule)
 * @param negativeMass      Σ w_i over θ_i < 0 of the merged density
 * @param gradientSharpness mean alpha[0] = ĝᵀHĝ of the step's gradient-start probes; NaN when none started there
 */
public record CurvatureObservation(long step, double lambdaMin, double lambdaLow, double lambdaMax,
        double lambdaMaxBound, int probes, double lambdaHarmonic, double negativeMass, double gradientSharpness) {

    /** An observation without the gradient statistics (NaN), as before DESIGN §1.7. */
    public CurvatureObservation(long step, double lambdaMin, double lambdaLow, double lambdaMax,
            double lambdaMaxBound, int probes) {
        this(step, lambdaMin, lambdaLow, lambdaMax, lambdaMaxBound, probes, Double.NaN, Double.NaN, Double.NaN);
    }

    /** The observation of one step from its merged density; {@code gradientSharpness} comes from the probes. */
    public static CurvatureObservation of(long step, SpectralDensity density, LowerEdgeSettings settings,
            double gradientSharpness) {
        double harmonic = LowerEdge.gradientHarmonic(density, settings);
        // under GRADIENT_HARMONIC the lower edge is this very number, not a second computation of it
        double low = settings.rule() == io.stepsize.schedule.LowerEdgeRule.GRADIENT_HARMONIC
                ? harmonic : LowerEdge.lambdaLow(density, settings);
        return new CurvatureObservation(step, density.lambdaMin(), low, density.lambdaMax(),
                density.lambdaMaxBound(), density.probes(), harmonic, density.negativeMass(), gradientSharpness);
    }

    /** The observation of one step from its merged density, with no gradient-start probe among them. */
    public static CurvatureObservation of(long step, SpectralDensity density, LowerEdgeSettings settings) {
        return of(step, density, settings, Double.NaN);
    }

    /** Whether it defines a condition number: 0 < λ_low ≤ λ_max. */
    public boolean hasConditionNumber() {
        return lambdaLow > 0.0 && lambdaMax >= lambdaLow;
    }

    /** Whether λ_h can enter a log average: 0 < λ_h ≤ λ_max (under GRADIENT_HARMONIC, {@link #hasConditionNumber}). */
    public boolean hasHarmonic() {
        return lambdaHarmonic > 0.0 && lambdaMax >= lambdaHarmonic;
    }
}
