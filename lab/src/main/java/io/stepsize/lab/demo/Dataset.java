package io.stepsize.lab.demo;

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
    int[] order = permutation(size(), new SplittableRandom(seed));
    int[] test = new int[testSize];
    int[] train = new int[size() - testSize];
    System.arraycopy(order, 0, test, 0, testSize);
    System.arraycopy(order, testSize, train, 0, train.length);
    return new Split(subset(train), subset(test));
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  public static int[] permutation(int n, SplittableRandom random) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** The two halves of a split. */
  public record Split(Dataset train, Dataset test) {}
}
