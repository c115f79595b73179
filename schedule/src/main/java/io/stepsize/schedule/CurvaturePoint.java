package io.stepsize.schedule;

/**
 * One curvature estimate of a job (DESIGN.md §1.4; proto {@code CurvaturePoint}).
 *
 * @param step the probe step the estimate was made at
 * @param appliesFromStep the first step whose learning rate may use it: step + apply_delay_steps
 * @param phase the phase of {@code step}
 * @param lambdaMin the smallest Ritz value (signed)
 * @param lambdaLow the lower spectrum edge by the job's lower_edge rule
 * @param lambdaMax the largest Ritz value
 * @param kappa kappa_eff = lambdaMax / lambdaLow as the estimator reported it
 * @param lambdaMaxBound an upper bound on lambda_max (Ritz value plus residual)
 * @param probes how many probes the estimate combines
 * @param preconditioned whether the probes ran on Adam's preconditioned operator (DESIGN.md §1.7),
 *     not on the Hessian
 */
public record CurvaturePoint(long step, long appliesFromStep, int phase, double lambdaMin,
    double lambdaLow, double lambdaMax, double kappa, double lambdaMaxBound, long probes,
    boolean preconditioned) {

  /** A Hessian estimate. */
  public CurvaturePoint(long step, long appliesFromStep, int phase, double lambdaMin, double lambdaLow,
      double lambdaMax, double kappa, double lambdaMaxBound, long probes) {
    this(step, appliesFromStep, phase, lambdaMin, lambdaLow, lambdaMax, kappa, lambdaMaxBound, probes, false);
  }

  public CurvaturePoint {
    Checks.atLeast("step", step, 0);
    if (appliesFromStep < step) {
      throw Checks.invalid("applies_from_step", "must be >= step",
          appliesFromStep + " < " + step);
    }
    Checks.atLeast("phase", phase, 0);
    Checks.atLeast("probes", probes, 0);
  }

  /**
   * Whether the lower edge makes a condition number: 0 < lambdaLow <= lambdaMax, both finite.
   * Indefinite estimates (lambda_low <= 0), NaN and overflowing ratios fail this and the policies fall back.
   */
  public boolean hasConditionNumber() {
    return lambdaLow > 0 && lambdaMax >= lambdaLow && Double.isFinite(lambdaMax / lambdaLow);
  }

  /** kappa_eff = lambda_max / lambda_low, recomputed from the bounds the schedule uses. */
  public double kappaEff() {
    return lambdaMax / lambdaLow;
  }
}
