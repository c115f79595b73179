package io.stepsize.schedule;

/**
 * The stability margin of DESIGN.md §1.7: where a step of the job's optimizer stops being stable on a
 * quadratic of curvature lambda_max. One definition, used by the estimator (each point's edge ratio)
 * and by the schedule (each answer's edge ratio and the guard).
 */
public final class EdgeOfStability {

  /** JobSpec.momentum when unset: beta (SGD) or beta1 (AdamW). */
  public static final double DEFAULT_MOMENTUM = 0.9;

  private EdgeOfStability() {}

  /**
   * eta * lambda_max must stay below this. Heavy-ball SGD (PyTorch's form: dampening 0, no Nesterov)
   * is stable iff eta * lambda < 2 + 2 beta; Adam's preconditioned sharpness settles at
   * (2 + 2 beta1) / (1 - beta1), 38 at beta1 = 0.9 (Cohen et al. 2021, 2022). NaN for OTHER: its
   * update rule is unknown, so no threshold is claimed.
   */
  public static double threshold(Optimizer optimizer, double momentum) {
    checkMomentum(momentum);
    return switch (optimizer) {
      case SGD -> 2 + 2 * momentum;
      case ADAMW -> (2 + 2 * momentum) / (1 - momentum);
      case OTHER -> Double.NaN;
    };
  }

  /** JobSpec.momentum's rule: finite, in [0, 1). */
  public static double checkMomentum(double momentum) {
    if (!(momentum >= 0 && momentum < 1)) {
      throw Checks.invalid("momentum", "must be in [0, 1)", "got " + momentum);
    }
    return momentum;
  }

  /**
   * Whether an estimate measures the curvature that the optimizer's step sees: the Hessian for SGD
   * (and OTHER), the preconditioned operator for AdamW. An edge ratio from the other one is NaN.
   */
  public static boolean measuresStep(Optimizer optimizer, boolean preconditioned) {
    return optimizer == Optimizer.ADAMW ? preconditioned : !preconditioned;
  }

  /** eta * lambda_max / threshold; NaN when the estimate does not measure the step or is missing. */
  public static double ratio(Optimizer optimizer, double momentum, double lr, double lambdaMax,
      boolean preconditioned) {
    if (!measuresStep(optimizer, preconditioned)) {
      return Double.NaN;
    }
    return lr * lambdaMax / threshold(optimizer, momentum);
  }
}
