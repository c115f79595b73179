package io.stepsize.schedule;

import java.util.Arrays;

/**
 * The step budget of a job and its phases (DESIGN.md §1.1): global steps are 0-based, warmup
 * covers {@code [0, W)}, and phase k in 1..K covers {@code [B_{k-1}, B_k)} with
 * {@code B_0 = W < B_1 < ... < B_K = T}.
 *
 * <p>{@code boundaries} lists B_1..B_K; an empty (or null) array means one phase ending at T.
 * The array is copied in and out, so a Budget is immutable. "Phase 0" is the warmup,
 * {@code [0, W)}, which is empty when W = 0.
 *
 * @param totalSteps T, at least 1
 * @param warmupSteps W, in [0, T)
 * @param boundaries B_1..B_K, strictly increasing, all above W, ending at T (or empty)
 * @param phaseOffset 0 or 1; 1 makes phase 1 rise (DESIGN.md §1.1)
 */
public record Budget(long totalSteps, long warmupSteps, long[] boundaries, int phaseOffset) {

  /**
   * The largest total_steps, 2^53: up to there a double still counts steps exactly (the schedule
   * computes θ from j / L_k in doubles), and step arithmetic such as {@code from_step + count}
   * cannot overflow a long.
   */
  public static final long MAX_TOTAL_STEPS = 1L << 53;

  private static final long[] NONE = new long[0];

  public Budget {
    if (totalSteps < 1) {
      throw Checks.invalid("total_steps", "must be >= 1", "got " + totalSteps);
    }
    if (totalSteps > MAX_TOTAL_STEPS) {
      throw Checks.invalid("total_steps", "must be <= 2^53 = " + MAX_TOTAL_STEPS
          + ", where a double still counts steps exactly", "got " + totalSteps);
    }
    if (warmupSteps < 0 || warmupSteps >= totalSteps) {
      throw Checks.invalid("warmup_steps", "must be >= 0 and < total_steps",
          "got " + warmupSteps + ", total_steps = " + totalSteps);
    }
    boundaries = boundaries == null || boundaries.length == 0 ? NONE : boundaries.clone();
    long previous = warmupSteps;
    for (int i = 0; i < boundaries.length; i++) {
      if (boundaries[i] <= previous) {
        String before = i == 0 ? "B_0 = warmup_steps = " + previous : "B_" + i + " = " + previous;
        throw Checks.invalid("phase_boundaries", "must be strictly increasing",
            "B_" + (i + 1) + " = " + boundaries[i] + " <= " + before);
      }
      previous = boundaries[i];
    }
    if (boundaries.length > 0 && boundaries[boundaries.length - 1] != totalSteps) {
      throw Checks.invalid("phase_boundaries", "must end at total_steps = " + totalSteps,
          "got " + boundaries[boundaries.length - 1]);
    }
    if (phaseOffset != 0 && phaseOffset != 1) {
      throw Checks.invalid("phase_offset", "must be 0 or 1", "got " + phaseOffset);
    }
  }

  /** One phase over {@code [W, T)}. */
  public static Budget of(long totalSteps, long warmupSteps) {
    return new Budget(totalSteps, warmupSteps, NONE, 0);
  }

  /** One phase over {@code [0, T)}, no warmup. */
  public static Budget of(long totalSteps) {
    return of(totalSteps, 0);
  }

  /** B_1..B_K as given (a copy; empty when the job has one phase ending at T). */
  @Override
  public long[] boundaries() {
    return boundaries.clone();
  }

  /** K, the number of phases after warmup (at least 1). */
  public int phases() {
    return boundaries.length == 0 ? 1 : boundaries.length;
  }

  /** B_{k-1}: the first step of phase k (k = 0 is the warmup, starting at 0; k = 1 starts at W). */
  public long phaseStart(int k) {
    checkPhase(k);
    if (k == 0) {
      return 0;
    }
    return k == 1 ? warmupSteps : boundaries[k - 2];
  }

  /** B_k: one past the last step of phase k (k = 0 is the warmup, ending at W). */
  public long phaseEnd(int k) {
    checkPhase(k);
    if (k == 0) {
      return warmupSteps;
    }
    return boundaries.length == 0 ? totalSteps : boundaries[k - 1];
  }

  /** L_k = B_k - B_{k-1}. */
  public long phaseLength(int k) {
    return phaseEnd(k) - phaseStart(k);
  }

  /** The phase of a step: 0 during warmup, else 1..K. Binary search, O(log K), no allocation. */
  public int phaseOf(long step) {
    checkStep(step);
    if (step < warmupSteps) {
      return 0;
    }
    if (boundaries.length == 0) {
      return 1;
    }
    // first boundary strictly above step; it exists because step < T = B_K
    int lo = 0;
    int hi = boundaries.length - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (boundaries[mid] > step) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo + 1;
  }

  /**
   * One past the last step of a window of {@code count} steps from {@code fromStep}, stopped at T:
   * {@code min(T, fromStep + count)} without overflow for any count ≥ 0 (fromStep in [0, T)).
   */
  public long windowEnd(long fromStep, long count) {
    return fromStep + windowCount(fromStep, count, 1);
  }

  /**
   * How many of the steps fromStep + i·stride, i < count, lie before T: {@code min(count,
   * ceil((T − fromStep) / stride))}, without overflow for any count ≥ 0 and stride ≥ 1 (fromStep in [0, T)).
   */
  public long windowCount(long fromStep, long count, long stride) {
    checkStep(fromStep);
    if (count < 0) {
      throw Checks.invalid("count", "must be >= 0", "got " + count);
    }
    if (stride < 1) {
      throw Checks.invalid("stride", "must be >= 1", "got " + stride);
    }
    return Math.min(count, (totalSteps - fromStep - 1) / stride + 1);
  }

  /** Throws unless {@code 0 <= step < T}. */
  public void checkStep(long step) {
    if (step < 0 || step >= totalSteps) {
      throw Checks.invalid("step", "must be in [0, total_steps = " + totalSteps + ")", "got " + step);
    }
  }

  private void checkPhase(int k) {
    if (k < 0 || k > phases()) {
      throw Checks.invalid("phase", "must be in [0, " + phases() + "]", "got " + k);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Budget b && b.totalSteps == totalSteps && b.warmupSteps == warmupSteps
        && b.phaseOffset == phaseOffset && Arrays.equals(b.boundaries, boundaries);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(totalSteps) * 31 * 31 * 31 + Long.hashCode(warmupSteps) * 31 * 31
        + Arrays.hashCode(boundaries) * 31 + phaseOffset;
  }

  @Override
  public String toString() {
    return "Budget[totalSteps=" + totalSteps + ", warmupSteps=" + warmupSteps + ", boundaries="
        + Arrays.toString(boundaries) + ", phaseOffset=" + phaseOffset + "]";
  }
}
