package io.stepsize.lab.demo;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A one-hidden-layer perceptron with tanh units: a = W1 x + b1, h = tanh a, z = W2 h + b2, and the
 * same loss as {@link SoftmaxRegression} (mean cross-entropy + (l2/2)‖θ‖²).
 *
 * <p>Layout: W1 (hidden × features, row-major), b1, W2 (classes × hidden, row-major), b2.
 *
 * <p>Hessian-vector products are exact, by Pearlmutter's R-operator ("Fast exact multiplication by
 * the Hessian", 1994): differentiate the forward and backward passes along the direction v. Unlike
 * the Gauss–Newton matrix this is the true Hessian, which for a network is indefinite; the probes
 * then report negative Ritz values, and the estimator's λ_low rule is what keeps κ meaningful.
 */
public final class Mlp implements Model {
  private final int features;
  private final int hidden;
  private final int classes;
  private final double l2;
  private final int offB1;
  private final int offW2;
  private final int offB2;

  public Mlp(int features, int hidden, int classes, double l2) {
    if (features < 1 || hidden < 1 || classes < 2 || !(l2 >= 0) || !Double.isFinite(l2)) {
      throw new IllegalArgumentException("need features, hidden >= 1, classes >= 2, finite l2 >= 0");
    }
    this.features = features;
    this.hidden = hidden;
    this.classes = classes;
    this.l2 = l2;
    this.offB1 = hidden * features;
    this.offW2 = offB1 + hidden;
    this.offB2 = offW2 + classes * hidden;
  }

  @Override
  public String name() {
    return "mlp";
  }

  @Override
  public int dimension() {
    return offB2 + classes;
  }

