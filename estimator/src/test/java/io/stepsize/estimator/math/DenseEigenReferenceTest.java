package io.stepsize.estimator.math;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.client.lanczos.DenseHvp;
import io.stepsize.client.lanczos.LanczosDriver;
import io.stepsize.client.lanczos.LanczosResult;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole Lanczos chain against a dense eigensolver: explicit n = 2,000 symmetric matrices,
 * the trainer's {@link LanczosDriver} on their products, the estimator's {@link RitzSpectrum}
 * on the tridiagonal it reports, and EJML's dense symmetric QR of the same matrix as the truth.
 *
 * <p>Two matrices have a designed spectrum, H = Q·diag(λ)·Qᵀ with Q a product of random
 * Householder reflections (dense eigenvectors), so EJML is itself checked against λ; the third
 * is a random symmetric (GOE) matrix whose eigenvalues only EJML knows. Each dense
 * decomposition costs a few seconds, so the three are computed once for the class.
 */
class DenseEigenReferenceTest {

    private static final int N = 2000;

    /** Isolated top 100 and isolated negative bottom −5 around a bulk in [0.1, 10]. */
    private static Dense isolated;
    /** 2,000 eigenvalues in [0.01, 1] crowded at both ends (arcsine law): nothing isolated. */
    private static Dense clustered;
    /** GOE: entries N(0, 1/n), semicircle spectrum on about [−2, 2]. */
    private static Dense random;

    /** An explicit matrix and its eigenvalues by EJML, ascending. */
    record Dense(double[] a, double[] eigenvalues) {
        LanczosResult lanczos(int m, long seed) {
            return LanczosDriver.of(m).run(DenseHvp.ofRowMajor(a, N), N, seed);
        }

        RitzSpectrum ritz(int m, long seed) {
            LanczosResult r = lanczos(m, seed);
            return RitzSpectrum.of(r.alpha(), r.beta());
        }

        double min() {
            return eigenvalues[0];
        }

        double max() {
            return eigenvalues[N - 1];
        }

        double distance(double x) {
            int i = Arrays.binarySearch(eigenvalues, x);
            if (i >= 0) {
                return 0.0;
            }
            int at = -i - 1;
            double d = Double.POSITIVE_INFINITY;
            if (at < N) {
                d = eigenvalues[at] - x;
            }
            if (at > 0) {
                d = Math.min(d, x - eigenvalues[at - 1]);
            }
            return d;
        }
    }

    @BeforeAll
    static void decompose() {
        double[] l = new double[N];
        for (int i = 0; i < N - 2; i++) {
            l[i] = 0.1 + 9.9 * i / (N - 3);
        }
        l[N - 2] = -5.0;
        l[N - 1] = 100.0;
        isolated = designed(l, 6, 21);

        double[] c = new double[N];
        for (int i = 0; i < N; i++) {
            double s = (1 - Math.cos(Math.PI * i / (N - 1))) / 2;
            c[i] = 0.01 + 0.99 * (1 - Math.cos(Math.PI * s)) / 2;
        }
        clustered = designed(c, 6, 22);

        SplittableRandom g = new SplittableRandom(23);
        double[] a = new double[N * N];
        double scale = 1.0 / Math.sqrt(N);
        for (int i = 0; i < N; i++) {
            for (int j = 0; j <= i; j++) {
                double x = g.nextGaussian() * scale;
                a[i * N + j] = x;
                a[j * N + i] = x;
            }
        }
        random = new Dense(a, ejmlEigenvalues(a));
    }

