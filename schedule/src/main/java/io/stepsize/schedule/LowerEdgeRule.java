package io.stepsize.schedule;

/** How the estimator picks lambda_low from the Ritz values (DESIGN.md §1.4 step 2). */
public enum LowerEdgeRule {
  /** Smallest converged Ritz value above floor_ratio·lambda_max; falls back to {@link #FLOOR}. */
  SMALLEST_POSITIVE,
  /** The q-quantile of the SLQ density restricted to theta > floor_ratio·lambda_max. */
  QUANTILE,
  /** max(lambda_min, floor_ratio·lambda_max). */
  FLOOR,
  /** lambda_harmonic: the SLQ-weighted harmonic mean of the Ritz values above floor_ratio·lambda_max (§1.7). */
  GRADIENT_HARMONIC
}
