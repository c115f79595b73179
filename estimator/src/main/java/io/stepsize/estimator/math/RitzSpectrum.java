package io.stepsize.estimator.math;

import io.stepsize.wire.ProbeValidation;
import io.stepsize.wire.InvalidProbeException;

/**
 * What one probe says about the Hessian: the Ritz values θ_1 ≤ … ≤ θ_m of T_m, their SLQ
 * weights w_i = s_{1,i}² (the Gauss quadrature of the spectral measure seen from the start
 * vector, so Σ w_i = 1) and their residual bounds r_i = β_m·|s_{m,i}|.
 *
 * <p>The bound is the classical one: ‖H y_i − θ_i y_i‖ = β_m·|s_{m,i}| for the Ritz vector
 * y_i, so some true eigenvalue of H lies within r_i of θ_i. It is floored at 1e-12·max|θ|
 * because below that the floating-point Lanczos process itself cannot certify anything (its
 * T_m is the exact projection of a matrix within a few ulps of H).
 */
public final class RitzSpectrum {

    /** Relative floor of the residual bounds. */
    public static final double BOUND_FLOOR = 1e-12;

    private final double[] theta;
    private final double[] weight;
    private final double[] bound;
    private final double residualNorm;

    private RitzSpectrum(double[] theta, double[] weight, double[] bound, double residualNorm) {
        this.theta = theta;
        this.weight = weight;
        this.bound = bound;
        this.residualNorm = residualNorm;
    }

    /**
     * The Ritz spectrum of a probe in DESIGN's convention (beta[i] couples i and i+1, beta[m-1]
     * is β_m). Throws {@link InvalidProbeException} when the probe breaks a validation rule.
     */
    public static RitzSpectrum of(double[] alpha, double[] beta) {
        ProbeValidation.check(alpha, beta);
        int m = alpha.length;
        TridiagonalEigen.Decomposition d = TridiagonalEigen.decompose(alpha, beta);
        double betaM = beta[m - 1];
        double maxAbs = 0.0;
        for (double t : d.values()) {
            maxAbs = Math.max(maxAbs, Math.abs(t));
        }
        double floor = BOUND_FLOOR * maxAbs;
        double[] weight = new double[m];
        double[] bound = new double[m];
        for (int i = 0; i < m; i++) {
            weight[i] = d.first()[i] * d.first()[i];
            bound[i] = Math.max(betaM * Math.abs(d.last()[i]), floor);
        }
        return new RitzSpectrum(d.values(), weight, bound, betaM);
    }

    /** m, the number of Ritz values. */
    public int size() {
        return theta.length;
    }

    /** Ritz values, ascending (a copy). */
    public double[] theta() {
        return theta.clone();
    }

    /** SLQ weights w_i = s_{1,i}², aligned with {@link #theta()} (a copy). */
    public double[] weights() {
        return weight.clone();
    }

    /** Residual bounds r_i, aligned with {@link #theta()} (a copy). */
    public double[] residualBounds() {
        return bound.clone();
    }

    /** β_m; 0 when the probe broke down, in which case every θ_i is exact up to the floor. */
    public double residualNorm() {
        return residualNorm;
    }

    /** λ_max = θ_m, a lower bound on the true largest eigenvalue (Rayleigh–Ritz). */
    public double lambdaMax() {
        return theta[theta.length - 1];
    }

    /** λ_min = θ_1, signed; an upper bound on the true smallest eigenvalue. */
    public double lambdaMin() {
        return theta[0];
    }

    /**
     * λ_max + r_m. An upper bound on the eigenvalue that θ_m approximates; it bounds the true
     * λ_max whenever that eigenvalue is the top one, i.e. unless the start vector is (nearly)
     * orthogonal to the top eigenvector, which a random start makes improbable.
     */
    public double lambdaMaxBound() {
        return lambdaMax() + bound[bound.length - 1];
    }

    /** This probe's SLQ density Σ w_i δ(θ_i), as a one-probe {@link SpectralDensity}. */
    public SpectralDensity density() {
        return new SpectralDensity(theta, weight, bound, 1, lambdaMaxBound());
    }
}
