package io.stepsize.lab.experiment;

import io.stepsize.lab.demo.Dataset;
import io.stepsize.lab.demo.Digits;
import io.stepsize.lab.demo.Mlp;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/** The built-in workloads: a tanh MLP on Fashion-MNIST and on the bundled digits set. */
public final class Workloads {
  /** L2 in the loss, for every model: keeps λ_min of the Hessian away from an exact 0 along dead directions. */
  public static final double L2 = 1e-4;
  /** Examples in the fixed probe batch of every run. */
  public static final int PROBE_BATCH = 128;
  /** Training examples the final training loss is measured on. */
  public static final int TRAIN_EVAL = 2_000;
  static final long SPLIT_SEED = 20_170_825L;

  private Workloads() {}

  /** Peak learning rates, shared by every arm of an optimizer. */
  public record Rates(double sgd, double adamw) {
    Map<OptimizerKind, Double> map() {
      return Map.of(OptimizerKind.SGD, sgd, OptimizerKind.ADAMW, adamw);
    }
  }

  public static Workload fashion(Path dir, int trainSize, int testSize, int hidden, int batchSize, long maxSteps,
      Rates rates) throws IOException {
    Dataset.Split split = FashionMnist.load(dir, trainSize, testSize);
    return build("fashion", split, hidden, batchSize, maxSteps, rates);
  }

  public static Workload digits(int hidden, int batchSize, long maxSteps, Rates rates) {
    Dataset.Split split = Digits.load().split(SPLIT_SEED, 360);
    return build("digits", split, hidden, batchSize, maxSteps, rates);
  }

  static Workload build(String name, Dataset.Split split, int hidden, int batchSize, long maxSteps, Rates rates) {
    Dataset train = split.train();
    Mlp model = new Mlp(train.features(), hidden, train.classes(), L2);
    Dataset probe = train.probeBatch(PROBE_BATCH, SPLIT_SEED);
    int[] first = new int[Math.min(TRAIN_EVAL, train.size())];
    Arrays.setAll(first, i -> i);
    return new Workload(name, model, train, split.test(), probe, train.subset(first), batchSize, maxSteps,
        rates.map());
  }
}
