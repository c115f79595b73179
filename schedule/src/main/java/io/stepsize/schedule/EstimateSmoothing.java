package io.stepsize.schedule;

/**
 * How the estimator smooths a job's estimates across probe steps (DESIGN.md §1.4 step 3: an EWMA in
 * log space). The schedule does not read it; its rule lives here with the other rules of a job.
 *
 * @param halfLifeProbes the EWMA half-life in probes (proto {@code phi_policy.half_life_probes}), finite and >= 0;
 *     0 takes each step's estimate as it is (no smoothing), which a job that watches its edge ratio may want
 */
public record EstimateSmoothing(double halfLifeProbes) {
  /** DESIGN.md §1.4 default half-life: 3 probes. */
  public static final double DEFAULT_HALF_LIFE_PROBES = 3;

  public EstimateSmoothing {
    Checks.finiteNonNegative("half_life_probes", halfLifeProbes);
  }

  public static EstimateSmoothing defaults() {
    return new EstimateSmoothing(DEFAULT_HALF_LIFE_PROBES);
  }
}
