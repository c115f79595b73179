package io.stepsize.lab.demo;

import io.stepsize.client.lanczos.Hvp;
import io.stepsize.client.lanczos.LanczosDriver;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.proto.v1.Start;

/**
 * One Lanczos probe of the training loss's Hessian (DESIGN.md §1.4, §1.7): m steps on a fixed probe
 * batch at the current weights, with exact HVPs from the model. Only the tridiagonal (alpha, beta)
 * leaves the trainer; the estimator turns it into λ_max, λ_low and κ.
 *
 * <p>By default a probe starts at the normalized gradient of the same loss on the same batch at the
 * same weights ({@code START_GRADIENT}): alpha[0] is then the curvature along the step, and the SLQ
 * weights say where the gradient's energy lies, which the estimator's λ_h and the edge ratio read.
 * {@code START_RANDOM} starts at the seeded Rademacher vector instead (a density probe).
 *
 * <p>The probe batch is fixed for the whole run so that a change of κ between probes is a change
 * of the weights (the curvature along the trajectory), not of the sampled data.
 */
public final class CurvatureProbe {
  /** DESIGN.md's m = 20: enough for the extreme Ritz values of a few-hundred-dimensional Hessian. */
  public static final int DEFAULT_STEPS = 20;

  private final Model model;
  private final Dataset batch;
  private final LanczosDriver driver;
  private final Start start;

  /** A gradient-start probe. */
  public CurvatureProbe(Model model, Dataset batch, int steps) {
    this(model, batch, steps, Start.START_GRADIENT);
  }

  public CurvatureProbe(Model model, Dataset batch, int steps, Start start) {
    if (start != Start.START_GRADIENT && start != Start.START_RANDOM) {
      throw new IllegalArgumentException("start must be START_GRADIENT or START_RANDOM, got " + start);
    }
    this.model = model;
    this.batch = batch;
    this.driver = LanczosDriver.of(steps);
    this.start = start;
  }

  public Start start() {
    return start;
  }

  /**
   * Runs the probe at {@code params}: from the probe batch's gradient, or from the start vector of
   * {@code seed} (also the fallback when that gradient is exactly zero; the result says which).
   */
  public LanczosResult run(double[] params, long seed) {
    // the driver calls the HVP from this thread only and never keeps the arrays
    Hvp hvp = (v, out) -> model.hessianVector(params, batch, v, out);
    if (start == Start.START_RANDOM) {
      return driver.run(hvp, model.dimension(), seed);
    }
    double[] gradient = new double[model.dimension()];
    model.lossAndGradient(params, batch, gradient);
    return driver.runFromGradient(hvp, gradient, seed);
  }
}
