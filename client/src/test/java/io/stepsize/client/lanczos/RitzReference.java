package io.stepsize.client.lanczos;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Test-side Ritz values of T_m by EJML's general dense eigensolver: a reference independent of
 * the estimator's tridiagonal QR route (which the client does not depend on).
 */
record RitzReference(double[] theta, double[] weight, double[] bound) {

    static RitzReference of(LanczosResult r) {
        int m = r.steps();
        double[] alpha = r.alpha();
        double[] beta = r.beta();
        DMatrixRMaj t = new DMatrixRMaj(m, m);
        for (int i = 0; i < m; i++) {
            t.set(i, i, alpha[i]);
            if (i + 1 < m) {
                t.set(i, i + 1, beta[i]);
                t.set(i + 1, i, beta[i]);
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m, true, true);
        if (!eig.decompose(t)) {
            throw new AssertionError("EJML failed on T_m");
        }
        Integer[] order = IntStream.range(0, m).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> eig.getEigenvalue(i).real));
        double[] theta = new double[m];
        double[] weight = new double[m];
        double[] bound = new double[m];
        double maxAbs = 0.0;
        for (int k = 0; k < m; k++) {
            int i = order[k];
            DMatrixRMaj v = eig.getEigenVector(i);
            double norm = Math.sqrt(org.ejml.dense.row.CommonOps_DDRM.elementSum(
                    org.ejml.dense.row.CommonOps_DDRM.elementMult(v, v, null)));
            theta[k] = eig.getEigenvalue(i).real;
            weight[k] = Math.pow(v.get(0) / norm, 2);
            bound[k] = beta[m - 1] * Math.abs(v.get(m - 1) / norm);
            maxAbs = Math.max(maxAbs, Math.abs(theta[k]));
        }
        for (int k = 0; k < m; k++) {
            bound[k] = Math.max(bound[k], 1e-12 * maxAbs);
        }
        return new RitzReference(theta, weight, bound);
    }

    double min() {
        return theta[0];
    }

    double max() {
        return theta[theta.length - 1];
    }

    /** Distance from x to the nearest of the (unsorted) true eigenvalues. */
    static double distanceToSpectrum(double x, double[] lambda) {
        double d = Double.POSITIVE_INFINITY;
        for (double l : lambda) {
            d = Math.min(d, Math.abs(l - x));
        }
        return d;
    }
}
