package io.stepsize.lab.demo;

import io.stepsize.lab.train.TrainingLoop;
import java.util.Locale;

/**
 * Everything one {@code stepsize demo} run is made of. Validation messages start with the
 * command-line flag they concern, so the CLI can hand them to the user as they are.
 *
 * @param model "softmax" or "mlp"
 * @param steps the budget T (SGD updates), the job's total_steps
 * @param batchSize examples per step
 * @param momentum heavy-ball μ
 * @param lrMax the job's lr_max (the peak of every schedule compared)
 * @param lrMin the job's lr_min (the floor of every schedule compared)
 * @param l2 L2 coefficient of the objective; it bounds λ_min of softmax regression from below
 * @param hidden hidden units of the MLP (ignored for softmax)
 * @param probeEvery a Lanczos probe at every step s with s % probeEvery == 0
 * @param lanczosSteps m, the Lanczos steps of one probe
 * @param probeBatch examples in the fixed probe batch
 * @param phiScale condition_number's scale (φ = scale·(2κ)^exponent)
 * @param phiExponent condition_number's exponent
 * @param fixedPhi φ of the fixed-φ UBA baseline (the paper's SGD choice is 5)
 * @param seed seeds the batch order, the initial weights and the probes' start vectors
 * @param estimateTimeoutMillis how long a step waits for the service to see a probe's estimate
 */
public record DemoSettings(String model, long steps, int batchSize, double momentum, double lrMax, double lrMin,
    double l2, int hidden, long probeEvery, int lanczosSteps, int probeBatch, double phiScale,
    double phiExponent, double fixedPhi, long seed, long estimateTimeoutMillis) {

  /** Examples held out for the test accuracy: about 22% of the 1,797 digits. */
  public static final int TEST_SIZE = 397;
  /** The split's own seed: every run, whatever its --seed, is scored on the same test images. */
  public static final long SPLIT_SEED = 1_797;

  public DemoSettings {
    model = model == null ? "" : model.toLowerCase(Locale.ROOT);
    require("--model", model.equals("softmax") || model.equals("mlp"), "must be softmax or mlp", model);
    // a budget of at least 2 steps: with one step every schedule is the same single lr_max
    require("--steps", steps >= 2 && steps <= 1_000_000, "must be in [2, 1000000]", steps);
    require("--batch-size", batchSize >= 1 && batchSize <= Digits.SIZE - TEST_SIZE,
        "must be in [1, " + (Digits.SIZE - TEST_SIZE) + "]", batchSize);
    require("--momentum", momentum >= 0 && momentum < 1, "must be in [0, 1)", momentum);
    require("--lr-max", lrMax > 0 && Double.isFinite(lrMax), "must be finite and > 0", lrMax);
    require("--lr-min", lrMin >= 0 && lrMin <= lrMax, "must be in [0, lr-max = " + lrMax + "]", lrMin);
    require("--l2", l2 >= 0 && Double.isFinite(l2), "must be finite and >= 0", l2);
    require("--hidden", hidden >= 1 && hidden <= 4096, "must be in [1, 4096]", hidden);
    require("--probe-every", probeEvery >= 1, "must be >= 1", probeEvery);
    require("--lanczos-steps", lanczosSteps >= 2 && lanczosSteps <= 1000, "must be in [2, 1000]", lanczosSteps);
    require("--probe-batch", probeBatch >= 1 && probeBatch <= Digits.SIZE - TEST_SIZE,
        "must be in [1, " + (Digits.SIZE - TEST_SIZE) + "]", probeBatch);
    require("--phi-scale", phiScale > 0 && Double.isFinite(phiScale), "must be finite and > 0", phiScale);
    require("--phi-exponent", Double.isFinite(phiExponent), "must be finite", phiExponent);
    require("--fixed-phi", fixedPhi > 0 && Double.isFinite(fixedPhi), "must be finite and > 0", fixedPhi);
    require("--estimate-timeout", estimateTimeoutMillis >= 0, "must be >= 0 ms", estimateTimeoutMillis);
  }

  /**
   * The defaults of {@code stepsize demo --model NAME}: 1,000 steps of batch 64 with momentum 0.9,
   * a probe every 50 steps (m = 20 on 256 examples), φ = 0.2κ (the condition_number default, docs/EXPERIMENTS.md), UBA φ = 5 as
   * the fixed baseline. lr_max is below the heavy-ball stability limit 2(1 + μ)/λ_max for the λ_max
   * these models reach on digits (about 1.1 at the start for softmax, 2.1 for the MLP).
   */
  public static DemoSettings defaults(String model) {
    boolean mlp = "mlp".equalsIgnoreCase(model);
    double lrMax = mlp ? 0.5 : 1.0;
    return new DemoSettings(model, 1_000, 64, 0.9, lrMax, lrMax / 100, 1e-4, 32, 50, 20, 256,
        io.stepsize.schedule.PhiPolicy.ConditionNumber.DEFAULT_SCALE, 1, 5, 1, 10_000);
  }

  public DemoSettings withSteps(long newSteps, long newProbeEvery) {
    return new DemoSettings(model, newSteps, batchSize, momentum, lrMax, lrMin, l2, hidden, newProbeEvery,
        lanczosSteps, probeBatch, phiScale, phiExponent, fixedPhi, seed, estimateTimeoutMillis);
  }

  /**
   * The step at which the live run revises its job: half the budget, where a person watching the
   * loss still fall would decide to train longer (DESIGN.md §1.5).
   */
  public long revisionStep() {
    return steps / 2;
  }

  /** The live run's budget after its revision: the original one extended by 50%. */
  public long revisedSteps() {
    return steps + steps / 2;
  }

  /** The model these settings describe, for the 64 pixels and 10 classes of digits. */
  public Model newModel() {
    return model.equals("mlp") ? new Mlp(Digits.PIXELS, hidden, Digits.CLASSES, l2)
        : new SoftmaxRegression(Digits.PIXELS, Digits.CLASSES, l2);
  }

  /** The loop of every demo run: the budget, batch and seed; it runs the whole budget whatever the loss. */
  public TrainingLoop.Config loopConfig() {
    return new TrainingLoop.Config(steps, batchSize, seed, false);
  }

  /** Whether step s is probed. */
  public boolean probesAt(long step) {
    return step % probeEvery == 0;
  }

  private static void require(String flag, boolean ok, String rule, Object got) {
    if (!ok) {
      throw new IllegalArgumentException(flag + ": " + rule + " (got " + got + ")");
    }
  }
}
