package io.stepsize.estimator;

import io.stepsize.schedule.PhiPolicy;
import java.util.List;

/**
 * What the topology needs from the Lanczos math (DESIGN.md §1.4): the seam between the Kafka
 * plumbing and the numerics, implemented by {@link LanczosMath} over the math package.
 */
public interface CurvatureMath {

  /**
   * One Lanczos probe: the diagonal and the off-diagonal (with the residual norm last) of T_m, where
   * it started and which operator it ran on (DESIGN.md §1.7).
   *
   * @param gradientStart started at the normalized minibatch gradient ({@code START_GRADIENT}), so
   *     alpha[0] = ĝᵀHĝ; false for a random start
   * @param preconditioned ran on Adam's P^{-1/2}HP^{-1/2} ({@code OPERATOR_PRECONDITIONED}), not on H
   */
  record Probe(double[] alpha, double[] beta, boolean gradientStart, boolean preconditioned) {
    /** A random-start probe of the Hessian, as every probe was before DESIGN.md §1.7. */
    public Probe(double[] alpha, double[] beta) {
      this(alpha, beta, false, false);
    }

    /** Whether this is the same probe again (a retried publish): the same T_m, start and operator. */
    boolean sameAs(Probe other) {
      return gradientStart == other.gradientStart && preconditioned == other.preconditioned
          && java.util.Arrays.equals(alpha, other.alpha) && java.util.Arrays.equals(beta, other.beta);
    }
  }

  /**
   * A step's estimate after smoothing, and the smoothing state to carry to the next step.
   *
   * @param kappa λ_max/λ_low, NaN when λ_low ≤ 0 (no condition number)
   * @param probes probes the smoothed estimate combines (this phase's, up to this step)
   * @param lambdaHarmonic λ_h, smoothed as λ_low is: equal to λ_low under the gradient_harmonic lower edge
   * @param negativeMass Σ w_i over θ_i < 0 of this step's merged density (not smoothed)
   * @param gradientSharpness mean alpha[0] of this step's gradient-start probes, NaN when none (not smoothed)
   */
  record Smoothed(double lambdaMin, double lambdaMax, double lambdaLow, double kappa, double lambdaMaxBound,
      long probes, byte[] ewmaAfter, double lambdaHarmonic, double negativeMass, double gradientSharpness) {}

  /**
   * Rejects a malformed probe: throws {@link io.stepsize.wire.InvalidProbeException}
   * whose message is the reason (finite numbers, 1 ≤ m ≤ 1000, beta ≥ 0, equal lengths). What it
   * computes to tell may be kept for the probe's estimate.
   */
  void check(Probe probe);

  /**
   * The estimate of one step: its probes (every worker's so far, at least one) merged by averaging
   * their SLQ densities, λ_low by the job's lower-edge rule, then smoothed in log space after
   * {@code ewmaBefore} (empty: the first step of a phase, which starts fresh).
   */
  Smoothed estimate(long step, byte[] ewmaBefore, List<Probe> probes, PhiPolicy.ConditionNumber lowerEdge,
      double halfLifeProbes);
}
