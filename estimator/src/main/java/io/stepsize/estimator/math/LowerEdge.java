package io.stepsize.estimator.math;

/**
 * λ_low, the lower edge of the spectrum that matters for the step size (DESIGN §1.4 step 2).
 * Network Hessians have a huge spike of near-zero and slightly negative eigenvalues; taking
 * λ_min would make κ meaningless, so every rule looks only above τ = floor_ratio·λ_max.
 *
 * <ul>
 *   <li>{@code SMALLEST_POSITIVE}: the smallest θ_i > τ whose residual bound says it has
 *       converged, r_i ≤ tol·|θ_i|. An unconverged θ_i sits somewhere inside a cluster and is
 *       not an eigenvalue one can name; when no θ_i qualifies, the {@code FLOOR} rule.</li>
 *   <li>{@code QUANTILE}: the lower q-quantile of the SLQ density restricted to θ > τ and
 *       renormalized: the smallest node θ_j with Σ_{i ≤ j} w_i ≥ q·Σ w_i. Robust where single
 *       Ritz values are not; when no node lies above τ, the {@code FLOOR} rule.</li>
 *   <li>{@code FLOOR}: max(λ_min, τ).</li>
 *   <li>{@code GRADIENT_HARMONIC}: λ_h = Σ_{θ_i>τ} w_i / Σ_{θ_i>τ} (w_i/θ_i) (DESIGN §1.7). From a
 *       gradient start the w_i are the gradient's energy per Ritz direction, so λ_h is the curvature
 *       the step meets on average, which the flat directions dominate; when no weight lies above τ,
 *       the {@code FLOOR} rule.</li>
 * </ul>
 * With λ_max > 0 and floor_ratio > 0 every rule returns a value > 0. With λ_max ≤ 0 (no positive
 * curvature seen) or floor_ratio = 0 over an indefinite spectrum, λ_low may be ≤ 0: there is no
 * condition number then, and the caller must treat it so.
 */
public final class LowerEdge {

    private LowerEdge() {
    }

    /** λ_low of a (possibly merged) density under the settings' rule. */
    public static double lambdaLow(SpectralDensity density, LowerEdgeSettings settings) {
        return switch (settings.rule()) {
            case SMALLEST_POSITIVE -> smallestPositive(density, settings);
            case QUANTILE -> quantile(density, settings);
            case FLOOR -> floor(density, settings);
            case GRADIENT_HARMONIC -> gradientHarmonic(density, settings);
        };
    }

    /** λ_low of one probe. */
    public static double lambdaLow(RitzSpectrum spectrum, LowerEdgeSettings settings) {
        return lambdaLow(spectrum.density(), settings);
    }

    /** τ = floor_ratio·λ_max. */
    static double tau(SpectralDensity density, LowerEdgeSettings settings) {
        return settings.floorRatio() * density.lambdaMax();
    }

    static double smallestPositive(SpectralDensity d, LowerEdgeSettings s) {
        double t = smallestConverged(d, s);
        return Double.isNaN(t) ? floor(d, s) : t;
    }

    /** The smallest θ_i > τ whose r_i ≤ tol·|θ_i|; NaN when none qualifies (smallest_positive then falls to floor). */
    public static double smallestConverged(SpectralDensity d, LowerEdgeSettings s) {
        double tau = tau(d, s);
        for (int i = 0; i < d.size(); i++) { // ascending: the first that qualifies is the smallest
            double t = d.theta(i);
            if (t > tau && d.residualBound(i) <= s.tol() * Math.abs(t)) {
                return t;
            }
        }
        return Double.NaN;
    }

    static double quantile(SpectralDensity d, LowerEdgeSettings s) {
        double tau = tau(d, s);
        double mass = 0.0;
        int start = -1;
        for (int i = 0; i < d.size(); i++) {
            if (d.theta(i) > tau) {
                if (start < 0) {
                    start = i;
                }
                mass += d.weight(i);
            }
        }
        if (start < 0 || !(mass > 0.0)) {
            return floor(d, s);
        }
        double target = s.quantile() * mass;
        double cumulative = 0.0;
        for (int i = start; i < d.size(); i++) {
            cumulative += d.weight(i);
            if (cumulative >= target) {
                return d.theta(i);
            }
        }
        return d.lambdaMax(); // rounding left cumulative a hair below target
    }

    /**
     * The {@code GRADIENT_HARMONIC} rule: λ_h over θ_i > τ, the {@code FLOOR} rule when no weight
     * lies there. A point's {@code lambda_harmonic} is this value whatever the job's rule, so that
     * under this rule λ_low and λ_h are one number.
     */
    public static double gradientHarmonic(SpectralDensity d, LowerEdgeSettings s) {
        double h = harmonic(d, tau(d, s));
        return Double.isNaN(h) ? floor(d, s) : h;
    }

    /** λ_h over θ_i > tau; NaN when no weight lies there. */
    public static double harmonic(SpectralDensity d, double tau) {
        double mass = 0.0;
        double inverse = 0.0;
        for (int i = 0; i < d.size(); i++) {
            double t = d.theta(i);
            if (t > tau) {
                mass += d.weight(i);
                inverse += d.weight(i) / t;
            }
        }
        return mass > 0.0 && inverse > 0.0 ? mass / inverse : Double.NaN;
    }

    static double floor(SpectralDensity d, LowerEdgeSettings s) {
        return Math.max(d.lambdaMin(), tau(d, s));
    }
}
