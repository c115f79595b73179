package io.stepsize.client.lanczos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Start;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.api.Test;

/**
 * Gradient starts and the preconditioned operator (DESIGN §1.7) against EJML's dense
 * eigendecomposition of the operator itself. With m = n the Krylov space is the whole space, so
 * T_n has the operator's eigenvalues and s_{1,i}² = (v_iᵀq)² for the start vector q: exact
 * references for every number of the probe.
 */
class LanczosGradientStartTest {
    private static final int N = 12;

    /** A dense symmetric indefinite matrix, a point z and b: the gradient of ½zᵀAz + bᵀz is Az + b. */
    private static final double[] A = symmetric(N, 31);
    private static final double[] Z = gaussian(N, 32);
    private static final double[] B = gaussian(N, 33);

    static double[] symmetric(int n, long seed) {
        SplittableRandom g = new SplittableRandom(seed);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double x = g.nextGaussian();
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        return a;
    }

    static double[] gaussian(int n, long seed) {
        SplittableRandom g = new SplittableRandom(seed);
        return IntStream.range(0, n).mapToDouble(i -> g.nextGaussian()).toArray();
    }

    static double[] times(double[] a, double[] v) {
        int n = v.length;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                out[i] += a[i * n + j] * v[j];
            }
        }
        return out;
    }

    static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    static double[] unit(double[] v) {
        double norm = Math.sqrt(dot(v, v));
        return Arrays.stream(v).map(x -> x / norm).toArray();
    }

    /** Eigenvalues (ascending) of a dense symmetric matrix by EJML, and (v_iᵀq)² for a unit q. */
    record Eigen(double[] values, double[] energy) {
        static Eigen of(double[] a, double[] q) {
            int n = q.length;
            EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
            if (!eig.decompose(new DMatrixRMaj(n, n, true, a.clone()))) {
                throw new AssertionError("EJML failed");
            }
            Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(i -> eig.getEigenvalue(i).real));
            double[] values = new double[n];
            double[] energy = new double[n];
            for (int k = 0; k < n; k++) {
                DMatrixRMaj v = eig.getEigenVector(order[k]);
                values[k] = eig.getEigenvalue(order[k]).real;
                double[] u = unit(v.getData());
                energy[k] = Math.pow(dot(u, q), 2);
            }
            return new Eigen(values, energy);
        }

        double scale() {
            return Math.max(Math.abs(values[0]), Math.abs(values[values.length - 1]));
        }
    }

    static double[] gradient() {
        double[] g = times(A, Z);
        for (int i = 0; i < N; i++) {
            g[i] += B[i];
        }
        return g;
    }

    static void assertWithin(double[] got, double[] want, double tolerance) {
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < want.length; i++) {
            assertThat(Math.abs(got[i] - want[i])).as("entry %d: %s vs %s", i, got[i], want[i])
                    .isLessThanOrEqualTo(tolerance);
        }
    }

    @Test
    void gradientStartGivesAlpha0TheEigenvaluesAndTheGradientsEnergyPerEigenvector() {
        double[] gHat = unit(gradient());
        Eigen eigen = Eigen.of(A, gHat);
        DenseHvp h = DenseHvp.ofRowMajor(A, N);

        LanczosResult one = LanczosDriver.of(1).runFromGradient(h, gradient(), 5);
        assertThat(one.start()).isEqualTo(Start.START_GRADIENT);
        assertThat(one.operator()).isEqualTo(Operator.OPERATOR_HESSIAN);
        assertThat(Math.abs(one.alpha()[0] - dot(gHat, times(A, gHat)))).isLessThanOrEqualTo(1e-12 * eigen.scale());

        LanczosResult full = LanczosDriver.of(N).runFromGradient(h, gradient(), 5);
        assertThat(full.steps()).isEqualTo(N);
        assertThat(full.alpha()[0]).isEqualTo(one.alpha()[0]);
        RitzReference ritz = RitzReference.of(full);
        assertWithin(ritz.theta(), eigen.values(), 1e-10 * eigen.scale());
        assertWithin(ritz.weight(), eigen.energy(), 1e-10);
        assertThat(eigen.values()[0]).isNegative(); // indefinite, as network Hessians are
        // the seed plays no part in a gradient start
        assertThat(LanczosDriver.of(4).runFromGradient(h, gradient(), 6))
                .isEqualTo(LanczosDriver.of(4).runFromGradient(h, gradient(), 7));
        ProbeReport p = full.toProbe("job", 3, "w");
        assertThat(p.getLanczos().getStart()).isEqualTo(Start.START_GRADIENT);
        assertThat(p.getLanczos().getOperator()).isEqualTo(Operator.OPERATOR_HESSIAN);
    }

    /** Adam's second moments after a few full-batch steps on the quadratic, accumulated here. */
    @Test
    void preconditionedOperatorHasTheEigenvaluesOfTheDenseScaledMatrix() {
        double beta1 = 0.9;
        double beta2 = 0.99;
        double eps = 1e-3;
        double lr = 0.05;
        int steps = 5;
        double[] z = Z.clone();
        double[] m = new double[N];
        double[] v = new double[N];
        for (int t = 1; t <= steps; t++) {
            double[] g = times(A, z);
            for (int i = 0; i < N; i++) {
                g[i] += B[i];
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(beta1, t));
                double vHat = v[i] / (1 - Math.pow(beta2, t));
                z[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
        double[] d = new double[N];
        for (int i = 0; i < N; i++) {
            d[i] = 1 / Math.sqrt(Math.sqrt(v[i] / (1 - Math.pow(beta2, steps))) + eps);
        }
        double[] scaled = new double[N * N];
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                scaled[i * N + j] = d[i] * A[i * N + j] * d[j];
            }
        }
        double[] g = times(A, z);
        double[] pg = new double[N];
        for (int i = 0; i < N; i++) {
            g[i] += B[i];
            pg[i] = d[i] * g[i];
        }
        double[] pgHat = unit(pg);
        Eigen eigen = Eigen.of(scaled, pgHat);
        // P is far from a multiple of I, so a probe that ignored it would fail below
        assertThat(Arrays.stream(d).max().getAsDouble() / Arrays.stream(d).min().getAsDouble()).isGreaterThan(1.5);

        PreconditionedHvp op = PreconditionedHvp.adam(DenseHvp.ofRowMajor(A, N), v, steps, beta2, eps);
        LanczosResult random = LanczosDriver.of(N).run(op, N, 4);
        assertThat(random.start()).isEqualTo(Start.START_RANDOM);
        assertThat(random.operator()).isEqualTo(Operator.OPERATOR_PRECONDITIONED);
        assertWithin(RitzReference.of(random).theta(), eigen.values(), 1e-10 * eigen.scale());

        LanczosResult fromGradient = LanczosDriver.of(N).runFromGradient(op, g, 4);
        assertThat(fromGradient.start()).isEqualTo(Start.START_GRADIENT);
        assertThat(fromGradient.operator()).isEqualTo(Operator.OPERATOR_PRECONDITIONED);
        // the start is the normalized P^{-1/2} g
        assertThat(Math.abs(fromGradient.alpha()[0] - dot(pgHat, times(scaled, pgHat))))
                .isLessThanOrEqualTo(1e-12 * eigen.scale());
        RitzReference ritz = RitzReference.of(fromGradient);
        assertWithin(ritz.theta(), eigen.values(), 1e-10 * eigen.scale());
        assertWithin(ritz.weight(), eigen.energy(), 1e-10);
        assertThat(fromGradient.toLanczosProbe().getOperator()).isEqualTo(Operator.OPERATOR_PRECONDITIONED);
    }

    @Test
    void zeroGradientFallsBackToTheRandomStartAndNonFiniteIsAnError() {
        DenseHvp h = DenseHvp.ofRowMajor(A, N);
        LanczosResult zero = LanczosDriver.of(5).runFromGradient(h, new double[N], 11);
        assertThat(zero).isEqualTo(LanczosDriver.of(5).run(h, N, 11));
        assertThat(zero.start()).isEqualTo(Start.START_RANDOM);
        double[] bad = gradient();
        bad[3] = Double.NaN;
        assertThatThrownBy(() -> LanczosDriver.of(5).runFromGradient(h, bad, 11))
                .isInstanceOf(ArithmeticException.class)
                .hasMessage("gradient start: the gradient is not finite (norm = NaN): the weights or the loss have "
                        + "diverged");
        bad[3] = Double.POSITIVE_INFINITY;
        assertThatThrownBy(() -> LanczosDriver.of(5).runFromGradient(h, bad, 11))
                .hasMessage("gradient start: the gradient is not finite (norm = Infinity): the weights or the loss "
                        + "have diverged");
    }

    @Test
    void preconditionerArgumentsAreCheckedWithTheRule() {
        DenseHvp h = DenseHvp.ofRowMajor(A, N);
        assertThatThrownBy(() -> PreconditionedHvp.adam(h, new double[N], 0, 0.99, 1e-8))
                .hasMessage("step must be >= 1 (Adam has no second moments before its first update), got 0");
        assertThatThrownBy(() -> PreconditionedHvp.adam(h, new double[N], 1, 1.0, 1e-8))
                .hasMessage("beta2 must be in [0, 1), got 1.0");
        assertThatThrownBy(() -> PreconditionedHvp.adam(h, new double[N], 1, 0.99, 0))
                .hasMessage("eps must be finite and > 0, got 0.0");
        double[] v = new double[N];
        v[2] = -1;
        assertThatThrownBy(() -> PreconditionedHvp.adam(h, v, 1, 0.99, 1e-8))
                .hasMessage("secondMoment[2] must be finite and >= 0, got -1.0");
        assertThatThrownBy(() -> PreconditionedHvp.of(h, new double[] {1, 0}))
                .hasMessage("P[1] must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> PreconditionedHvp.of(h, new double[N]).toOperatorCoordinates(new double[3]))
                .hasMessage("P[0] must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> PreconditionedHvp.of(h, new double[] {1, 1}).toOperatorCoordinates(new double[3]))
                .hasMessage("gradient has 3 entries, P has 2");
    }
}
