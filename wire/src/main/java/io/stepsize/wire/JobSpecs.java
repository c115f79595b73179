package io.stepsize.wire;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.PhiPolicy.ConditionNumber;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.EstimateSmoothing;
import io.stepsize.schedule.InvalidFieldException;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LowerEdgeRule;
import io.stepsize.schedule.Optimizer;
import io.stepsize.schedule.ParamGroup;
import io.stepsize.schedule.PhiMode;
import io.stepsize.schedule.PhiPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The one translation between the wire ({@link JobSpec}, {@link Curvature}) and the schedule
 * library's domain types, shared by the estimator and the service so both read a job alike.
 *
 * <p>Every default and every rule lives in schedule/; this class only says which proto field feeds
 * which schedule value, takes the schedule's default when an optional field is unset, and puts the
 * field's proto path before the schedule's message (schedule says {@code scale: ...}, a spec error
 * says {@code phi_policy.condition_number.scale: ...}). Failures are {@link IllegalArgumentException}.
 */
public final class JobSpecs {
  private JobSpecs() {}

  /** Validates a spec and builds its schedule; the message of a failure names the field. */
  public static JobSchedule toSchedule(JobSpec spec) {
    if (spec.getJobId().isBlank()) {
      throw new IllegalArgumentException("job_id: must not be empty");
    }
    CurvatureRecords.checkJobId(spec.getJobId());
    Budget budget = new Budget(spec.getTotalSteps(), spec.getWarmupSteps(),
        spec.getPhaseBoundariesList().stream().mapToLong(Long::longValue).toArray(), spec.getPhaseOffset());
    List<ParamGroup> groups = new ArrayList<>();
    for (int i = 0; i < spec.getGroupsCount(); i++) {
      var g = spec.getGroups(i);
      groups.add(new ParamGroup(g.getName().isEmpty() ? "group" + i : g.getName(), g.getLrMax(), g.getLrMin()));
    }
    io.stepsize.proto.v1.PhiPolicy p = spec.getPhiPolicy();
    double fallbackPhi = p.hasFallbackPhi() ? p.getFallbackPhi() : optimizer(spec).defaultPhi();
    long delay = spec.hasApplyDelaySteps() ? spec.getApplyDelaySteps() : JobSchedule.DEFAULT_APPLY_DELAY_STEPS;
    smoothing(spec);
    PhiPolicy policy = policy(p);
    try {
      return new JobSchedule(budget, spec.getLrMax(), spec.getLrMin(), groups, policy, fallbackPhi, delay);
    } catch (InvalidFieldException e) {
      // the one job-level schedule value that the proto keeps inside phi_policy
      throw e.field().equals("fallback_phi") ? e.under("phi_policy.") : e;
    }
  }

  /** The optimizer; unspecified (or unknown to this build) is {@link Optimizer#UNSPECIFIED}. */
  public static Optimizer optimizer(JobSpec spec) {
    return switch (spec.getOptimizer()) {
      case OPTIMIZER_SGD -> Optimizer.SGD;
      case OPTIMIZER_ADAMW -> Optimizer.ADAMW;
      case OPTIMIZER_OTHER -> Optimizer.OTHER;
      case OPTIMIZER_UNSPECIFIED, UNRECOGNIZED -> Optimizer.UNSPECIFIED;
    };
  }

  /** The estimator's smoothing of the job's estimates (phi_policy.half_life_probes, default 3). */
  public static EstimateSmoothing smoothing(JobSpec spec) {
    io.stepsize.proto.v1.PhiPolicy p = spec.getPhiPolicy();
    return p.hasHalfLifeProbes()
        ? at("phi_policy.", () -> new EstimateSmoothing(p.getHalfLifeProbes()))
        : EstimateSmoothing.defaults();
  }

  /** The EWMA half-life in probes of {@link #smoothing}. */
  public static double halfLifeProbes(JobSpec spec) {
    return smoothing(spec).halfLifeProbes();
  }

