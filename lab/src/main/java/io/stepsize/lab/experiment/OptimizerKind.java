package io.stepsize.lab.experiment;

import io.stepsize.lab.train.AdamW;
import io.stepsize.lab.train.SgdMomentum;
import io.stepsize.lab.train.Update;
import io.stepsize.proto.v1.Optimizer;

/**
 * The two optimizers of the paper's Table 2, each as PyTorch defines its update, so results here
 * carry over to the PyTorch trainer: {@code SGD} with heavy-ball momentum 0.9 ({@link SgdMomentum})
 * and {@code AdamW} with PyTorch's defaults ({@link AdamW}).
 */
public enum OptimizerKind {
  SGD(Optimizer.OPTIMIZER_SGD), ADAMW(Optimizer.OPTIMIZER_ADAMW);

  /** The momentum of every SGD run of the grid. */
  public static final double MOMENTUM = 0.9;

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
    return (this == SGD ? io.stepsize.schedule.Optimizer.SGD : io.stepsize.schedule.Optimizer.ADAMW).defaultPhi();
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
    return this == SGD ? new SgdMomentum(n, MOMENTUM) : new AdamW(n);
  }
}
