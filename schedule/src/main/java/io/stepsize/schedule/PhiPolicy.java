package io.stepsize.schedule;

/**
 * How a job's phi is chosen (DESIGN.md §1.3, proto {@code PhiPolicy}).
 *
 * <p>Each policy computes its own learning rate in {@link #evaluate}, the one dispatch point of
 * {@link LrEvaluator}: a new policy must be a record here and must implement it, so none can fall
 * through to another policy's branch.
 */
public sealed interface PhiPolicy permits PhiPolicy.Fixed, PhiPolicy.ConditionNumber, PhiPolicy.Chebyshev {

  /**
   * The learning rate of {@code step}, which lies in {@code phase}, under this policy. Callers go
   * through {@link LrEvaluator#evaluate(JobSchedule, long, CurvatureTimeline)}, which checks the step
   * and finds its phase, or {@link JobPlan#evaluate}, which also passes the re-planned part of the
   * phase that {@code step} lies in ({@code replan}, null for eq. 5) and the governing revision.
   * {@code margin} gives the value its edge ratio (DESIGN.md §1.7); the value is never guarded here.
   * Allocates only the returned value (the hot path of GetLearningRate).
   */
  LrValue evaluate(JobSchedule job, long step, int phase, CurvatureTimeline estimates, Replan replan,
      int revision, StabilityMargin margin);

  /** A constant phi; curvature is ignored. Source FIXED. */
  record Fixed(double phi) implements PhiPolicy {
    public Fixed {
      Uba.checkPhi(phi);
    }

    @Override
    public LrValue evaluate(JobSchedule job, long step, int phase, CurvatureTimeline estimates, Replan replan,
        int revision, StabilityMargin margin) {
      return LrEvaluator.value(job, step, phase, phi, Source.FIXED, replan, revision, margin, estimates);
    }
  }