  /**
   * The policy; an unset one is {@code condition_number} with its defaults, because following the
   * live curvature is what a job comes to Stepsize for.
   */
  public static PhiPolicy policy(io.stepsize.proto.v1.PhiPolicy p) {
    return switch (p.getPolicyCase()) {
      case FIXED -> at("phi_policy.fixed.", () -> new PhiPolicy.Fixed(p.getFixed().getPhi()));
      case CHEBYSHEV -> new PhiPolicy.Chebyshev();
      case CONDITION_NUMBER -> conditionNumber(p.getConditionNumber());
      case POLICY_NOT_SET -> PhiPolicy.ConditionNumber.defaults();
    };
  }

  /** The lower-edge settings a job's probes are read with (defaults for non-condition_number jobs). */
  public static PhiPolicy.ConditionNumber lowerEdgeSettings(JobSpec spec) {
    io.stepsize.proto.v1.PhiPolicy p = spec.getPhiPolicy();
    return p.hasConditionNumber() ? conditionNumber(p.getConditionNumber()) : PhiPolicy.ConditionNumber.defaults();
  }

  static PhiPolicy.ConditionNumber conditionNumber(ConditionNumber c) {
    PhiPolicy.ConditionNumber d = PhiPolicy.ConditionNumber.defaults();
    LowerEdgeRule lowerEdge = switch (c.getLowerEdge()) {
      case LOWER_EDGE_SMALLEST_POSITIVE -> LowerEdgeRule.SMALLEST_POSITIVE;
      case LOWER_EDGE_QUANTILE -> LowerEdgeRule.QUANTILE;
      case LOWER_EDGE_FLOOR -> LowerEdgeRule.FLOOR;
      case LOWER_EDGE_UNSPECIFIED, UNRECOGNIZED -> d.lowerEdge();
    };
    PhiMode mode = switch (c.getMode()) {
      case PHI_MODE_LIVE -> PhiMode.LIVE;
      case PHI_MODE_LATCHED -> PhiMode.LATCHED;
      case PHI_MODE_UNSPECIFIED, UNRECOGNIZED -> d.mode();
    };
    return at("phi_policy.condition_number.", () -> new PhiPolicy.ConditionNumber(
        c.hasScale() ? c.getScale() : d.scale(),
        c.hasExponent() ? c.getExponent() : d.exponent(),
        c.hasPhiMin() ? c.getPhiMin() : d.phiMin(),
        c.hasPhiMax() ? c.getPhiMax() : d.phiMax(),
        lowerEdge,
        c.hasFloorRatio() ? c.getFloorRatio() : d.floorRatio(),
        c.hasQuantile() ? c.getQuantile() : d.quantile(),
        c.hasTol() ? c.getTol() : d.tol(),
        mode));
  }

  /** Builds a schedule value from the fields under proto path {@code path}, naming them by that path. */
  private static <T> T at(String path, Supplier<T> build) {
    try {
      return build.get();
    } catch (InvalidFieldException e) {
      throw e.under(path);
    }
  }

  /** The timeline a {@link Curvature} record carries, as the schedule library reads it. */
  public static CurvatureTimeline timeline(Curvature c) {
    List<io.stepsize.schedule.CurvaturePoint> points = new ArrayList<>(c.getTimelineCount());
    for (CurvaturePoint p : c.getTimelineList()) {
      points.add(point(p));
    }
    return CurvatureTimeline.of(points);
  }

  public static io.stepsize.schedule.CurvaturePoint point(CurvaturePoint p) {
    return new io.stepsize.schedule.CurvaturePoint(p.getStep(), p.getAppliesFromStep(), (int) p.getPhase(),
        p.getLambdaMin(), p.getLambdaLow(), p.getLambdaMax(), p.getKappa(), p.getLambdaMaxBound(), p.getProbes());
  }

  public static CurvaturePoint toProto(io.stepsize.schedule.CurvaturePoint p) {
    return CurvaturePoint.newBuilder().setStep(p.step()).setAppliesFromStep(p.appliesFromStep()).setPhase(p.phase())
        .setLambdaMin(p.lambdaMin()).setLambdaLow(p.lambdaLow()).setLambdaMax(p.lambdaMax()).setKappa(p.kappa())
        .setLambdaMaxBound(p.lambdaMaxBound()).setProbes(p.probes()).build();
  }
}
