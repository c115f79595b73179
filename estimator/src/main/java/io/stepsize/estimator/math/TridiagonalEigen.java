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
        Raw raw = raw(alpha, beta);
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
        int m = alpha.length;
        SymmetricQREigenHelper_DDRM helper = new SymmetricQREigenHelper_DDRM();
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
}
