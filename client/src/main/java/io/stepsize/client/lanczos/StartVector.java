package io.stepsize.client.lanczos;

import java.util.SplittableRandom;

/**
 * The seeded random start vector q_1 of a probe, normalized to unit length. The SLQ weights
 * s_{1,i}^2 estimate the spectral density only because E[q q^T] = I/n for both choices.
 */
public enum StartVector {
    /** Entries ±1/√n: exactly unit norm, the lowest-variance Hutchinson-type probe. */
    RADEMACHER,
    /** Entries N(0,1), then normalized: rotation invariant. */
    GAUSSIAN;

    /** Fills {@code q} with this start vector for {@code seed}; the same seed gives the same vector. */
    public void fill(double[] q, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int n = q.length;
        if (this == RADEMACHER) {
            double s = 1.0 / Math.sqrt(n);
            for (int i = 0; i < n; i++) {
                q[i] = random.nextBoolean() ? s : -s;
            }
            return;
        }
        double norm;
        do {
            for (int i = 0; i < n; i++) {
                q[i] = random.nextGaussian();
            }
            norm = Vectors.norm(q);
        } while (norm == 0.0); // probability zero, but a zero start vector would be fatal
        Vectors.scale(q, 1.0 / norm);
    }
}
