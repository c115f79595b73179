package io.stepsize.schedule;

/** Where a learning rate's phi came from (proto {@code Source}). */
public enum Source {
  /** No usable estimate applies yet (or chebyshev saw lambda_low <= 0): fallback_phi. */
  FALLBACK,
  /** phi (and for chebyshev the range) from a curvature estimate. */
  CURVATURE,
  /** A fixed phi, or a baseline schedule. */
  FIXED,
  /** A warmup step: lr = lr_max·(s + 1)/W, phi does not enter. */
  WARMUP
}