  /**
   * phi = clamp(scale·(2·kappa_eff)^exponent, phi_min, phi_max), with κ_eff of the estimate that
   * applies to s ({@code live}) or to the first step of s's phase ({@code latched}). The estimator
   * reads lowerEdge, floorRatio, quantile and tol; the schedule reads scale, exponent, the clamp and mode.
   *
   * <p>floor_ratio is in [0, 1): τ = floor_ratio·λ_max (DESIGN.md §1.4) must stay below λ_max so that
   * λ_max itself qualifies, and 0 is a meaningful choice, τ = 0 (λ_low is then the literally smallest
   * positive Ritz value; over an indefinite spectrum the floor rule may give λ_low ≤ 0, which every
   * policy treats as "no condition number" and falls back). The estimator's lower-edge rules accept
   * the same range.
   */
  record ConditionNumber(double scale, double exponent, double phiMin, double phiMax,
      LowerEdgeRule lowerEdge, double floorRatio, double quantile, double tol, PhiMode mode)
      implements PhiPolicy {

    public ConditionNumber {
      Checks.finitePositive("scale", scale);
      Checks.finite("exponent", exponent);
      Checks.finitePositive("phi_min", phiMin);
      Checks.finitePositive("phi_max", phiMax);
      if (phiMin > phiMax) {
        throw Checks.invalid("phi_min", "must be <= phi_max", phiMin + " > " + phiMax);
      }
      Checks.present("lower_edge", lowerEdge);
      if (!(floorRatio >= 0 && floorRatio < 1)) {
        throw Checks.invalid("floor_ratio", "must be in [0, 1)", "got " + floorRatio);
      }
      if (!(quantile > 0 && quantile < 1)) {
        throw Checks.invalid("quantile", "must be in (0, 1)", "got " + quantile);
      }
      Checks.finitePositive("tol", tol);
      Checks.present("mode", mode);
    }

    /** Proposition 1's literal mapping φ = 2κ. */
    public static final double PAPER_SCALE = 1;

    /**
     * The default scale, 0.1 (φ = 0.2κ): in docs/EXPERIMENTS.md the literal φ = 2κ lost to linear,
     * REX and cosine in almost every cell of the grid, and 0.2κ tied or beat the baselines in 70 of 72
     * accuracy comparisons. DESIGN.md §1.3 had scale 1; the evidence moved it.
     */
    public static final double DEFAULT_SCALE = 0.1;
    /** DESIGN.md §1.3 defaults of the clamp and the exponent. */
    public static final double DEFAULT_EXPONENT = 1;
    public static final double DEFAULT_PHI_MIN = 0.1;
    public static final double DEFAULT_PHI_MAX = 1000;
    /** DESIGN.md §1.4 defaults of the lower-edge rule. */
    public static final LowerEdgeRule DEFAULT_LOWER_EDGE = LowerEdgeRule.SMALLEST_POSITIVE;
    public static final double DEFAULT_FLOOR_RATIO = 1e-6;
    public static final double DEFAULT_QUANTILE = 0.05;
    public static final double DEFAULT_TOL = 1e-2;
    public static final PhiMode DEFAULT_MODE = PhiMode.LIVE;

    /** Defaults: scale 0.1, exponent 1, phi in [0.1, 1000], smallest_positive, 1e-6, 0.05, 1e-2, live. */
    public static ConditionNumber defaults() {
      return new ConditionNumber(DEFAULT_SCALE, DEFAULT_EXPONENT, DEFAULT_PHI_MIN, DEFAULT_PHI_MAX,
          DEFAULT_LOWER_EDGE, DEFAULT_FLOOR_RATIO, DEFAULT_QUANTILE, DEFAULT_TOL, DEFAULT_MODE);
    }

    /** The paper's Proposition 1 mapping φ = 2κ, with the other defaults. */
    public static ConditionNumber paper() {
      return new ConditionNumber(PAPER_SCALE, DEFAULT_EXPONENT, DEFAULT_PHI_MIN, DEFAULT_PHI_MAX,
          DEFAULT_LOWER_EDGE, DEFAULT_FLOOR_RATIO, DEFAULT_QUANTILE, DEFAULT_TOL, DEFAULT_MODE);
    }

    /** The same policy in another mode. */
    public ConditionNumber withMode(PhiMode newMode) {
      return new ConditionNumber(scale, exponent, phiMin, phiMax, lowerEdge, floorRatio, quantile, tol,
          newMode);
    }

    /**
     * clamp(scale·(2κ)^exponent, phi_min, phi_max). A kappa that is not finite and > 0 is not a
     * condition number; callers fall back before calling this, and NaN here is clamped to phi_max.
     */
    public double phiFor(double kappaEff) {
      double phi = scale * Math.pow(2 * kappaEff, exponent);
      if (Double.isNaN(phi)) {
        return phiMax;
      }
      return Math.min(phiMax, Math.max(phiMin, phi));
    }

    /** The estimate that sets phi for {@code step} in {@code phase} (null: none applies). */
    CurvaturePoint estimateFor(JobSchedule job, long step, int phase, CurvatureTimeline estimates) {
      long reference = switch (mode) {
        case LIVE, CONTINUOUS -> step;
        case LATCHED -> job.budget().phaseStart(phase);
      };
      return estimates.applyingTo(reference);
    }

    /** The phi of {@code step}: phiFor(κ_eff) of {@link #estimateFor}, else the job's fallback_phi. */
    double phiAt(JobSchedule job, long step, int phase, CurvatureTimeline estimates) {
      CurvaturePoint point = estimateFor(job, step, phase, estimates);
      return point == null || !point.hasConditionNumber() ? job.fallbackPhi() : phiFor(point.kappaEff());
    }

    @Override
    public LrValue evaluate(JobSchedule job, long step, int phase, CurvatureTimeline estimates, Replan replan,
        int revision, StabilityMargin margin) {
      CurvaturePoint point = estimateFor(job, step, phase, estimates);
      if (point == null || !point.hasConditionNumber()) {
        return LrEvaluator.fallback(job, step, phase, point, replan, revision, margin, estimates);
      }
      double kappa = point.kappaEff();
      return LrEvaluator.value(job, step, phase, phiFor(kappa), job.lrMax(), job.lrMin(), false, kappa, point,
          replan, revision, margin, estimates);
    }
  }

  /**
   * Proposition 1: phi = 2κ, lr_max = 1/lambda_low, lr_min = 1/lambda_max (DESIGN.md §1.2), from
   * the estimate that applies to s (live: a new estimate takes effect at once rather than waiting
   * for the next phase, which with the default single phase would be never). Parameter groups keep
   * their ratio to the job: lr_g = lr·lr_max_g/lr_max (lr itself when lr_max = 0), since the
   * Chebyshev range is a property of the loss, not of a group.
   */
  record Chebyshev() implements PhiPolicy {
    @Override
    public LrValue evaluate(JobSchedule job, long step, int phase, CurvatureTimeline estimates, Replan replan,
        int revision, StabilityMargin margin) {
      CurvaturePoint point = estimates.applyingTo(step);
      if (point == null || !point.hasConditionNumber()) {
        return LrEvaluator.fallback(job, step, phase, point, replan, revision, margin, estimates);
      }
      if (!Double.isFinite(1 / point.lambdaLow())) {
        return LrEvaluator.fallback(job, step, phase, point, LrEvaluator.NOTE_RANGE_OVERFLOW, replan, revision,
            margin, estimates);
      }
      double kappa = point.kappaEff();
      return LrEvaluator.value(job, step, phase, 2 * kappa, 1 / point.lambdaLow(), 1 / point.lambdaMax(), true,
          kappa, point, replan, revision, margin, estimates);
    }
  }
}
