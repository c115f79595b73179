package io.stepsize.lab.demo;

/**
 * One training run of the comparison: the learning rate and mini-batch loss of every step, and
 * the final weights scored on the whole training set (the objective SGD minimizes) and on the
 * held-out test set.
 *
 * @param name the schedule, as the table shows it
 * @param lr the learning rate SGD used at each step
 * @param batchLoss the mini-batch objective at each step, before its update
 * @param finalTrainLoss the objective on the whole training set at the final weights
 * @param testLoss the objective on the test set at the final weights
 * @param testAccuracy the fraction of test images classified correctly
 */
public record RunResult(String name, double[] lr, double[] batchLoss, double finalTrainLoss, double testLoss,
    double testAccuracy) {

  /** Trains {@code model} on {@code split} with {@code trainer} and scores the final weights. */
  static RunResult score(String name, Model model, Dataset.Split split, double[] params, double[] lr,
      double[] batchLoss) {
    Model.Evaluation train = model.evaluate(params, split.train());
    Model.Evaluation test = model.evaluate(params, split.test());
    return new RunResult(name, lr, batchLoss, train.loss(), test.loss(), test.accuracy());
  }
}
