package io.stepsize.client.lanczos;

import java.util.SplittableRandom;

/**
 * H = Q·diag(λ)·Qᵀ with Q = P_1·P_2·…·P_k a product of k random Householder reflections
 * P = I − 2uuᵀ, applied implicitly in O(k·n) per product. The eigenvalues are exactly the given
 * λ, yet the eigenvectors are dense, so Lanczos cannot exploit the coordinate basis: a test
 * matrix whose reference spectrum needs no dense eigensolver, at any n.
 */
public final class KnownSpectrumHvp implements Hvp {

    private final double[] lambda;
    private final double[][] reflectors; // unit vectors u_1..u_k
    private final double[] work;

    private KnownSpectrumHvp(double[] lambda, double[][] reflectors) {
        this.lambda = lambda;
        this.reflectors = reflectors;
        this.work = new double[lambda.length];
    }

    /** A matrix with eigenvalues {@code lambda} in a basis rotated by k seeded reflections. */
    public static KnownSpectrumHvp of(double[] lambda, int reflections, long seed) {
        int n = lambda.length;
        if (n < 1 || reflections < 0) {
            throw new IllegalArgumentException("need n >= 1 and reflections >= 0");
        }
        SplittableRandom random = new SplittableRandom(seed);
        double[][] u = new double[reflections][n];
        for (double[] r : u) {
            for (int i = 0; i < n; i++) {
                r[i] = random.nextGaussian();
            }
            Vectors.scale(r, 1.0 / Vectors.norm(r));
        }
        return new KnownSpectrumHvp(lambda.clone(), u);
    }

    public int dimension() {
        return lambda.length;
    }

    /** The exact eigenvalues, in the order given. */
    public double[] eigenvalues() {
        return lambda.clone();
    }

    /** Not thread-safe: one scratch vector is reused. */
    @Override
    public void apply(double[] v, double[] out) {
        double[] x = work;
        System.arraycopy(v, 0, x, 0, x.length);
        // Qᵀ v = P_k … P_1 v
        for (double[] u : reflectors) {
            reflect(u, x);
        }
        for (int i = 0; i < x.length; i++) {
            x[i] *= lambda[i];
        }
        // Q x = P_1 … P_k x
        for (int r = reflectors.length - 1; r >= 0; r--) {
            reflect(reflectors[r], x);
        }
        System.arraycopy(x, 0, out, 0, x.length);
    }

    private static void reflect(double[] u, double[] x) {
        Vectors.axpy(-2.0 * Vectors.dot(u, x), u, x);
    }
}
