package io.stepsize.schedule;

/**
 * The learning rate of a step: a pure function of (job, step, curvature timeline), DESIGN.md §1.3.
 *
 * <p>Which phi: each {@link PhiPolicy} says in its {@link PhiPolicy#evaluate} ({@code fixed}: its
 * phi, Source FIXED; {@code condition_number}: clamp(scale·(2κ_eff)^exponent, ...), Source CURVATURE;
 * {@code chebyshev}: Proposition 1, phi = 2κ_eff over [1/λ_max, 1/λ_low]). Here live the parts they
 * share: no applying estimate, or one whose λ_low is not > 0, gives fallback_phi over
 * [lr_min, lr_max], Source FALLBACK, with a note saying why.
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

  /**
   * The learning rate of {@code step} (in [0, total_steps)) given the estimates so far, for a job
   * without revisions. A job in {@code continuous} mode is planned here from scratch at every call;
   * a {@link JobPlan} keeps that plan per timeline and answers as fast as the other modes.
   */
  public static LrValue evaluate(JobSchedule job, long step, CurvatureTimeline timeline) {
    if (JobPlan.continuous(job)) {
      return JobPlan.of(job, java.util.List.of()).evaluate(step, timeline);
    }
    int phase = job.budget().phaseOf(step); // also rejects steps outside [0, T)
    return job.policy().evaluate(job, step, phase, timeline == null ? CurvatureTimeline.EMPTY : timeline, null, 0,
        StabilityMargin.DEFAULT);
  }

  /** A phi that reads no estimate (a fixed policy) over [lr_min, lr_max]. */
  static LrValue value(JobSchedule job, long step, int phase, double phi, Source source, Replan replan,
      int revision, StabilityMargin margin, CurvatureTimeline estimates) {
    return value(job, step, phase, phi, job.lrMax(), job.lrMin(), false, 0, 0, 0, -1, source, "", replan,
        revision, margin, estimates);
  }

  /** A phi (and range) from the estimate {@code point}, which has a condition number: Source CURVATURE. */
  static LrValue value(JobSchedule job, long step, int phase, double phi, double top, double bottom,
      boolean chebyshevRange, double kappa, CurvaturePoint point, Replan replan, int revision,
      StabilityMargin margin, CurvatureTimeline estimates) {
    return value(job, step, phase, phi, top, bottom, chebyshevRange, kappa, point.lambdaLow(), point.lambdaMax(),
        point.step(), Source.CURVATURE, "", replan, revision, margin, estimates);
  }

  /**
   * fallback_phi over [lr_min, lr_max], Source FALLBACK: no estimate applies ({@code point} null), or
   * the applying one has no condition number (its lambdas are reported so the caller sees why).
   */
  static LrValue fallback(JobSchedule job, long step, int phase, CurvaturePoint point, Replan replan,
      int revision, StabilityMargin margin, CurvatureTimeline estimates) {
    return point == null
        ? value(job, step, phase, job.fallbackPhi(), job.lrMax(), job.lrMin(), false, 0, 0, 0, -1, Source.FALLBACK,
            NOTE_NO_ESTIMATE, replan, revision, margin, estimates)
        : fallback(job, step, phase, point, NOTE_NO_CONDITION_NUMBER, replan, revision, margin, estimates);
  }

  /** fallback_phi over [lr_min, lr_max] although {@code point} applies, for the reason {@code note}. */
  static LrValue fallback(JobSchedule job, long step, int phase, CurvaturePoint point, String note,
      Replan replan, int revision, StabilityMargin margin, CurvatureTimeline estimates) {
    return value(job, step, phase, job.fallbackPhi(), job.lrMax(), job.lrMin(), false, 0, point.lambdaLow(),
        point.lambdaMax(), -1, Source.FALLBACK, note, replan, revision, margin, estimates);
  }

  /**
   * Warmup (phase 0), the UBA factor over [bottom, top], or the rest of a phase re-planned from a
   * value ({@code replan}, DESIGN.md §1.5), with the job's groups, and its edge ratio under
   * {@code margin} with the estimate in force at the step (whichever estimate set phi). Never guarded:
   * re-plans read these values; {@link JobPlan#evaluate} guards the answer.
   */
  private static LrValue value(JobSchedule job, long step, int phase, double phi, double top, double bottom,
      boolean chebyshevRange, double kappa, double lambdaLow, double lambdaMax, long curvatureStep,
      Source source, String note, Replan replan, int revision, StabilityMargin margin,
      CurvatureTimeline estimates) {
    Budget budget = job.budget();
    var groups = job.groups();
    double[] groupLrs = groups.isEmpty() ? NO_GROUPS : new double[groups.size()];
    double factor;
    double lr;
    if (replan != null) {
      lr = replanned(replan, phi, step, top, bottom, replan.v());
      for (int g = 0; g < groupLrs.length; g++) {
        ParamGroup group = groups.get(g);
        groupLrs[g] = chebyshevRange ? (job.lrMax() == 0 ? lr : lr * (group.lrMax() / job.lrMax()))
            : replanned(replan, phi, step, group.lrMax(), group.lrMin(), replan.groupValues()[g]);
      }
      factor = top > bottom ? (lr - bottom) / (top - bottom) : 0;
    } else if (phase == 0) {
      factor = warmup(job, step, groupLrs);
      lr = job.lrMax() * factor;
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
    double edgeRatio = margin.edgeRatio(StabilityMargin.eta(lr, groupLrs), estimates.applyingTo(step));
    return new LrValue(step, lr, groupLrs, factor, phi, phase, kappa, lambdaLow, lambdaMax,
        curvatureStep, source, note, revision, edgeRatio, false);
  }

  /**
   * The re-planning rule of DESIGN.md §1.5 for one range [bottom, top] and first value v: v at a,
   * then UBA's shape toward the phase's target (see {@link Replan}); v throughout a hold.
   */
  private static double replanned(Replan r, double phi, long step, double top, double bottom, double v) {
    if (r.hold()) {
      return v;
    }
    long length = r.end() - r.step();
    long j = step - r.step() + 1;
    double first = Uba.factorAt(phi, length, 1, r.rising());
    double here = Uba.factorAt(phi, length, j, r.rising());
    return r.rising() ? top + (v - top) * ((1 - here) / (1 - first)) : bottom + (v - bottom) * (here / first);
  }

  /**
   * The linear warmup of DESIGN.md §1.1, under every policy and baseline: factor (s + 1)/W, so lr
   * reaches lr_max at the last warmup step s = W - 1; fills lr_g = lr_max_g·factor and returns the factor.
   */
  private static double warmup(JobSchedule job, long step, double[] groupLrs) {
    double factor = (double) (step + 1) / job.budget().warmupSteps();
    var groups = job.groups();
    for (int g = 0; g < groupLrs.length; g++) {
      groupLrs[g] = groups.get(g).lrMax() * factor;
    }
    return factor;
  }

  /**
   * A baseline's learning rate for the job's budget, warmup and groups: warmup as for UBA, then
   * lr_g = lr_min_g + (lr_max_g - lr_min_g)·g(s - W) over T - W steps. Source FIXED, phi 0, no
   * curvature. The job's phi policy is not read.
   */
  public static LrValue evaluate(JobSchedule job, Baseline baseline, long step) {
    Budget budget = job.budget();
    int phase = budget.phaseOf(step);
    long w = budget.warmupSteps();
    var groups = job.groups();
    double[] groupLrs = groups.isEmpty() ? NO_GROUPS : new double[groups.size()];
    double factor;
    double lr;
    Source source;
    if (phase == 0) {
      factor = warmup(job, step, groupLrs);
      lr = job.lrMax() * factor;
      source = Source.WARMUP;
    } else {
      factor = baseline.factor(step - w, budget.totalSteps() - w);
      lr = job.lrMin() + (job.lrMax() - job.lrMin()) * factor;
      for (int g = 0; g < groupLrs.length; g++) {
        ParamGroup group = groups.get(g);
        groupLrs[g] = group.lrMin() + (group.lrMax() - group.lrMin()) * factor;
      }
      source = Source.FIXED;
    }
    return new LrValue(step, lr, groupLrs, factor, 0, phase, 0, 0, 0, -1, source, "", 0, Double.NaN, false);
  }
}
