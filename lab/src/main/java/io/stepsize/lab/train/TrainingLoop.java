package io.stepsize.lab.train;

/**
 * The lab's one training loop, shared by the demo and the experiments: mini-batch updates over a
 * fixed step budget in the {@link BatchOrder} of a seed. With the same seed every run sees the same
 * batches in the same order from the same start, so runs that differ in their learning rates differ
 * only by them. What a caller varies is passed in: where each step's learning rate comes from (a
 * baseline, a local schedule, the service), the optimizer's update, a hook before each step (where
 * curvature probes are taken) and an observer of each step's rate and loss.
 *
 * <p>Step s, in this order: pick batch s; {@link ProbeHook#beforeStep} at the weights step s starts
 * from; ask {@link RateSource#lr} for step s's rate; compute the batch loss and its gradient;
 * {@link StepObserver#afterLoss}; apply the update. A hook may block (waiting for the service's
 * estimate of a probe it just sent), so the rate of a step can depend on every probe before it.
 */
public final class TrainingLoop {

  /**
   * @param steps the budget T (optimizer updates)
   * @param batchSize examples per step
   * @param seed seeds the batch order
   * @param stopOnDivergence end the run at the first step whose loss or gradient is not finite
   *     (that step's update is not applied); when false the loop runs the whole budget whatever the values
   */
  public record Config(long steps, int batchSize, long seed, boolean stopOnDivergence) {
    public Config {
      if (steps < 1 || batchSize < 1) {
        throw new IllegalArgumentException("need steps >= 1 and batchSize >= 1; got " + steps + ", " + batchSize);
      }
    }
  }

  /** The training objective on a batch, given as indices into the training set. */
  @FunctionalInterface
  public interface Objective {
    /** The loss at {@code params} on the examples {@code batch}; writes its gradient into {@code gradient}. */
    double lossAndGradient(double[] params, int[] batch, double[] gradient);
  }

  /** Where each step's learning rate comes from. */
  @FunctionalInterface
  public interface RateSource {
    double lr(long step) throws InterruptedException;
  }

  /** Runs before step s's rate and gradient, at the weights that step starts from (never keep the array). */
  @FunctionalInterface
  public interface ProbeHook {
    ProbeHook NONE = (step, params) -> {};

    void beforeStep(long step, double[] params) throws InterruptedException;
  }

  /** Sees every step's rate and its batch loss at the weights before its update. */
  @FunctionalInterface
  public interface StepObserver {
    StepObserver NONE = (step, lr, batchLoss) -> {};

    /** Called once the loss of step s is known, before its update (also for a step that diverged). */
    void afterLoss(long step, double lr, double batchLoss);

    /** Called after {@link #afterLoss} with the batch gradient the update will use (never keep the array). */
    default void afterGradient(long step, double batchLoss, double[] gradient) {}
  }

  /**
   * @param params the final parameters (the start array, updated in place)
   * @param stepsRun the updates applied: the budget, or the step that diverged
   * @param diverged whether the run stopped at a non-finite loss or gradient
   */
  public record Outcome(double[] params, long stepsRun, boolean diverged) {}

  private final Config config;
  private final BatchOrder order;

  /** A loop over a training set of {@code trainSize} examples. */
  public TrainingLoop(Config config, int trainSize) {
    this.config = config;
    this.order = new BatchOrder(trainSize, config.batchSize(), config.seed());
  }

  public Config config() {
    return config;
  }

  /**
   * Trains from {@code params} (updated in place) for the budget. The calls on the hooks happen on
   * this thread, in the order the class comment gives.
   */
  public Outcome run(double[] params, Objective objective, Update update, RateSource rates, ProbeHook probe,
      StepObserver observer) throws InterruptedException {
    double[] gradient = new double[params.length];
    for (long s = 0; s < config.steps(); s++) {
      int[] batch = order.batch(s);
      probe.beforeStep(s, params);
      double lr = rates.lr(s);
      if (!Double.isFinite(lr) || lr < 0) {
        throw new IllegalStateException("learning rate of step " + s + " is " + lr);
      }
      double loss = objective.lossAndGradient(params, batch, gradient);
      observer.afterLoss(s, lr, loss);
      observer.afterGradient(s, loss, gradient);
      if (config.stopOnDivergence() && (!Double.isFinite(loss) || !allFinite(gradient))) {
        return new Outcome(params, s, true);
      }
      update.apply(params, gradient, lr);
    }
    return new Outcome(params, config.steps(), false);
  }

  /** Whether every entry of {@code v} is finite. */
  public static boolean allFinite(double[] v) {
    for (double x : v) {
      if (!Double.isFinite(x)) {
        return false;
      }
    }
    return true;
  }
}
