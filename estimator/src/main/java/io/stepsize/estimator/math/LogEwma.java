package io.stepsize.estimator.math;

/**
 * Smoothing across probe steps (DESIGN §1.4 step 3). Curvature moves over orders of
 * magnitude and φ depends on the ratio λ_max/λ_low, so λ_max, λ_low and the λ_max bound are
 * averaged in log space (a geometric EWMA, which also keeps a ratio of averages equal to the
 * average of the ratios in log space). The weight of the new value is a = 1 − 2^(−1/h) for a
 * half-life of h probe steps: after h updates with the same value the log estimate has
 * moved half way to it. The signed λ_min cannot be logged and is averaged linearly with the
 * same a.
 *
 * <p>A first observation is taken as is. An observation without a condition number
 * (λ_low ≤ 0) cannot enter a log average: λ_max, λ_low and the bound are then taken as is, so
 * the state says at once that there is no κ (the policies fall back), and the next positive
 * observation restarts the average as a first one would. The three log quantities always move
 * together, which keeps λ_low ≤ λ_max ≤ bound in the state whenever each observation has it.
 *
 * <p>λ_h (DESIGN §1.7) is averaged in log space by the same rule with its own test, 0 < λ_h ≤ λ_max
 * on both sides, else taken as is. Under the {@code GRADIENT_HARMONIC} lower edge λ_low and λ_h are
 * the same number in every observation, so the two tests and the two averages are the same
 * computations: the state's λ_low equals its λ_h exactly, step after step. The gradient sharpness
 * and the negative mass are not smoothed: they describe the step itself (the topology reports the
 * observation's).
 *
 * <p>Observations must arrive in step order; the caller (the topology) owns ordering.
 */
public final class LogEwma {

    private LogEwma() {
    }

    /** a = 1 − 2^(−1/h); h = 0 gives 1 (no smoothing), h = ∞ gives 0. */
    public static double newWeight(double halfLife) {
        if (!(halfLife >= 0.0)) {
            throw new IllegalArgumentException("half-life must be >= 0, got " + halfLife);
        }
        return -Math.expm1(-Math.log(2.0) / halfLife); // accurate also for large h
    }

    /** The state after {@code observation}; {@code state} is null before the first one. */
    public static EwmaState update(EwmaState state, CurvatureObservation observation, double halfLife) {
        double a = newWeight(halfLife);
        if (state == null) {
            return first(observation);
        }
        double lambdaMin = (1.0 - a) * state.lambdaMin() + a * observation.lambdaMin();
        double lambdaLow;
        double lambdaMax;
        double bound;
        if (state.hasConditionNumber() && observation.hasConditionNumber()) {
            lambdaLow = logMix(state.lambdaLow(), observation.lambdaLow(), a);
            lambdaMax = logMix(state.lambdaMax(), observation.lambdaMax(), a);
            bound = logMix(state.lambdaMaxBound(), observation.lambdaMaxBound(), a);
        } else {
            lambdaLow = observation.lambdaLow();
            lambdaMax = observation.lambdaMax();
            bound = observation.lambdaMaxBound();
        }
        double harmonic = state.hasHarmonic() && observation.hasHarmonic()
                ? logMix(state.lambdaHarmonic(), observation.lambdaHarmonic(), a)
                : observation.lambdaHarmonic();
        return new EwmaState(observation.step(), lambdaMin, lambdaLow, lambdaMax, bound,
                state.probes() + observation.probes(), state.observations() + 1, harmonic);
    }

    /** The state of a first observation: the observation itself. */
    public static EwmaState first(CurvatureObservation o) {
        return new EwmaState(o.step(), o.lambdaMin(), o.lambdaLow(), o.lambdaMax(), o.lambdaMaxBound(),
                o.probes(), 1, o.lambdaHarmonic());
    }

    private static double logMix(double old, double now, double a) {
        if (a == 1.0) {
            return now; // exactly, not exp(log(now)) with its rounding
        }
        return Math.exp((1.0 - a) * Math.log(old) + a * Math.log(now));
    }
}