  /** Glorot-style N(0, 1/fan_in) weights, zero biases: tanh starts in its linear range. */
  @Override
  public double[] initialParameters(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] params = new double[dimension()];
    double s1 = 1 / Math.sqrt(features);
    for (int k = 0; k < offB1; k++) {
      params[k] = random.nextGaussian() * s1;
    }
    double s2 = 1 / Math.sqrt(hidden);
    for (int k = offW2; k < offB2; k++) {
      params[k] = random.nextGaussian() * s2;
    }
    return params;
  }

  /** out = M x + bias, M rows×cols at {@code off} in {@code theta}, bias at {@code offBias} (or none if < 0). */
  private static void affine(double[] theta, int off, int rows, int cols, int offBias, double[] x, double[] out) {
    for (int r = 0; r < rows; r++) {
      double s = offBias < 0 ? 0 : theta[offBias + r];
      int row = off + r * cols;
      for (int c = 0; c < cols; c++) {
        s += theta[row + c] * x[c];
      }
      out[r] = s;
    }
  }

  /** out = Mᵀ y for M rows×cols at {@code off}. */
  private static void affineTransposed(double[] theta, int off, int rows, int cols, double[] y, double[] out) {
    Arrays.fill(out, 0, cols, 0);
    for (int r = 0; r < rows; r++) {
      int row = off + r * cols;
      double yr = y[r];
      for (int c = 0; c < cols; c++) {
        out[c] += theta[row + c] * yr;
      }
    }
  }

  /** acc[off + r·cols + c] += a[r]·b[c], and acc[offBias + r] += a[r]. */
  private static void addOuter(double[] acc, int off, int offBias, double[] a, int rows, double[] b, int cols) {
    for (int r = 0; r < rows; r++) {
      double ar = a[r];
      int row = off + r * cols;
      for (int c = 0; c < cols; c++) {
        acc[row + c] += ar * b[c];
      }
      acc[offBias + r] += ar;
    }
  }

  @Override
  public void logits(double[] params, double[] x, double[] z) {
    double[] h = new double[hidden];
    affine(params, 0, hidden, features, offB1, x, h);
    for (int u = 0; u < hidden; u++) {
      h[u] = Math.tanh(h[u]);
    }
    affine(params, offW2, classes, hidden, offB2, h, z);
  }

  @Override
  public double lossAndGradient(double[] params, Dataset batch, double[] gradient) {
    int n = batch.size();
    double[] h = new double[hidden];
    double[] z = new double[classes];
    double[] p = new double[classes];
    double[] dh = new double[hidden];
    if (gradient != null) {
      Arrays.fill(gradient, 0);
    }
    double loss = 0;
    for (int i = 0; i < n; i++) {
      double[] x = batch.x()[i];
      int y = batch.y()[i];
      affine(params, 0, hidden, features, offB1, x, h);
      for (int u = 0; u < hidden; u++) {
        h[u] = Math.tanh(h[u]);
      }
      affine(params, offW2, classes, hidden, offB2, h, z);
      loss += Model.softmax(z, p) - z[y];
      if (gradient != null) {
        p[y] -= 1; // δz
        addOuter(gradient, offW2, offB2, p, classes, h, hidden);
        affineTransposed(params, offW2, classes, hidden, p, dh); // δh = W2ᵀ δz
        for (int u = 0; u < hidden; u++) {
          dh[u] *= 1 - h[u] * h[u]; // δa
        }
        addOuter(gradient, 0, offB1, dh, hidden, x, features);
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
    double[] h = new double[hidden];
    double[] z = new double[classes];
    double[] p = new double[classes];
    double[] rA = new double[hidden];
    double[] rH = new double[hidden];
    double[] rZ = new double[classes];
    double[] tmpZ = new double[classes];
    double[] rDz = new double[classes];
    double[] dh = new double[hidden];
    double[] rDh = new double[hidden];
    double[] tmpH = new double[hidden];
    Arrays.fill(out, 0);
    for (int i = 0; i < n; i++) {
      double[] x = batch.x()[i];
      int y = batch.y()[i];
      // forward
      affine(params, 0, hidden, features, offB1, x, h);
      for (int u = 0; u < hidden; u++) {
        h[u] = Math.tanh(h[u]);
      }
      affine(params, offW2, classes, hidden, offB2, h, z);
      Model.softmax(z, p);
      // R-forward: Ra = V1 x + c1, Rh = (1 − h²) Ra, Rz = W2 Rh + V2 h + c2
      affine(v, 0, hidden, features, offB1, x, rA);
      for (int u = 0; u < hidden; u++) {
        rH[u] = (1 - h[u] * h[u]) * rA[u];
      }
      affine(params, offW2, classes, hidden, -1, rH, rZ);
      affine(v, offW2, classes, hidden, offB2, h, tmpZ);
      for (int c = 0; c < classes; c++) {
        rZ[c] += tmpZ[c];
      }
      // backward quantities and their R: δz = p − e_y, Rδz = A Rz
      Model.softmaxJacobian(p, rZ, rDz);
      p[y] -= 1;
      double[] dz = p;
      // R(∇W2) = Rδz hᵀ + δz Rhᵀ ; R(∇b2) = Rδz
      addOuter(out, offW2, offB2, rDz, classes, h, hidden);
      for (int c = 0; c < classes; c++) {
        int row = offW2 + c * hidden;
        for (int u = 0; u < hidden; u++) {
          out[row + u] += dz[c] * rH[u];
        }
      }
      // δh = W2ᵀ δz ; Rδh = V2ᵀ δz + W2ᵀ Rδz
      affineTransposed(params, offW2, classes, hidden, dz, dh);
      affineTransposed(v, offW2, classes, hidden, dz, rDh);
      affineTransposed(params, offW2, classes, hidden, rDz, tmpH);
      // δa = δh (1 − h²) ; Rδa = Rδh (1 − h²) − 2 h Rh δh
      for (int u = 0; u < hidden; u++) {
        double slope = 1 - h[u] * h[u];
        rDh[u] = (rDh[u] + tmpH[u]) * slope - 2 * h[u] * rH[u] * dh[u];
      }
      // R(∇W1) = Rδa xᵀ (x does not depend on θ) ; R(∇b1) = Rδa
      addOuter(out, 0, offB1, rDh, hidden, x, features);
    }
    for (int k = 0; k < out.length; k++) {
      out[k] = out[k] / n + l2 * v[k];
    }
  }
}
