package io.stepsize.schedule;

/**
 * What a job's edge ratio and guard need (DESIGN.md §1.7; proto JobSpec.optimizer, momentum, guard).
 *
 * <p>The guard is applied last, to the answer only ({@link #guard}): re-plans (revisions, holds,
 * continuous mode) and the edge ratio read the scheduled, unguarded curve, so the served lr is
 * min(scheduled lr, cap) at every step and returns to the plan as soon as the estimate in force
 * allows it.
 *
 * @param optimizer the trainer's optimizer: it picks the threshold and which operator's estimate counts
 * @param momentum beta (SGD) or beta1 (AdamW), in [0, 1)
 * @param maxEdgeRatio the guard's r*, finite and > 0; null when the job has no guard. OTHER has no
 *     threshold, so a guard on it could never act and is refused.
 */
public record StabilityMargin(Optimizer optimizer, double momentum, Double maxEdgeRatio) {

  /** SGD with the default momentum and no guard. */
  public static final StabilityMargin DEFAULT =
      new StabilityMargin(Optimizer.UNSPECIFIED, EdgeOfStability.DEFAULT_MOMENTUM, null);

  public StabilityMargin {
    Checks.present("optimizer", optimizer);
    EdgeOfStability.checkMomentum(momentum);
    if (maxEdgeRatio != null) {
      Checks.finitePositive("guard.max_edge_ratio", maxEdgeRatio);
      if (optimizer == Optimizer.OTHER) {
        throw Checks.invalid("guard.max_edge_ratio", "needs optimizer SGD or ADAMW (OTHER has no stability"
            + " threshold, so the guard could never act)", "got " + maxEdgeRatio);
      }
    }
  }

  /** eta(s) of the edge ratio: the job's scheduled lr, group 0's when the job has groups (DESIGN.md §1.7). */
  public static double eta(LrValue v) {
    return eta(v.lr(), v.groupLrs());
  }

  /** {@link #eta(LrValue)} of a value being built. */
  static double eta(double lr, double[] groupLrs) {
    return groupLrs.length > 0 ? groupLrs[0] : lr;
  }

  /** eta * lambda_max must stay below this ({@link EdgeOfStability#threshold}). */
  public double threshold() {
    return EdgeOfStability.threshold(optimizer, momentum);
  }

  /** The edge ratio of a step with learning rate lr under an estimate; NaN when there is none or it does not count. */
  public double edgeRatio(double lr, CurvaturePoint estimate) {
    if (estimate == null) {
      return Double.NaN;
    }
    return EdgeOfStability.ratio(optimizer, momentum, lr, estimate.lambdaMax(), estimate.preconditioned());
  }

  /**
   * The guard's cap on eta under an estimate, r*·threshold/λ_max; +∞ when it does not act: no guard,
   * no estimate, an estimate of the other operator ({@link EdgeOfStability#measuresStep}), or a
   * λ_max that is not finite and > 0 (a flat or concave estimate sets no limit).
   */
  public double cap(CurvaturePoint estimate) {
    if (maxEdgeRatio == null || estimate == null
        || !EdgeOfStability.measuresStep(optimizer, estimate.preconditioned())) {
      return Double.POSITIVE_INFINITY;
    }
    double lambdaMax = estimate.lambdaMax();
    if (!(lambdaMax > 0) || !Double.isFinite(lambdaMax)) {
      return Double.POSITIVE_INFINITY;
    }
    return maxEdgeRatio * threshold() / lambdaMax;
  }

  /**
   * The served answer of a scheduled value under the estimate in force at its step: {@code v} itself
   * when eta(v) <= {@link #cap}, else eta lowered to the cap exactly and lr and every group scaled by
   * the same factor cap/eta, {@code guarded} true. The other fields (factor, phi, edge ratio, ...) keep
   * describing the schedule. Allocates only when it lowers the value.
   */
  public LrValue guard(LrValue v, CurvaturePoint estimate) {
    double cap = cap(estimate);
    double eta = eta(v);
    if (!(cap < eta)) {
      return v;
    }
    double scale = cap / eta;
    double[] groups = v.groupLrs().clone();
    for (int g = 0; g < groups.length; g++) {
      groups[g] = g == 0 ? cap : groups[g] * scale;
    }
    double lr = groups.length == 0 ? cap : v.lr() * scale;
    return new LrValue(v.step(), lr, groups, v.factor(), v.phi(), v.phase(), v.kappa(), v.lambdaLow(),
        v.lambdaMax(), v.curvatureStep(), v.source(), v.note(), v.revision(), v.edgeRatio(), true);
  }
}
