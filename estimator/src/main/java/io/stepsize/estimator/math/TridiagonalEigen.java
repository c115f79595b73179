package io.stepsize.estimator.math;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.decomposition.eig.symm.SymmetricQREigenHelper_DDRM;
import org.ejml.dense.row.decomposition.eig.symm.SymmetricQrAlgorithm_DDRM;

/**
 * Eigen-decomposition of the symmetric tridiagonal T_m by EJML's implicit QR working directly
 * on its (diagonal, off-diagonal) arrays: no dense m×m matrix to reduce first. Only the first
 * and last components of each eigenvector are kept: they are all that the SLQ weights and the
 * residual bounds need.
 */
final class TridiagonalEigen {

    /**
     * @param values eigenvalues θ_i, ascending
     * @param first  s_{1,i}, the first component of the unit eigenvector of θ_i
     * @param last   s_{m,i}, its last component
     */
    record Decomposition(double[] values, double[] first, double[] last) {
    }

    /** EJML's raw output: eigenvalues in EJML's order and Q whose row i belongs to values[i]. */
    record Raw(double[] values, DMatrixRMaj q) {
    }

    private TridiagonalEigen() {
    }

    /**
     * Decomposes T with diagonal {@code alpha} and off-diagonal {@code beta[0..m-2]}
     * ({@code beta[m-1]}, the residual norm, is not part of T and is ignored here).
     */
    static Decomposition decompose(double[] alpha, double[] beta) {
        Raw raw = run(alpha, beta, new EdgeColumnsHelper());
        int m = alpha.length;
        double[] values = raw.values();
        // EJML returns the eigenvalues unsorted
        Integer[] order = IntStream.range(0, m).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> values[i]));
        double[] sorted = new double[m];
        double[] first = new double[m];
        double[] last = new double[m];
        for (int k = 0; k < m; k++) {
            int i = order[k];
            sorted[k] = values[i];
            first[k] = raw.q().get(i, 0);
            last[k] = raw.q().get(i, m - 1);
        }
        return new Decomposition(sorted, first, last);
    }

    /**
     * Runs EJML. Row i of the returned Q is the unit eigenvector of values[i]: EJML applies each
     * Givens rotation to rows of Q, so Q ends up as the transpose of the usual column
     * convention (a unit test checks T·qᵢ = θᵢ·qᵢ on rows).
     */
    static Raw raw(double[] alpha, double[] beta) {
        return run(alpha, beta, new SymmetricQREigenHelper_DDRM());
    }

    private static Raw run(double[] alpha, double[] beta, SymmetricQREigenHelper_DDRM helper) {
        int m = alpha.length;
        SymmetricQrAlgorithm_DDRM algorithm = new SymmetricQrAlgorithm_DDRM(helper);
        // EJML works in place on both arrays: pass copies
        helper.init(alpha.clone(), Arrays.copyOf(beta, Math.max(m - 1, 0)), m);
        DMatrixRMaj q = CommonOps_DDRM.identity(m);
        helper.setQ(q);
        algorithm.setQ(q);
        if (!algorithm.process(-1, null, null)) {
            throw new ArithmeticException("EJML's tridiagonal QR did not converge for m = " + m);
        }
        double[] values = new double[m];
        for (int i = 0; i < m; i++) {
            values[i] = algorithm.getEigenvalue(i);
        }
        return new Raw(values, algorithm.getQ());
    }

    /**
     * EJML's helper, rotating only columns 0 and m-1 of Q. Every change to Q goes through
     * {@code updateQ}, a Givens rotation of two rows, and each column is rotated on its own, so
     * the two columns come out bit for bit as with the full update while the other m-2 columns,
     * which {@link #decompose} never reads, are skipped: O(1) instead of O(m) per rotation, and the
     * solve drops from O(m³) to O(m²). (The other columns of the returned Q are left stale.)
     */
    private static final class EdgeColumnsHelper extends SymmetricQREigenHelper_DDRM {
        @Override
        protected void updateQ(int m, int n, double c, double s) {
            double[] q = Q.data;
            int rowA = m * N;
            int rowB = n * N;
            rotate(q, rowA, rowB, c, s);
            if (N > 1) {
                rotate(q, rowA + N - 1, rowB + N - 1, c, s);
            }
        }

        /** The same arithmetic as EJML's updateQ for one column. */
        private static void rotate(double[] q, int a, int b, double c, double s) {
            double qa = q[a];
            double qb = q[b];
            q[a] = c * qa + s * qb;
            q[b] = -s * qa + c * qb;
        }
    }
}
