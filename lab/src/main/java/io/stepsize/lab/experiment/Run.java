package io.stepsize.lab.experiment;

import java.util.List;

/** One cell of the grid and what it measured. */
public final class Run {
  private Run() {}

  /**
   * @param index position in the grid (the order of the tables)
   * @param budgetPercent 25, 50 or 100 (% of the workload's maximum)
   * @param totalSteps T
   * @param warmupSteps W, shared by every arm (baselines too)
   * @param jobId the service job (empty for baselines)
   */
  public record Spec(int index, Workload workload, OptimizerKind optimizer, int budgetPercent, long totalSteps,
      long warmupSteps, long seed, Arm arm, String jobId) {

    public String describe() {
      return workload.name() + "/" + optimizer.label() + "/" + budgetPercent + "%/seed" + seed + "/" + arm.label();
    }
  }

  /**
   * One probe of a run: the raw Ritz view and the service's (EWMA-smoothed) estimate after it.
   *
   * @param step the probe's step
   * @param raw what the Ritz values of this probe alone say
   * @param lambdaMin the service's λ_min after this probe
   * @param lambdaLow the service's λ_low
   * @param lambdaMax the service's λ_max
   * @param kappa the service's κ_eff = λ_max/λ_low (0 when none)
   * @param phase the phase the estimate belongs to
   */
  public record Probe(long step, RitzStats raw, double lambdaMin, double lambdaLow, double lambdaMax,
      double kappa, long phase) {}

  /**
   * @param lr the learning rate of every step (from the service for UBA arms)
   * @param phi the service's phi of every step (NaN for baselines and warmup steps)
   * @param kappa the κ the service's answer for each step carried (0 when none; fixed arms report none)
   * @param batchLoss the loss of each step's batch before its update
   * @param diverged true when the loss stopped being finite (training stopped there)
   * @param stepsRun steps actually trained
   */
  public record Result(Spec spec, double[] lr, double[] phi, double[] kappa, double[] batchLoss,
      List<Probe> probes, double trainLoss, double testLoss, double testAccuracy, boolean diverged, long stepsRun,
      long wallMillis) {}
}
