package io.stepsize.lab.train;

/**
 * SGD with heavy-ball momentum as torch.optim.SGD defines it (dampening 0, no Nesterov):
 * buf ← μ·buf + g, θ ← θ − lr·buf.
 */
public final class SgdMomentum implements Update {
  private final double momentum;
  private final double[] buffer;

  /** A fresh state for {@code n} parameters with momentum μ in [0, 1). */
  public SgdMomentum(int n, double momentum) {
    if (!(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
    }
    this.momentum = momentum;
    this.buffer = new double[n];
  }

  @Override
  public void apply(double[] params, double[] gradient, double lr) {
    for (int k = 0; k < params.length; k++) {
      buffer[k] = momentum * buffer[k] + gradient[k];
      params[k] -= lr * buffer[k];
    }
  }
}
