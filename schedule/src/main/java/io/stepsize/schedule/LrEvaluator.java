package io.stepsize.schedule;

/**
 * The learning rate of a step: a pure function of (job, step, curvature timeline), DESIGN.md §1.3.
 *
 * <p>Which phi:
 * <ul>
 *   <li>{@code fixed}: its phi, Source FIXED; the timeline is not read.
 *   <li>{@code condition_number}: phi = clamp(scale·(2κ_eff)^exponent, ...) with κ_eff = λ_max/λ_low
 *       of the estimate that applies to s ({@code live}) or to the first step of s's phase
 *       ({@code latched}), Source CURVATURE.
 *   <li>{@code chebyshev}: phi = 2κ_eff and the range [1/λ_max, 1/λ_low] instead of [lr_min, lr_max]
 *       (Proposition 1), from the estimate that applies to s (live: a new estimate takes effect
 *       at once rather than waiting for the next phase, which with the default single phase would
 *       be never). Parameter groups keep their ratio to the job: lr_g = lr·lr_max_g/lr_max (lr
 *       itself when lr_max = 0), since the Chebyshev range is a property of the loss, not of a group.
 *   <li>No applying estimate, or one whose λ_low is not > 0: fallback_phi over [lr_min, lr_max],
 *       Source FALLBACK, with a note saying why.
 * </ul>
 * Warmup steps (s < W) are lr_g = lr_max_g·(s + 1)/W under every policy (chebyshev too: the
 * warmup ramps to the job's lr_max), Source WARMUP, factor (s + 1)/W; phi reports what the policy
 * holds at that step.
 *
 * <p>{@link #evaluate} is the hot path of GetLearningRate: it allocates the LrValue and, when the
 * job has groups, its group array, nothing else (notes are constants; the search is allocation-free).
 */
public final class LrEvaluator {
  private LrEvaluator() {}

  /** Note when no estimate applies to the step yet. */
  public static final String NOTE_NO_ESTIMATE = "no curvature estimate applies to this step yet; fallback_phi used";
  /** Note when the applying estimate's lower edge is not positive (or the ratio overflows). */
  public static final String NOTE_NO_CONDITION_NUMBER =
      "the applying curvature estimate has lambda_low <= 0 (no condition number, see lambda_low); fallback_phi used";
  /** Note when chebyshev's range 1/lambda_low overflows. */
  public static final String NOTE_RANGE_OVERFLOW =
      "chebyshev: 1/lambda_low is not finite; fallback_phi used";

  private static final double[] NO_GROUPS = new double[0];

  /** The learning rate of {@code step} (in [0, total_steps)) given the estimates so far. */
  public static LrValue evaluate(JobSchedule job, long step, CurvatureTimeline timeline) {
    Budget budget = job.budget();
    int phase = budget.phaseOf(step); // also rejects steps outside [0, T)
    CurvatureTimeline estimates = timeline == null ? CurvatureTimeline.EMPTY : timeline;
    PhiPolicy policy = job.policy();

    double phi = job.fallbackPhi();
    Source source = Source.FALLBACK;
    String note = "";
    double top = job.lrMax();
    double bottom = job.lrMin();
    boolean chebyshevRange = false;
    double kappa = 0;
    double lambdaLow = 0;
    double lambdaMax = 0;
    long curvatureStep = -1;

    if (policy instanceof PhiPolicy.Fixed fixed) {
      phi = fixed.phi();
      source = Source.FIXED;
    } else {
      long reference = policy instanceof PhiPolicy.ConditionNumber cn && cn.mode() == PhiMode.LATCHED
          ? budget.phaseStart(phase) : step;
      CurvaturePoint point = estimates.applyingTo(reference);
      if (point == null) {
        note = NOTE_NO_ESTIMATE;
      } else if (!point.hasConditionNumber()) {
        note = NOTE_NO_CONDITION_NUMBER;
        lambdaLow = point.lambdaLow();
        lambdaMax = point.lambdaMax();
      } else if (policy instanceof PhiPolicy.ConditionNumber cn) {
        kappa = point.kappaEff();
        phi = cn.phiFor(kappa);
        source = Source.CURVATURE;
      } else if (!Double.isFinite(1 / point.lambdaLow())) {
        note = NOTE_RANGE_OVERFLOW;
        lambdaLow = point.lambdaLow();
        lambdaMax = point.lambdaMax();
      } else { // chebyshev, Proposition 1
        kappa = point.kappaEff();
        phi = 2 * kappa;
        top = 1 / point.lambdaLow();
        bottom = 1 / point.lambdaMax();
        chebyshevRange = true;
        source = Source.CURVATURE;
      }
      if (source == Source.CURVATURE) {
        lambdaLow = point.lambdaLow();
        lambdaMax = point.lambdaMax();
        curvatureStep = point.step();
      }
    }

    var groups = job.groups();
    double[] groupLrs = groups.isEmpty() ? NO_GROUPS : new double[groups.size()];
    double factor;
    double lr;
    if (phase == 0) {
      // linear warmup reaching lr_max at the last warmup step s = W - 1
      factor = (double) (step + 1) / budget.warmupSteps();
      lr = job.lrMax() * factor;
      for (int g = 0; g < groupLrs.length; g++) {
        groupLrs[g] = groups.get(g).lrMax() * factor;
      }
      source = Source.WARMUP;
    } else {
      factor = Uba.factorInPhase(phi, budget, step, phase);
      lr = bottom + (top - bottom) * factor;
      for (int g = 0; g < groupLrs.length; g++) {
        ParamGroup group = groups.get(g);
        if (chebyshevRange) {
          groupLrs[g] = job.lrMax() == 0 ? lr : lr * (group.lrMax() / job.lrMax());
        } else {
          groupLrs[g] = group.lrMin() + (group.lrMax() - group.lrMin()) * factor;
        }
      }
    }
    return new LrValue(step, lr, groupLrs, factor, phi, phase, kappa, lambdaLow, lambdaMax,
        curvatureStep, source, note);
  }

  /**
   * A baseline's learning rate for the job's budget, warmup and groups: warmup as for UBA, then
   * lr_g = lr_min_g + (lr_max_g - lr_min_g)·g(s - W) over T - W steps. Source FIXED, phi 0, no
   * curvature. The job's phi policy is not read.
   */
  public static LrValue evaluate(JobSchedule job, Baseline baseline, long step) {
    Budget budget = job.budget();
    int phase = budget.phaseOf(step);
    long warmup = budget.warmupSteps();
    var groups = job.groups();
    double[] groupLrs = groups.isEmpty() ? NO_GROUPS : new double[groups.size()];
    double factor;
    double lr;
    Source source;
    if (phase == 0) {
      factor = (double) (step + 1) / warmup;
      lr = job.lrMax() * factor;
      for (int g = 0; g < groupLrs.length; g++) {
        groupLrs[g] = groups.get(g).lrMax() * factor;
      }
      source = Source.WARMUP;
    } else {
      factor = baseline.factor(step - warmup, budget.totalSteps() - warmup);
      lr = job.lrMin() + (job.lrMax() - job.lrMin()) * factor;
      for (int g = 0; g < groupLrs.length; g++) {
        ParamGroup group = groups.get(g);
        groupLrs[g] = group.lrMin() + (group.lrMax() - group.lrMin()) * factor;
      }
      source = Source.FIXED;
    }
    return new LrValue(step, lr, groupLrs, factor, 0, phase, 0, 0, 0, -1, source, "");
  }
}
