package io.stepsize.lab.train;

/**
 * torch.optim.AdamW with its defaults (Loshchilov &amp; Hutter 2019): θ ← θ(1 − lr·wd);
 * m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²; θ ← θ − lr·m̂/(√v̂ + ε) with bias corrections
 * m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t). The decay is scaled by the scheduled lr, as in PyTorch, so
 * the schedule shapes it too.
 */
public final class AdamW implements Update {
  public static final double BETA1 = 0.9;
  public static final double BETA2 = 0.999;
  public static final double EPSILON = 1e-8;
  /** PyTorch's AdamW default. */
  public static final double WEIGHT_DECAY = 1e-2;

  private final double[] m;
  private final double[] v;
  private long t;

  /** A fresh state for {@code n} parameters. */
  public AdamW(int n) {
    m = new double[n];
    v = new double[n];
  }

  @Override
  public void apply(double[] params, double[] gradient, double lr) {
    t++;
    double c1 = 1 - Math.pow(BETA1, t);
    double c2 = 1 - Math.pow(BETA2, t);
    double decay = 1 - lr * WEIGHT_DECAY;
    for (int k = 0; k < params.length; k++) {
      double g = gradient[k];
      m[k] = BETA1 * m[k] + (1 - BETA1) * g;
      v[k] = BETA2 * v[k] + (1 - BETA2) * g * g;
      double mHat = m[k] / c1;
      double vHat = v[k] / c2;
      params[k] = params[k] * decay - lr * mHat / (Math.sqrt(vHat) + EPSILON);
    }
  }
}
