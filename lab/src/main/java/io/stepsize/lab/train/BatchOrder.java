package io.stepsize.lab.train;

import java.util.SplittableRandom;

/**
 * Which examples each step trains on: drop-last epochs of {@code batchSize} examples, each epoch a
 * fresh shuffle seeded by (seed, epoch), so batch s is the same in every run of the seed whatever
 * the run does between steps.
 */
public final class BatchOrder {
  private final int size;
  private final int batchSize;
  private final long seed;
  private final int perEpoch;
  private long epoch = -1;
  private int[] order;

  public BatchOrder(int size, int batchSize, long seed) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    if (batchSize > size) {
      throw new IllegalArgumentException("batch size " + batchSize + " > training set " + size);
    }
    this.size = size;
    this.batchSize = batchSize;
    this.seed = seed;
    this.perEpoch = size / batchSize;
  }

  /** The indices of step s's batch (a fresh array); asked in step order, it shuffles once an epoch. */
  public int[] batch(long step) {
    long e = step / perEpoch;
    if (e != epoch) {
      epoch = e;
      order = permutation(size, new SplittableRandom(seed * 1_000_003L + e));
    }
    int[] indices = new int[batchSize];
    System.arraycopy(order, (int) (step % perEpoch) * batchSize, indices, 0, batchSize);
    return indices;
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
}
