package io.stepsize.estimator.math;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.api.Test;

class TridiagonalEigenTest {

    @Test
    void rowIOfQIsTheEigenvectorOfEigenvalueI() {
        double[][] t = randomTridiagonal(30, 1);
        TridiagonalEigen.Raw raw = TridiagonalEigen.raw(t[0], t[1]);
        int m = 30;
        double worstRow = 0.0;
        double worstColumn = 0.0;
        for (int i = 0; i < m; i++) {
            double[] row = new double[m];
            double[] column = new double[m];
            for (int k = 0; k < m; k++) {
                row[k] = raw.q().get(i, k);
                column[k] = raw.q().get(k, i);
            }
            worstRow = Math.max(worstRow, residual(t, row, raw.values()[i]));
            worstColumn = Math.max(worstColumn, residual(t, column, raw.values()[i]));
            assertThat(DiagonalLanczos.dot(row, row)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-13));
        }
        assertThat(worstRow).isLessThan(1e-12);
        assertThat(worstColumn).isGreaterThan(1e-3); // the column reading is wrong: the claim has content
    }

    /** decompose rotates only Q's edge columns: they must be bit for bit those of EJML's full update. */
    @Test
    void edgeColumnsEqualTheFullUpdatesExactly() {
        for (int m : new int[] {1, 2, 7, 20, 100}) {
            for (long seed = 1; seed <= 3; seed++) {
                double[][] t = randomTridiagonal(m, seed);
                TridiagonalEigen.Raw raw = TridiagonalEigen.raw(t[0], t[1]);
                TridiagonalEigen.Decomposition d = TridiagonalEigen.decompose(t[0], t[1]);
                for (int k = 0; k < m; k++) {
                    // the row of raw's Q that belongs to the k-th smallest eigenvalue
                    int row = -1;
                    for (int i = 0; i < m; i++) {
                        if (raw.values()[i] == d.values()[k] && (row < 0 || raw.q().get(i, 0) == d.first()[k])) {
                            row = i;
                        }
                    }
                    assertThat(row).as("m=%d seed=%d k=%d", m, seed, k).isNotNegative();
                    assertThat(d.first()[k]).isEqualTo(raw.q().get(row, 0));
                    assertThat(d.last()[k]).isEqualTo(raw.q().get(row, m - 1));
                }
            }
        }
    }

    @Test
    void eigenvaluesComeBackUnsortedFromEjmlAndSortedFromUs() {
        double[][] t = randomTridiagonal(30, 2);
        double[] raw = TridiagonalEigen.raw(t[0], t[1]).values();
        double[] sorted = raw.clone();
        Arrays.sort(sorted);
        assertThat(raw).isNotEqualTo(sorted);
        assertThat(TridiagonalEigen.decompose(t[0], t[1]).values()).containsExactly(sorted);
    }

    @Test
    void ritzValuesEqualEjmlsDenseEigenvaluesTo1e12() {
        double worst = 0.0;
        for (int m : new int[] {1, 2, 5, 20, 100}) {
            for (long seed = 1; seed <= 3; seed++) {
                double[][] t = randomTridiagonal(m, seed);
                worst = Math.max(worst, compareWithDense(t[0], t[1]));
            }
        }
        // and a real Lanczos tridiagonal, with converged (nearly equal-looking) Ritz values
        double[] lambda = new double[2000];
        for (int i = 0; i < lambda.length; i++) {
            lambda[i] = i < 1999 ? 10.0 * i / 1998 : 100.0;
        }
        DiagonalLanczos d = DiagonalLanczos.run(lambda, 40, 3);
        worst = Math.max(worst, compareWithDense(d.alpha, d.beta));
        assertThat(worst).isLessThan(1e-12);
    }

    @Test
    void inputArraysAreNotModified() {
        double[][] t = randomTridiagonal(10, 4);
        double[] a = t[0].clone();
        double[] b = t[1].clone();
        TridiagonalEigen.decompose(t[0], t[1]);
        assertThat(t[0]).containsExactly(a);
        assertThat(t[1]).containsExactly(b);
    }

    /** max |θ_i − dense_i| / max|θ| against EJML's dense symmetric eigensolver. */
    static double compareWithDense(double[] alpha, double[] beta) {
        int m = alpha.length;
        DMatrixRMaj dense = new DMatrixRMaj(m, m);
        for (int i = 0; i < m; i++) {
            dense.set(i, i, alpha[i]);
            if (i + 1 < m) {
                dense.set(i, i + 1, beta[i]);
                dense.set(i + 1, i, beta[i]);
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m, false, true);
        assertThat(eig.decompose(dense)).isTrue();
        double[] reference = new double[m];
        for (int i = 0; i < m; i++) {
            reference[i] = eig.getEigenvalue(i).real;
        }
        Arrays.sort(reference);
        double[] theta = TridiagonalEigen.decompose(alpha, beta).values();
        double scale = Math.max(Math.abs(reference[0]), Math.abs(reference[m - 1]));
        double worst = 0.0;
        for (int i = 0; i < m; i++) {
            worst = Math.max(worst, Math.abs(theta[i] - reference[i]) / scale);
        }
        return worst;
    }

    static double[][] randomTridiagonal(int m, long seed) {
        SplittableRandom g = new SplittableRandom(seed);
        double[] alpha = new double[m];
        double[] beta = new double[m];
        for (int i = 0; i < m; i++) {
            alpha[i] = g.nextGaussian();
            beta[i] = Math.abs(g.nextGaussian());
        }
        return new double[][] {alpha, beta};
    }

    private static double residual(double[][] t, double[] v, double theta) {
        int m = v.length;
        double worst = 0.0;
        for (int i = 0; i < m; i++) {
            double tv = t[0][i] * v[i];
            if (i > 0) {
                tv += t[1][i - 1] * v[i - 1];
            }
            if (i + 1 < m) {
                tv += t[1][i] * v[i + 1];
            }
            worst = Math.max(worst, Math.abs(tv - theta * v[i]));
        }
        return worst;
    }
}
