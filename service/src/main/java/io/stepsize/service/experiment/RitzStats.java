package io.stepsize.service.experiment;

import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.estimator.math.RitzSpectrum;
import java.util.Arrays;

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
    // the estimator's own Ritz values and residual bounds (EJML), so the report and the service agree
    RitzSpectrum spectrum = RitzSpectrum.of(Arrays.copyOf(r.alpha(), r.steps()), Arrays.copyOf(r.beta(), r.steps()));
    double[] theta = spectrum.theta();
    double[] bound = spectrum.residualBounds();
    double floor = FLOOR_RATIO * spectrum.lambdaMax();
    double best = Double.NaN;
    for (int i = 0; i < theta.length; i++) {
      if (theta[i] > floor && bound[i] <= TOL * Math.abs(theta[i]) && (Double.isNaN(best) || theta[i] < best)) {
        best = theta[i];
      }
    }
    return new RitzStats(spectrum.lambdaMin(), spectrum.lambdaMax(), best);
  }
}
