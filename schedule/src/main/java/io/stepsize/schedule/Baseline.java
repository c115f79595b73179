package io.stepsize.schedule;

import java.util.Locale;

/**
 * The schedules UBA is compared with, each as its authors define it, as a normalized factor
 * g(t) in [0, 1] of the post-warmup step t = s - W over the post-warmup budget T' = T - W.
 *
 * <p>One mapping for all: {@code lr = lr_min + (lr_max - lr_min)·g}. With lr_min = 0 this is each
 * author's formula with peak lr_max exactly; cosine's own eta_min plays the role of lr_min. Where
 * a formula is written in progress z = t/T (cosine, linear, REX, WSD), it is sampled at t = 0..T'-1,
 * so the end value is reached at t = T', one step past the budget, as in the papers; step, OneCycle,
 * cyclic and exponential say below where they end. Baselines ignore phase boundaries: they span
 * the whole post-warmup budget. Warmup is the job's, shared with UBA ({@link LrEvaluator#evaluate(JobSchedule, Baseline, long)}).
 */
public enum Baseline {
  /** g = 1. */
  CONSTANT,
  /** Step decay: g = 1, then ×0.1 from 50% of the budget (2t >= T'), ×0.01 from 75% (4t >= 3T'). */
  STEP,
  /**
   * Cosine annealing without restarts, Loshchilov &amp; Hutter, "SGDR" (ICLR 2017), eq. 5 with
   * T_i = T': g = (1 + cos(pi·t/T'))/2 (as PyTorch's CosineAnnealingLR with T_max = T').
   */
  COSINE,
  /**
   * Linear decay to zero at the end of the budget, Li, Yumer &amp; Ramanan, "Budgeted training:
   * rethinking deep neural network training under resource constraints" (ICLR 2020): g = 1 - t/T'.
   */
  LINEAR,
  /**
   * REX, Chen, Wolfe &amp; Kyrillidis, "REX: Revisiting budgeted training with an improved schedule"
   * (MLSys 2022): g = (1 - z)/(1/2 + (1 - z)/2), z = t/T'.
   */
  REX,
  /**
   * One-cycle, Smith &amp; Topin, "Super-convergence" (2019), exactly as PyTorch's OneCycleLR with
   * its defaults (cosine annealing, pct_start 0.3, div_factor 25, final_div_factor 1e4,
   * three_phase false) and total_steps = T': phase 1 anneals from max/25 up to max over steps
   * [0, 0.3·T' - 1], phase 2 from max down to max/(25·1e4) at T' - 1. g is PyTorch's lr divided by
   * max_lr, so g runs 0.04 → 1 → 4e-6 and lr = lr_max·g exactly when lr_min = 0.
   */
  ONECYCLE,
  /**
   * Triangular cyclical learning rate, Smith, "Cyclical learning rates for training neural
   * networks" (WACV 2017), with half-cycle (stepsize) T'/4: two full cycles over the budget,
   * starting and ending at lr_min (Smith advises stopping at the end of a cycle):
   * cycle = floor(1 + t/(2·stepsize)), x = |t/stepsize - 2·cycle + 1|, g = max(0, 1 - x).
   */
  CYCLIC,
  /**
   * Warmup-stable-decay: Hu et al., "MiniCPM" (2024); Hägele et al., "Scaling laws and
   * compute-optimal training beyond fixed training durations" (NeurIPS 2024), with the latter's
   * recommended cooldown: the last D = ceil(T'/5) steps (20%) decay as 1-sqrt,
   * g = 1 - sqrt((t - (T' - D))/D); g = 1 before (the warmup is the job's own).
   */
  WSD,
  /**
   * Exponential decay g = gamma^t with gamma = 0.01^(1/(T' - 1)): the classic lr_0·gamma^t whose
   * excess over lr_min falls 100-fold over the budget, reaching g = 0.01 at the last step T' - 1.
   */
  EXPONENTIAL;

  /** Final factor of {@link #EXPONENTIAL} at its last step. */
  public static final double EXPONENTIAL_FINAL = 0.01;

  /** The DESIGN.md §5.1 name: constant, step, cosine, linear, rex, onecycle, cyclic, wsd, exponential. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The baseline with this DESIGN.md §5.1 name (case-insensitive). */
  public static Baseline byName(String name) {
    if (name != null) {
      for (Baseline b : values()) {
        if (b.label().equalsIgnoreCase(name.trim())) {
          return b;
        }
      }
    }
    StringBuilder names = new StringBuilder();
    for (Baseline b : values()) {
      names.append(names.length() == 0 ? "" : ", ").append(b.label());
    }
    throw Checks.invalid("baseline", "must be one of " + names, "got " + name);
  }

  /** g(t) for post-warmup step t in [0, T'), budget T' >= 1. */
  public double factor(long step, long totalSteps) {
    if (totalSteps < 1) {
      throw Checks.invalid("total_steps", "must be >= 1", "got " + totalSteps);
    }
    if (step < 0 || step >= totalSteps) {
      throw Checks.invalid("step", "must be in [0, total_steps = " + totalSteps + ")", "got " + step);
    }
    double t = step;
    double n = totalSteps;
    double z = t / n;
    switch (this) {
      case CONSTANT:
        return 1;
      case STEP:
        return 2 * step < totalSteps ? 1 : 4 * step < 3 * totalSteps ? 0.1 : 0.01;
      case COSINE:
        return 0.5 * (1 + Math.cos(Math.PI * z));
      case LINEAR:
        return 1 - z;
      case REX:
        return (1 - z) / (0.5 + 0.5 * (1 - z));
      case ONECYCLE:
        return oneCycle(t, n);
      case CYCLIC: {
        double stepsize = n / 4;
        double cycle = Math.floor(1 + t / (2 * stepsize));
        double x = Math.abs(t / stepsize - 2 * cycle + 1);
        return Math.max(0, 1 - x);
      }
      case WSD: {
        long decay = (totalSteps + 4) / 5;
        long start = totalSteps - decay;
        return step < start ? 1 : 1 - Math.sqrt((double) (step - start) / decay);
      }
      case EXPONENTIAL:
        // gamma^t = 0.01^(t/(T'-1)); a one-step budget has nothing to decay
        return totalSteps == 1 ? 1 : Math.pow(EXPONENTIAL_FINAL, t / (n - 1));
      default:
        throw new AssertionError(this);
    }
  }

  /** PyTorch OneCycleLR.get_lr() for step t of n, divided by max_lr (defaults, cos annealing). */
  private static double oneCycle(double t, double n) {
    double initial = 1.0 / 25;
    double last = initial / 1e4;
    double[] ends = {0.3 * n - 1, n - 1};
    double[] from = {initial, 1};
    double[] to = {1, last};
    double start = 0;
    for (int i = 0; i < 2; i++) {
      if (t <= ends[i] || i == 1) {
        double span = ends[i] - start;
        double pct = span == 0 ? 1 : (t - start) / span;
        return to[i] + (from[i] - to[i]) / 2 * (Math.cos(Math.PI * pct) + 1);
      }
      start = ends[i];
    }
    throw new AssertionError();
  }
}
