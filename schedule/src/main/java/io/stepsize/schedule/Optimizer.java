package io.stepsize.schedule;

/** The trainer's optimizer; it only decides the default phi (the paper's recommendations). */
public enum Optimizer {
  SGD, ADAMW, OTHER;

  /** 5 for SGD, 0.5 otherwise (DESIGN.md §1.3, the paper's defaults). */
  public double defaultPhi() {
    return this == SGD ? 5.0 : 0.5;
  }
}
