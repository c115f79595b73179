package io.stepsize.estimator;

import io.stepsize.schedule.PhiPolicy;
import java.util.List;

/**
 * What the topology needs from the Lanczos math (DESIGN.md §1.4): the seam between the Kafka
 * plumbing and the numerics, implemented by {@link LanczosMath} over the math package.
 */
public interface CurvatureMath {

  /** One Lanczos probe: the diagonal and the off-diagonal (with the residual norm last) of T_m. */
  record Probe(double[] alpha, double[] beta) {}

  /**
   * A step's estimate after smoothing, and the smoothing state to carry to the next step.
   *
   * @param kappa λ_max/λ_low, NaN when λ_low ≤ 0 (no condition number)
   * @param probes probes the smoothed estimate combines (this phase's, up to this step)
   */
  record Smoothed(double lambdaMin, double lambdaMax, double lambdaLow, double kappa, double lambdaMaxBound,
      long probes, byte[] ewmaAfter) {}

  /**
   * Rejects a malformed probe: throws {@link io.stepsize.wire.InvalidProbeException}
   * whose message is the reason (finite numbers, 1 ≤ m ≤ 1000, beta ≥ 0, equal lengths).
   */
  void check(double[] alpha, double[] beta);

  /**
   * The estimate of one step: its probes (every worker's so far, at least one) merged by averaging
   * their SLQ densities, λ_low by the job's lower-edge rule, then smoothed in log space after
   * {@code ewmaBefore} (empty: the first step of a phase, which starts fresh).
   */
  Smoothed estimate(long step, byte[] ewmaBefore, List<Probe> probes, PhiPolicy.ConditionNumber lowerEdge,
      double halfLifeProbes);
}
