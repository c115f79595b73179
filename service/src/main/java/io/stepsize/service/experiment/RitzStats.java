package io.stepsize.service.experiment;

import io.stepsize.client.lanczos.LanczosResult;
import org.ejml.data.Complex_F64;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * What one probe saw before any smoothing, computed here from the same (alpha, beta) the service
 * gets, so the report can say how often the Hessian was indefinite and how often the
 * {@code smallest_positive} rule found a converged positive Ritz value (DESIGN.md §1.4 step 2) or
 * fell to the {@code floor} rule.
 *
 * @param lambdaMin smallest Ritz value (signed)
 * @param lambdaMax largest Ritz value
 * @param smallestConvergedPositive the smallest θ_i > 1e-6·λ_max with r_i ≤ 1e-2·|θ_i|, NaN if none
 */
public record RitzStats(double lambdaMin, double lambdaMax, double smallestConvergedPositive) {
  static final double FLOOR_RATIO = 1e-6;
  static final double TOL = 1e-2;

  public boolean indefinite() {
    return lambdaMin < 0;
  }

  public boolean converged() {
    return !Double.isNaN(smallestConvergedPositive);
  }

  public static RitzStats of(LanczosResult r) {
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
      throw new IllegalStateException("eigen-decomposition of T_m failed");
    }
    double[] theta = new double[m];
    double[] last = new double[m];
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double maxAbs = 0;
    for (int i = 0; i < m; i++) {
      Complex_F64 ev = eig.getEigenvalue(i);
      theta[i] = ev.real;
      DMatrixRMaj vec = eig.getEigenVector(i);
      double norm = 0;
      for (int j = 0; j < m; j++) {
        norm += vec.get(j) * vec.get(j);
      }
      last[i] = Math.abs(vec.get(m - 1)) / Math.sqrt(norm);
      min = Math.min(min, theta[i]);
      max = Math.max(max, theta[i]);
      maxAbs = Math.max(maxAbs, Math.abs(theta[i]));
    }
    double residualNorm = beta[m - 1];
    double floor = FLOOR_RATIO * max;
    double best = Double.NaN;
    for (int i = 0; i < m; i++) {
      double bound = Math.max(residualNorm * last[i], 1e-12 * maxAbs);
      if (theta[i] > floor && bound <= TOL * Math.abs(theta[i]) && (Double.isNaN(best) || theta[i] < best)) {
        best = theta[i];
      }
    }
    return new RitzStats(min, max, best);
  }
}
