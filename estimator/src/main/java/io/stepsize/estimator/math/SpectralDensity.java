package io.stepsize.estimator.math;

/**
 * A discrete spectral density Σ w_i δ(θ_i) with the residual bound of each node: one probe's
 * SLQ quadrature or the average over the probes of one step. Nodes are ascending; weights sum to
 * 1 (up to rounding) because every probe's weights do and a merge averages them.
 */
public final class SpectralDensity {

    private final double[] theta;
    private final double[] weight;
    private final double[] bound;
    private final int probes;
    private final double lambdaMaxBound;

    /** Package-private: built by {@link RitzSpectrum#density()} and {@link ProbeMerge}; arrays are not copied. */
    SpectralDensity(double[] theta, double[] weight, double[] bound, int probes, double lambdaMaxBound) {
        this.theta = theta;
        this.weight = weight;
        this.bound = bound;
        this.probes = probes;
        this.lambdaMaxBound = lambdaMaxBound;
    }

    /**
     * A density from explicit nodes (for tests and tools); nodes must be ascending and the
     * arrays of equal length ≥ 1. The λ_max bound is taken as θ_max + its r.
     */
    public static SpectralDensity of(double[] theta, double[] weight, double[] bound, int probes) {
        int n = theta.length;
        if (n < 1 || weight.length != n || bound.length != n || probes < 1) {
            throw new IllegalArgumentException("need n >= 1 nodes with one weight and one bound each, and probes >= 1");
        }
        for (int i = 1; i < n; i++) {
            if (!(theta[i - 1] <= theta[i])) {
                throw new IllegalArgumentException("nodes must be ascending, theta[" + i + "] = " + theta[i]);
            }
        }
        return new SpectralDensity(theta.clone(), weight.clone(), bound.clone(), probes,
                theta[n - 1] + bound[n - 1]);
    }

    public int size() {
        return theta.length;
    }

    public double theta(int i) {
        return theta[i];
    }

    public double weight(int i) {
        return weight[i];
    }

    public double residualBound(int i) {
        return bound[i];
    }

    public double[] theta() {
        return theta.clone();
    }

    public double[] weights() {
        return weight.clone();
    }

    public double[] residualBounds() {
        return bound.clone();
    }

    /** How many probes were averaged into this density. */
    public int probes() {
        return probes;
    }

    /** The largest node: the largest λ_max of the probes. */
    public double lambdaMax() {
        return theta[theta.length - 1];
    }

    /** The smallest node (signed): the smallest λ_min of the probes. */
    public double lambdaMin() {
        return theta[0];
    }

    /** The largest λ_max bound of the probes. */
    public double lambdaMaxBound() {
        return lambdaMaxBound;
    }

    /**
     * Σ w_i over θ_i < 0 (DESIGN §1.7): from a gradient start, the share of the gradient's energy in
     * negative curvature; from a random start, the share of the spectrum below zero.
     */
    public double negativeMass() {
        double s = 0.0;
        for (int i = 0; i < theta.length && theta[i] < 0.0; i++) { // ascending: the negative nodes come first
            s += weight[i];
        }
        return s;
    }

    public double totalWeight() {
        double s = 0.0;
        for (double w : weight) {
            s += w;
        }
        return s;
    }
}