    /** Q·diag(λ)·Qᵀ formed explicitly, and checked: EJML must give back λ. */
    private static Dense designed(double[] lambda, int reflections, long seed) {
        double[] a = new double[N * N];
        for (int i = 0; i < N; i++) {
            a[i * N + i] = lambda[i];
        }
        SplittableRandom g = new SplittableRandom(seed);
        double[] u = new double[N];
        double[] w = new double[N];
        for (int r = 0; r < reflections; r++) {
            double norm = 0.0;
            for (int i = 0; i < N; i++) {
                u[i] = g.nextGaussian();
                norm += u[i] * u[i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < N; i++) {
                u[i] /= norm;
            }
            // P·A·P with P = I − 2uuᵀ: A − 2u·wᵀ − 2w·uᵀ + 4c·u·uᵀ, w = A·u, c = uᵀ·w.
            // Each entry is computed by the same expression as its mirror, so A stays exactly symmetric.
            double c = 0.0;
            for (int i = 0; i < N; i++) {
                double s = 0.0;
                for (int j = 0; j < N; j++) {
                    s += a[i * N + j] * u[j];
                }
                w[i] = s;
                c += u[i] * s;
            }
            for (int i = 0; i < N; i++) {
                for (int j = 0; j < N; j++) {
                    a[i * N + j] += 4 * c * (u[i] * u[j]) - (2 * u[i] * w[j] + 2 * w[i] * u[j]);
                }
            }
        }
        double[] eig = ejmlEigenvalues(a);
        double[] sorted = lambda.clone();
        Arrays.sort(sorted);
        double scale = Math.max(Math.abs(sorted[0]), Math.abs(sorted[N - 1]));
        for (int i = 0; i < N; i++) {
            assertThat(Math.abs(eig[i] - sorted[i])).as("EJML eigenvalue %d of the designed matrix", i)
                    .isLessThan(1e-11 * scale);
        }
        return new Dense(a, eig);
    }

    private static double[] ejmlEigenvalues(double[] a) {
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(N, false, true);
        if (!eig.decompose(DMatrixRMaj.wrap(N, N, a.clone()))) {
            throw new AssertionError("EJML's dense symmetric eigensolver did not converge");
        }
        double[] values = new double[N];
        for (int i = 0; i < N; i++) {
            values[i] = eig.getEigenvalue(i).real;
        }
        Arrays.sort(values);
        return values;
    }

    @Test
    void isolatedTopEigenvalueWithin1e8RelativeAtM20() {
        double worst = 0.0;
        for (long seed = 1; seed <= 3; seed++) {
            RitzSpectrum r = isolated.ritz(20, seed);
            double rel = Math.abs(r.lambdaMax() - isolated.max()) / isolated.max();
            worst = Math.max(worst, rel);
            assertThat(rel).as("seed %d", seed).isLessThan(1e-8);
            // Rayleigh–Ritz: θ_max never exceeds the true λ_max (up to rounding), the bound reaches it
            assertThat(r.lambdaMax()).isLessThanOrEqualTo(isolated.max() * (1 + 1e-14));
            assertThat(r.lambdaMaxBound()).isGreaterThanOrEqualTo(isolated.max() * (1 - 1e-14));
        }
        System.out.printf("dense n=%d isolated top: worst relative error of lambda_max at m=20: %.2e%n", N, worst);
    }

    @Test
    void negativeLambdaMinOfAnIndefiniteSpectrumIsFoundWithItsSign() {
        assertThat(isolated.min()).isNegative();
        double worst = 0.0;
        for (long seed = 1; seed <= 3; seed++) {
            RitzSpectrum r = isolated.ritz(20, seed);
            assertThat(r.lambdaMin()).as("seed %d", seed).isNegative();
            double rel = Math.abs(r.lambdaMin() - isolated.min()) / Math.abs(isolated.min());
            worst = Math.max(worst, rel);
            assertThat(rel).isLessThan(1e-8);
            // θ_1 is an upper bound on λ_min, and its residual bound reaches down to it
            assertThat(r.lambdaMin()).isGreaterThanOrEqualTo(isolated.min() - 1e-12);
            assertThat(r.lambdaMin() - r.residualBounds()[0]).isLessThanOrEqualTo(isolated.min());
        }
        System.out.printf("dense n=%d indefinite: worst relative error of lambda_min = -5 at m=20: %.2e%n", N, worst);
    }

    @Test
    void everyResidualBoundContainsATrueEigenvalue() {
        int checked = 0;
        double tightest = Double.POSITIVE_INFINITY;
        for (Dense d : new Dense[] {isolated, clustered, random}) {
            for (int m : new int[] {5, 20, 60}) {
                for (long seed = 1; seed <= 2; seed++) {
                    RitzSpectrum r = d.ritz(m, seed);
                    double[] theta = r.theta();
                    double[] bound = r.residualBounds();
                    for (int i = 0; i < theta.length; i++) {
                        double dist = d.distance(theta[i]);
                        assertThat(dist).as("θ = %s, m = %d, seed %d", theta[i], m, seed).isLessThanOrEqualTo(bound[i]);
                        tightest = Math.min(tightest, bound[i] / Math.max(dist, Double.MIN_NORMAL));
                        checked++;
                    }
                }
            }
        }
        assertThat(checked).isEqualTo(3 * 2 * (5 + 20 + 60));
        // the bounds are not vacuous: somewhere a bound is within a small factor of the true distance
        assertThat(tightest).isLessThan(10.0);
        System.out.printf("dense n=%d bounds: %d Ritz values checked, tightest bound/distance %.2f%n", N, checked,
                tightest);
    }

    @Test
    void clusteredSpectrumConvergesSlowlyAndItsBoundSaysSo() {
        RitzSpectrum r = clustered.ritz(20, 5);
        double trueMin = clustered.min();
        double theta1 = r.lambdaMin();
        double r1 = r.residualBounds()[0];
        double error = theta1 - trueMin;
        // far from converged: θ_1 is more than 3 % above the true λ_min …
        assertThat(error).isGreaterThan(0.03 * trueMin);
        // … and its bound is honest: it covers that distance with room to spare, and is large
        assertThat(r1).isGreaterThanOrEqualTo(error);
        assertThat(r1).isGreaterThan(LowerEdgeSettings.defaults().tol() * theta1);
        // the smallest_positive rule therefore refuses θ_1 as the lower edge
        double low = LowerEdge.lambdaLow(r, LowerEdgeSettings.defaults());
        assertThat(low).isGreaterThan(theta1);
        // λ_max of the same run is a Rayleigh quotient of H: never above the true λ_max
        assertThat(r.lambdaMax()).isLessThanOrEqualTo(clustered.max() * (1 + 1e-14));
        System.out.printf("dense n=%d clustered: lambda_min %.6g, theta_1 %.6g (error %.2e, %.1f %%), bound r_1 %.2e "
                + "(%.1fx the error, %.1f %% of theta_1)%n", N, trueMin, theta1, error, 100 * error / trueMin, r1,
                r1 / error, 100 * r1 / theta1);
    }
}
