package io.stepsize.lab.demo;

import io.stepsize.lab.train.BatchOrder;
import java.util.SplittableRandom;

/**
 * A classification data set held in memory: one feature row per example and its class. Rows are
 * shared, not copied, by {@link #subset} and {@link #split}: nothing here modifies them.
 *
 * @param x features, one row of length {@link #features()} per example
 * @param y class labels in [0, classes)
 * @param classes the number of classes
 */
public record Dataset(double[][] x, int[] y, int classes) {

  public Dataset {
    if (x.length != y.length) {
      throw new IllegalArgumentException("x and y must have the same length, got " + x.length + " and " + y.length);
    }
    if (x.length == 0) {
      throw new IllegalArgumentException("a data set needs at least one example");
    }
    for (int label : y) {
      if (label < 0 || label >= classes) {
        throw new IllegalArgumentException("label " + label + " outside [0, " + classes + ")");
      }
    }
  }

  public int size() {
    return y.length;
  }

  public int features() {
    return x[0].length;
  }

  /** The examples at {@code indices}, in that order. */
  public Dataset subset(int[] indices) {
    double[][] xs = new double[indices.length][];
    int[] ys = new int[indices.length];
    for (int i = 0; i < indices.length; i++) {
      xs[i] = x[indices[i]];
      ys[i] = y[indices[i]];
    }
    return new Dataset(xs, ys, classes);
  }

  /** A fixed train/test split: a seeded shuffle, the first {@code testSize} examples for test. */
  public Split split(long seed, int testSize) {
    if (testSize < 1 || testSize >= size()) {
      throw new IllegalArgumentException("testSize must be in [1, " + size() + "), got " + testSize);
    }
    int[] order = BatchOrder.permutation(size(), new SplittableRandom(seed));
    int[] test = new int[testSize];
    int[] train = new int[size() - testSize];
    System.arraycopy(order, 0, test, 0, testSize);
    System.arraycopy(order, testSize, train, 0, train.length);
    return new Split(subset(train), subset(test));
  }

  /**
   * A fixed sample of {@code size} examples (all when there are fewer) for curvature probes; its seed
   * is mixed so the sample is not the first batch a training run of the same seed sees.
   */
  public Dataset probeBatch(int size, long seed) {
    int[] order = BatchOrder.permutation(size(), new SplittableRandom(seed ^ 0x5DEECE66DL));
    int[] pick = new int[Math.min(size, size())];
    System.arraycopy(order, 0, pick, 0, pick.length);
    return subset(pick);
  }

  /** The two halves of a split. */
  public record Split(Dataset train, Dataset test) {}
}
