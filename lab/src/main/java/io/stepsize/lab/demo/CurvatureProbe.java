package io.stepsize.lab.demo;

import io.stepsize.client.lanczos.LanczosDriver;
import io.stepsize.client.lanczos.LanczosResult;

/**
 * One Lanczos probe of the training loss's Hessian (DESIGN.md §1.4): m steps on a fixed probe batch
 * at the current weights, with exact HVPs from the model. Only the tridiagonal (alpha, beta)
 * leaves the trainer; the estimator turns it into λ_max, λ_low and κ.
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

  public CurvatureProbe(Model model, Dataset batch, int steps) {
    this.model = model;
    this.batch = batch;
    this.driver = LanczosDriver.of(steps);
  }

  /** Runs the probe at {@code params} from the start vector of {@code seed}. */
  public LanczosResult run(double[] params, long seed) {
    // the driver calls the HVP from this thread only and never keeps the arrays
    return driver.run((v, out) -> model.hessianVector(params, batch, v, out), model.dimension(), seed);
  }
}
