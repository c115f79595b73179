package io.stepsize.lab.demo;

import java.util.SplittableRandom;
import java.util.function.LongToDoubleFunction;

/**
 * Mini-batch SGD with heavy-ball momentum over a fixed step budget, the learning rate of every step
 * taken from an {@link LongToDoubleFunction}: a baseline, a local UBA schedule and the service's
 * live schedule all plug in alike, and with the same seed every run sees the same batches in the
 * same order, so the runs differ only by their learning rates.
 *
 * <p>Update (PyTorch's SGD convention, dampening 0): buf ← μ·buf + ∇loss(θ; batch_s),
 * θ ← θ − lr_s·buf.
 */
public final class Trainer {

  /**
   * @param steps the budget T (optimizer updates)
   * @param batchSize examples per step
   * @param momentum μ in [0, 1)
   * @param seed seeds the batch order (and the model's initial parameters)
   */
  public record Config(long steps, int batchSize, double momentum, long seed) {
    public Config {
      if (steps < 1 || batchSize < 1 || !(momentum >= 0 && momentum < 1)) {
        throw new IllegalArgumentException("need steps >= 1, batchSize >= 1, momentum in [0, 1); got "
            + steps + ", " + batchSize + ", " + momentum);
      }
    }
  }

  /** Hooks around each step; both run on the training thread. */
  public interface Listener {
    /** Before step s's gradient, at the weights that step starts from (where probes are taken). */
    default void beforeStep(long step, double[] params) {}

    /** After the update of step s with its lr and the batch loss at the weights before the update. */
    default void afterStep(long step, double lr, double batchLoss) {}
  }

  private final Model model;
  private final Dataset train;
  private final Config config;

  public Trainer(Model model, Dataset train, Config config) {
    if (config.batchSize() > train.size()) {
      throw new IllegalArgumentException("batch size " + config.batchSize() + " > training set " + train.size());
    }
    this.model = model;
    this.train = train;
    this.config = config;
  }

  public Config config() {
    return config;
  }

  /** Runs the whole budget and returns the final parameters. */
  public double[] train(LongToDoubleFunction lr, Listener listener) {
    int n = model.dimension();
    double[] params = model.initialParameters(config.seed());
    double[] gradient = new double[n];
    double[] buffer = new double[n];
    int perEpoch = train.size() / config.batchSize();
    int[] order = null;
    long epoch = -1;
    int[] indices = new int[config.batchSize()];
    for (long s = 0; s < config.steps(); s++) {
      // drop-last epochs, each a fresh seeded shuffle: batch s is the same in every run
      long e = s / perEpoch;
      if (e != epoch) {
        epoch = e;
        order = Dataset.permutation(train.size(), new SplittableRandom(config.seed() * 1_000_003L + e));
      }
      int from = (int) (s % perEpoch) * config.batchSize();
      System.arraycopy(order, from, indices, 0, indices.length);
      Dataset batch = train.subset(indices);

      listener.beforeStep(s, params);
      double rate = lr.applyAsDouble(s);
      if (!Double.isFinite(rate) || rate < 0) {
        throw new IllegalStateException("learning rate of step " + s + " is " + rate);
      }
      double loss = model.lossAndGradient(params, batch, gradient);
      for (int k = 0; k < n; k++) {
        buffer[k] = config.momentum() * buffer[k] + gradient[k];
        params[k] -= rate * buffer[k];
      }
      listener.afterStep(s, rate, loss);
    }
    return params;
  }

  /** A fixed batch of {@code size} training examples for the probes (its own seed, not a training batch). */
  public static Dataset probeBatch(Dataset train, int size, long seed) {
    int[] order = Dataset.permutation(train.size(), new SplittableRandom(seed ^ 0x5DEECE66DL));
    int[] pick = new int[Math.min(size, train.size())];
    System.arraycopy(order, 0, pick, 0, pick.length);
    return train.subset(pick);
  }
}
