package io.stepsize.estimator.math;

import java.util.SplittableRandom;

/**
 * Test fixture: the Lanczos tridiagonal of diag(λ) from a seeded Rademacher start vector, with
 * full reorthogonalization. T_m depends only on the eigenvalues and on the start vector's
 * weights in the eigenbasis, so this is the T_m of ANY matrix with spectrum λ (the client's
 * driver on a rotated matrix gives the same up to rounding). It also gives the exact spectral
 * measure Σ u_k² δ(λ_k) that the SLQ weights are a quadrature of.
 */
final class DiagonalLanczos {

    final double[] lambda;
    final double[] u; // unit start vector
    double[] alpha;
    double[] beta;

    private DiagonalLanczos(double[] lambda, long seed) {
        this.lambda = lambda;
        int n = lambda.length;
        SplittableRandom g = new SplittableRandom(seed);
        u = new double[n];
        for (int i = 0; i < n; i++) {
            u[i] = (g.nextBoolean() ? 1.0 : -1.0) / Math.sqrt(n);
        }
    }

    static DiagonalLanczos run(double[] lambda, int m, long seed) {
        DiagonalLanczos d = new DiagonalLanczos(lambda, seed);
        d.lanczos(m);
        return d;
    }

    private void lanczos(int m) {
        int n = lambda.length;
        double[][] q = new double[m + 1][];
        q[0] = u.clone();
        alpha = new double[m];
        beta = new double[m];
        for (int j = 0; j < m; j++) {
            double[] w = new double[n];
            for (int i = 0; i < n; i++) {
                w[i] = lambda[i] * q[j][i];
            }
            alpha[j] = dot(q[j], w);
            for (int pass = 0; pass < 2; pass++) {
                for (int k = 0; k <= j; k++) {
                    double c = dot(q[k], w);
                    for (int i = 0; i < n; i++) {
                        w[i] -= c * q[k][i];
                    }
                }
            }
            beta[j] = Math.sqrt(dot(w, w));
            q[j + 1] = w;
            for (int i = 0; i < n; i++) {
                w[i] /= beta[j];
            }
        }
    }

    /** Σ u_k² λ_k^p, the p-th moment of the spectral measure seen from the start vector. */
    double moment(int p) {
        double s = 0.0;
        for (int i = 0; i < lambda.length; i++) {
            s += u[i] * u[i] * Math.pow(lambda[i], p);
        }
        return s;
    }

    static double dot(double[] x, double[] y) {
        double s = 0.0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    static double distanceToSpectrum(double x, double[] lambda) {
        double d = Double.POSITIVE_INFINITY;
        for (double l : lambda) {
            d = Math.min(d, Math.abs(l - x));
        }
        return d;
    }
}
