package io.stepsize.schedule;

/** The trainer's optimizer; it only decides the default phi (the paper's recommendations). */
public enum Optimizer {
  SGD, ADAMW, OTHER;

  /** A job that names no optimizer is read as SGD, the paper's main setting. */
  public static final Optimizer UNSPECIFIED = SGD;

  /** 5 for SGD, 0.5 otherwise (DESIGN.md §1.3, the paper's defaults). */
  public double defaultPhi() {
    return this == SGD ? 5.0 : 0.5;
  }
}
