package io.stepsize.schedule;

/**
 * What a job's edge ratio and guard need (DESIGN.md §1.7; proto JobSpec.optimizer, momentum, guard).
 *
 * @param optimizer the trainer's optimizer: it picks the threshold and which operator's estimate counts
 * @param momentum beta (SGD) or beta1 (AdamW), in [0, 1)
 * @param maxEdgeRatio the guard's r*, finite and > 0; null when the job has no guard
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
    }
  }

  /** eta(s) of the edge ratio: the job's scheduled lr, group 0's when the job has groups (DESIGN.md §1.7). */
  public static double eta(LrValue v) {
    return v.groupLrs().length > 0 ? v.groupLrs()[0] : v.lr();
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
}
