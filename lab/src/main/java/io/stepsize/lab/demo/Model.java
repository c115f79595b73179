package io.stepsize.lab.demo;

import io.stepsize.lab.train.TrainingLoop;

/**
 * A differentiable classifier over a flat parameter vector, with the three things the demo needs
 * from it: the loss and its gradient for SGD, and exact Hessian-vector products of the same loss
 * for the Lanczos probes. Every loss here is the objective SGD minimizes: mean cross-entropy
 * over the batch plus (l2/2)·‖θ‖².
 *
 * <p>Implementations are pure functions of their arguments (no state between calls), so one
 * instance serves every run and thread.
 */
public interface Model {

  /** Short name for tables and flags: "softmax", "mlp". */
  String name();

  /** Number of parameters n. */
  int dimension();

  /** Starting parameters; the same seed gives the same vector. */
  double[] initialParameters(long seed);

  /** The loss on {@code batch}; when {@code gradient} is not null, writes ∇loss into it. */
  double lossAndGradient(double[] params, Dataset batch, double[] gradient);

  /** Writes H·v into {@code out}, H the Hessian of {@link #lossAndGradient}'s loss on {@code batch}. */
  void hessianVector(double[] params, Dataset batch, double[] v, double[] out);

  /** This model's loss on batches of {@code train}, as the training loop takes it. */
  default TrainingLoop.Objective objective(Dataset train) {
    return (params, batch, gradient) -> lossAndGradient(params, train.subset(batch), gradient);
  }

  /** Class scores (logits) of one example into {@code logits} (length = classes). */
  void logits(double[] params, double[] x, double[] logits);

  /** Loss and accuracy over a whole data set. */
  default Evaluation evaluate(double[] params, Dataset data) {
    double loss = lossAndGradient(params, data, null);
    double[] z = new double[data.classes()];
    int correct = 0;
    for (int i = 0; i < data.size(); i++) {
      logits(params, data.x()[i], z);
      int best = 0;
      for (int c = 1; c < z.length; c++) {
        if (z[c] > z[best]) {
          best = c;
        }
      }
      if (best == data.y()[i]) {
        correct++;
      }
    }
    return new Evaluation(loss, (double) correct / data.size());
  }

  /** Loss (the objective, see {@link Model}) and the fraction classified correctly. */
  record Evaluation(double loss, double accuracy) {}

  /**
   * softmax(z) into p, in place-safe form: shifts by max z so exp never overflows, and returns
   * log Σ exp z (the log-partition) for the cross-entropy −z_y + logZ.
   */
  static double softmax(double[] z, double[] p) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (int c = 0; c < z.length; c++) {
      p[c] = Math.exp(z[c] - max);
      sum += p[c];
    }
    for (int c = 0; c < z.length; c++) {
      p[c] /= sum;
    }
    return max + Math.log(sum);
  }

  /**
   * (diag(p) − p pᵀ)·r into out: the softmax Jacobian, which is also the Hessian of the
   * cross-entropy with respect to the logits. Written as p ⊙ (r − p·r) so it costs O(k), not O(k²).
   */
  static void softmaxJacobian(double[] p, double[] r, double[] out) {
    double pr = 0;
    for (int c = 0; c < p.length; c++) {
      pr += p[c] * r[c];
    }
    for (int c = 0; c < p.length; c++) {
      out[c] = p[c] * (r[c] - pr);
    }
  }
}
