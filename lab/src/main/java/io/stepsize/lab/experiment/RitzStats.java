package io.stepsize.lab.experiment;

import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.estimator.math.RitzSpectrum;
import io.stepsize.estimator.math.LowerEdge;
import io.stepsize.estimator.math.LowerEdgeSettings;

/**
 * What one probe saw before any smoothing, computed here from the same (alpha, beta) the service
 * gets, so the report can say how often the Hessian was indefinite and how often the
 * {@code smallest_positive} rule found a converged positive Ritz value (DESIGN.md §1.4 step 2) or
 * fell to the {@code floor} rule.
 *
 * @param lambdaMin smallest Ritz value (signed)
 * @param lambdaMax largest Ritz value
 * @param smallestConvergedPositive the smallest θ_i > 1e-6·λ_max with r_i ≤ 1e-2·|θ_i| (the default
 *     lower-edge settings), NaN if none
 */
public record RitzStats(double lambdaMin, double lambdaMax, double smallestConvergedPositive) {

  public boolean indefinite() {
    return lambdaMin < 0;
  }

  public boolean converged() {
    return !Double.isNaN(smallestConvergedPositive);
  }

  public static RitzStats of(LanczosResult r) {
    // the estimator's own Ritz values and residual bounds (EJML), so the report and the service agree
    RitzSpectrum spectrum = RitzSpectrum.of(r.alpha(), r.beta());
    return new RitzStats(spectrum.lambdaMin(), spectrum.lambdaMax(),
        LowerEdge.smallestConverged(spectrum.density(), LowerEdgeSettings.defaults()));
  }
}
