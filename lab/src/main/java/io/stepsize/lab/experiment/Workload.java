package io.stepsize.lab.experiment;

import io.stepsize.lab.demo.Dataset;
import io.stepsize.lab.demo.Model;
import java.util.Map;

/**
 * A model and its data, with what the grid needs to train it: the batch size, the largest budget
 * (100%) and the peak learning rate per optimizer, shared by every schedule so that only the
 * schedule's shape differs between arms. Any {@link Model} with exact HVPs plugs in.
 *
 * @param name short name for tables and files
 * @param probeBatch the fixed batch every curvature probe of a run uses
 * @param trainEval the training examples the final training loss is measured on
 */
public record Workload(String name, Model model, Dataset train, Dataset test, Dataset probeBatch,
    Dataset trainEval, int batchSize, long maxSteps, Map<OptimizerKind, Double> lrMax) {

  public Workload {
    if (batchSize < 1 || batchSize > train.size()) {
      throw new IllegalArgumentException("batch size must be in [1, " + train.size() + "], got " + batchSize);
    }
    if (maxSteps < 4) {
      throw new IllegalArgumentException("max steps must be >= 4, got " + maxSteps);
    }
  }

  public double lrMax(OptimizerKind optimizer) {
    Double lr = lrMax.get(optimizer);
    if (lr == null) {
      throw new IllegalArgumentException("workload " + name + " has no lr_max for " + optimizer.label());
    }
    return lr;
  }
}
