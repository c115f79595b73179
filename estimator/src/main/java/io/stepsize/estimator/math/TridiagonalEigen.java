package io.stepsize.estimator.math;

import java.util.Arrays;
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
        int m = alpha.length;
        EdgeColumnsHelper helper = new EdgeColumnsHelper(m);
        double[] values = solve(alpha, beta, helper, EdgeColumnsHelper.NO_MATRIX);
        // EJML returns the eigenvalues unsorted; m is small, and an insertion sort of indices allocates nothing
        int[] order = new int[m];
        for (int k = 0; k < m; k++) {
            int i = k;
            while (i > 0 && values[order[i - 1]] > values[k]) {
                order[i] = order[i - 1];
                i--;
            }
            order[i] = k;
        }
        double[] sorted = new double[m];
        double[] first = new double[m];
        double[] last = new double[m];
        for (int k = 0; k < m; k++) {
            int i = order[k];
            sorted[k] = values[i];
            first[k] = helper.first[i];
            last[k] = helper.last[i];
        }
        return new Decomposition(sorted, first, last);
    }

    /**
     * Runs EJML. Row i of the returned Q is the unit eigenvector of values[i]: EJML applies each
     * Givens rotation to rows of Q, so Q ends up as the transpose of the usual column
     * convention (a unit test checks T·qᵢ = θᵢ·qᵢ on rows).
     */
    static Raw raw(double[] alpha, double[] beta) {
        DMatrixRMaj q = CommonOps_DDRM.identity(alpha.length);
        return new Raw(solve(alpha, beta, new SymmetricQREigenHelper_DDRM(), q), q);
    }

    /** EJML's implicit QR with {@code helper}, rotating {@code q}; the eigenvalues in EJML's order. */
    private static double[] solve(double[] alpha, double[] beta, SymmetricQREigenHelper_DDRM helper, DMatrixRMaj q) {
        int m = alpha.length;
        SymmetricQrAlgorithm_DDRM algorithm = new SymmetricQrAlgorithm_DDRM(helper);
        // EJML works in place on both arrays: pass copies
        helper.init(alpha.clone(), Arrays.copyOf(beta, Math.max(m - 1, 0)), m);
        helper.setQ(q);
        algorithm.setQ(q);
        if (!algorithm.process(-1, null, null)) {
            throw new ArithmeticException("EJML's tridiagonal QR did not converge for m = " + m);
        }
        double[] values = new double[m];
        for (int i = 0; i < m; i++) {
            values[i] = algorithm.getEigenvalue(i);
        }
        return values;
    }

    /**
     * EJML's helper, rotating only columns 0 and m-1 of Q, kept in two arrays of their own. Every
     * change to Q goes through {@code updateQ}, a Givens rotation of two rows, and each column is
     * rotated on its own, so the two columns come out bit for bit as with the full update while the
     * other m-2 columns, which {@link #decompose} never reads, are neither rotated nor allocated: O(1)
     * instead of O(m) per rotation and O(m) memory instead of m², the solve O(m²) instead of O(m³).
     */
    private static final class EdgeColumnsHelper extends SymmetricQREigenHelper_DDRM {
        /** EJML rotates Q only when it has one; the rotations land in {@link #first} and {@link #last}. */
        static final DMatrixRMaj NO_MATRIX = new DMatrixRMaj(1, 1);
        /** Column 0 of Q: first[i] is the first component of the eigenvector of eigenvalue i. */
        final double[] first;
        /** Column m-1 of Q. */
        final double[] last;

        EdgeColumnsHelper(int m) {
            first = new double[m];
            last = new double[m];
            if (m > 0) {
                first[0] = 1.0; // Q starts as the identity
                last[m - 1] = 1.0;
            }
        }

        @Override
        protected void updateQ(int m, int n, double c, double s) {
            rotate(first, m, n, c, s);
            rotate(last, m, n, c, s);
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
