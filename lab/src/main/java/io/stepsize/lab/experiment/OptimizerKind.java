package io.stepsize.lab.experiment;

import io.stepsize.proto.v1.Optimizer;

/**
 * The two optimizers of the paper's Table 2, each as PyTorch defines its update, so results here
 * carry over to the PyTorch trainer: {@code SGD} with heavy-ball momentum (dampening 0, no Nesterov)
 * and {@code AdamW} with decoupled weight decay (Loshchilov &amp; Hutter 2019).
 */
public enum OptimizerKind {
  SGD(Optimizer.OPTIMIZER_SGD), ADAMW(Optimizer.OPTIMIZER_ADAMW);

  public static final double MOMENTUM = 0.9;
  public static final double BETA1 = 0.9;
  public static final double BETA2 = 0.999;
  public static final double EPSILON = 1e-8;
  /** PyTorch's AdamW default. */
  public static final double WEIGHT_DECAY = 1e-2;

  private final Optimizer proto;

  OptimizerKind(Optimizer proto) {
    this.proto = proto;
  }

  public Optimizer proto() {
    return proto;
  }

  public String label() {
    return this == SGD ? "sgd" : "adamw";
  }

  /** The paper's hand-fixed phi: 5 for SGD, 0.5 for AdamW (DESIGN.md §1.3). */
  public double paperPhi() {
    return this == SGD ? 5.0 : 0.5;
  }

  public static OptimizerKind byLabel(String s) {
    for (OptimizerKind k : values()) {
      if (k.label().equalsIgnoreCase(s.trim())) {
        return k;
      }
    }
    throw new IllegalArgumentException("optimizer must be sgd or adamw, got " + s);
  }

  /** A fresh optimizer state for {@code n} parameters. */
  public Update create(int n) {
    return this == SGD ? new SgdMomentum(n) : new AdamW(n);
  }

  /** One optimizer update of the parameters in place, with the step's learning rate. */
  public interface Update {
    void apply(double[] params, double[] gradient, double lr);
  }

  /** buf ← μ·buf + g; θ ← θ − lr·buf (torch.optim.SGD, momentum 0.9, dampening 0). */
  static final class SgdMomentum implements Update {
    private final double[] buffer;

    SgdMomentum(int n) {
      buffer = new double[n];
    }

    @Override
    public void apply(double[] params, double[] gradient, double lr) {
      for (int k = 0; k < params.length; k++) {
        buffer[k] = MOMENTUM * buffer[k] + gradient[k];
        params[k] -= lr * buffer[k];
      }
    }
  }

  /**
   * torch.optim.AdamW: θ ← θ(1 − lr·wd); m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²;
   * θ ← θ − lr·m̂/(√v̂ + ε) with bias corrections m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t).
   * The decay is scaled by the scheduled lr, as in PyTorch, so the schedule shapes it too.
   */
  static final class AdamW implements Update {
    private final double[] m;
    private final double[] v;
    private long t;

    AdamW(int n) {
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
}
