package io.stepsize.lab.demo;

/**
 * Multinomial logistic (softmax) regression with L2: logits z = W x + b, loss
 * (1/B) Σ_i [−z_{i,y_i} + log Σ_c exp z_{i,c}] + (l2/2)(‖W‖² + ‖b‖²).
 *
 * <p>Parameters are laid out as W row-major (class c's weights at c·d .. c·d + d − 1) then b.
 * The bias is regularized too: softmax is unchanged when the same vector is added to every
 * class's row, so without L2 on all of θ those directions would have curvature exactly 0 and the
 * Hessian would be singular. With it the Hessian is positive definite, λ_min ≥ l2, and κ is finite.
 *
 * <p>Its Hessian is exact and cheap: with p_i = softmax(z_i) and A_i = diag(p_i) − p_i p_iᵀ,
 * H (V, c) = (1/B) Σ_i (A_i r_i) ⊗ (x_i, 1) + l2·(V, c), where r_i = V x_i + c is the change of
 * the logits along the direction. That is two passes over the batch, like a gradient.
 */
public final class SoftmaxRegression implements Model {
  private final int features;
  private final int classes;
  private final double l2;

  public SoftmaxRegression(int features, int classes, double l2) {
    if (features < 1 || classes < 2 || !(l2 >= 0) || !Double.isFinite(l2)) {
      throw new IllegalArgumentException("need features >= 1, classes >= 2, finite l2 >= 0; got "
          + features + ", " + classes + ", " + l2);
    }
    this.features = features;
    this.classes = classes;
    this.l2 = l2;
  }

  @Override
  public String name() {
    return "softmax";
  }

  @Override
  public int dimension() {
    return classes * (features + 1);
  }

  public double l2() {
    return l2;
  }

  /** Zeros: the loss is convex, so any start reaches the same optimum; zeros make runs comparable. */
  @Override
  public double[] initialParameters(long seed) {
    return new double[dimension()];
  }

  @Override
  public void logits(double[] params, double[] x, double[] z) {
    int bias = classes * features;
    for (int c = 0; c < classes; c++) {
      double s = params[bias + c];
      int row = c * features;
      for (int j = 0; j < features; j++) {
        s += params[row + j] * x[j];
      }
      z[c] = s;
    }
  }

  @Override
  public double lossAndGradient(double[] params, Dataset batch, double[] gradient) {
    int n = batch.size();
    int bias = classes * features;
    double[] z = new double[classes];
    double[] p = new double[classes];
    if (gradient != null) {
      java.util.Arrays.fill(gradient, 0);
    }
    double loss = 0;
    for (int i = 0; i < n; i++) {
      double[] x = batch.x()[i];
      int y = batch.y()[i];
      logits(params, x, z);
      loss += Model.softmax(z, p) - z[y];
      if (gradient != null) {
        // d loss_i / d z = p − e_y; the weights get its outer product with x
        p[y] -= 1;
        for (int c = 0; c < classes; c++) {
          double g = p[c];
          int row = c * features;
          for (int j = 0; j < features; j++) {
            gradient[row + j] += g * x[j];
          }
          gradient[bias + c] += g;
        }
      }
    }
    double squares = 0;
    for (double w : params) {
      squares += w * w;
    }
    if (gradient != null) {
      for (int k = 0; k < gradient.length; k++) {
        gradient[k] = gradient[k] / n + l2 * params[k];
      }
    }
    return loss / n + 0.5 * l2 * squares;
  }

  @Override
  public void hessianVector(double[] params, Dataset batch, double[] v, double[] out) {
    int n = batch.size();
    int bias = classes * features;
    double[] z = new double[classes];
    double[] p = new double[classes];
    double[] r = new double[classes];
    double[] ar = new double[classes];
    java.util.Arrays.fill(out, 0);
    for (int i = 0; i < n; i++) {
      double[] x = batch.x()[i];
      logits(params, x, z);
      Model.softmax(z, p);
      logits(v, x, r); // r = V x + c: the directional change of the logits
      Model.softmaxJacobian(p, r, ar);
      for (int c = 0; c < classes; c++) {
        double g = ar[c];
        int row = c * features;
        for (int j = 0; j < features; j++) {
          out[row + j] += g * x[j];
        }
        out[bias + c] += g;
      }
    }
    for (int k = 0; k < out.length; k++) {
      out[k] = out[k] / n + l2 * v[k];
    }
  }
}
