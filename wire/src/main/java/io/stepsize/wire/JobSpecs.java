package io.stepsize.wire;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.PhiPolicy.ConditionNumber;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LowerEdgeRule;
import io.stepsize.schedule.Optimizer;
import io.stepsize.schedule.ParamGroup;
import io.stepsize.schedule.PhiMode;
import io.stepsize.schedule.PhiPolicy;
import java.util.ArrayList;
import java.util.List;

/**
 * The one translation between the wire ({@link JobSpec}, {@link Curvature}) and the schedule
 * library's domain types, shared by the estimator and the service so both read a job alike.
 *
 * <p>Unset optional fields take DESIGN.md §1.3–1.4 defaults; invalid ones throw
 * {@link IllegalArgumentException} naming the proto field and the rule.
 */
public final class JobSpecs {
  public static final long DEFAULT_APPLY_DELAY_STEPS = 1;
  public static final double DEFAULT_HALF_LIFE_PROBES = 3;

  private JobSpecs() {}

  /** Validates a spec and builds its schedule; the message of a failure names the field. */
  public static JobSchedule toSchedule(JobSpec spec) {
    if (spec.getJobId().isBlank()) {
      throw new IllegalArgumentException("job_id: must not be empty");
    }
    CurvatureRecords.checkJobId(spec.getJobId());
    if (spec.getPhaseOffset() != 0 && spec.getPhaseOffset() != 1) {
      throw new IllegalArgumentException("phase_offset: must be 0 or 1 (got " + spec.getPhaseOffset() + ")");
    }
    Budget budget = new Budget(spec.getTotalSteps(), spec.getWarmupSteps(),
        spec.getPhaseBoundariesList().stream().mapToLong(Long::longValue).toArray(), spec.getPhaseOffset());
    List<ParamGroup> groups = new ArrayList<>();
    for (int i = 0; i < spec.getGroupsCount(); i++) {
      var g = spec.getGroups(i);
      groups.add(new ParamGroup(g.getName().isEmpty() ? "group" + i : g.getName(), g.getLrMax(), g.getLrMin()));
    }
    Optimizer optimizer = optimizer(spec);
    io.stepsize.proto.v1.PhiPolicy p = spec.getPhiPolicy();
    double fallbackPhi = p.hasFallbackPhi() ? p.getFallbackPhi() : optimizer.defaultPhi();
    if (!(fallbackPhi > 0) || !Double.isFinite(fallbackPhi)) {
      throw new IllegalArgumentException("phi_policy.fallback_phi: must be finite and > 0 (got " + fallbackPhi + ")");
    }
    long delay = spec.hasApplyDelaySteps() ? spec.getApplyDelaySteps() : DEFAULT_APPLY_DELAY_STEPS;
    if (delay < 0) {
      throw new IllegalArgumentException("apply_delay_steps: must be >= 0 (got " + delay + ")");
    }
    double halfLife = halfLifeProbes(spec);
    if (!(halfLife > 0) || !Double.isFinite(halfLife)) {
      throw new IllegalArgumentException("phi_policy.half_life_probes: must be finite and > 0 (got " + halfLife + ")");
    }
    return new JobSchedule(budget, spec.getLrMax(), spec.getLrMin(), groups, policy(p), fallbackPhi, delay);
  }

  /** Unspecified means SGD, the paper's main setting. */
  public static Optimizer optimizer(JobSpec spec) {
    return switch (spec.getOptimizer()) {
      case OPTIMIZER_ADAMW -> Optimizer.ADAMW;
      case OPTIMIZER_OTHER -> Optimizer.OTHER;
      default -> Optimizer.SGD;
    };
  }

  public static double halfLifeProbes(JobSpec spec) {
    return spec.getPhiPolicy().hasHalfLifeProbes() ? spec.getPhiPolicy().getHalfLifeProbes() : DEFAULT_HALF_LIFE_PROBES;
  }

  /**
   * The policy; an unset one is {@code condition_number} with its defaults, because following the
   * live curvature is what a job comes to Stepsize for.
   */
  public static PhiPolicy policy(io.stepsize.proto.v1.PhiPolicy p) {
    return switch (p.getPolicyCase()) {
      case FIXED -> {
        double phi = p.getFixed().getPhi();
        if (!(phi > 0) || !Double.isFinite(phi)) {
          throw new IllegalArgumentException("phi_policy.fixed.phi: must be finite and > 0 (got " + phi + ")");
        }
        yield new PhiPolicy.Fixed(phi);
      }
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
    double scale = c.hasScale() ? c.getScale() : d.scale();
    double exponent = c.hasExponent() ? c.getExponent() : d.exponent();
    double phiMin = c.hasPhiMin() ? c.getPhiMin() : d.phiMin();
    double phiMax = c.hasPhiMax() ? c.getPhiMax() : d.phiMax();
    double floorRatio = c.hasFloorRatio() ? c.getFloorRatio() : d.floorRatio();
    double quantile = c.hasQuantile() ? c.getQuantile() : d.quantile();
    double tol = c.hasTol() ? c.getTol() : d.tol();
    positiveFinite("phi_policy.condition_number.scale", scale);
    if (!Double.isFinite(exponent)) {
      throw new IllegalArgumentException("phi_policy.condition_number.exponent: must be finite (got " + exponent + ")");
    }
    positiveFinite("phi_policy.condition_number.phi_min", phiMin);
    positiveFinite("phi_policy.condition_number.phi_max", phiMax);
    if (phiMin > phiMax) {
      throw new IllegalArgumentException("phi_policy.condition_number.phi_min: must be <= phi_max (" + phiMin + " > " + phiMax + ")");
    }
    if (!(floorRatio > 0 && floorRatio < 1)) {
      throw new IllegalArgumentException("phi_policy.condition_number.floor_ratio: must be in (0, 1) (got " + floorRatio + ")");
    }
    if (!(quantile > 0 && quantile < 1)) {
      throw new IllegalArgumentException("phi_policy.condition_number.quantile: must be in (0, 1) (got " + quantile + ")");
    }
    positiveFinite("phi_policy.condition_number.tol", tol);
    LowerEdgeRule rule = switch (c.getLowerEdge()) {
      case LOWER_EDGE_QUANTILE -> LowerEdgeRule.QUANTILE;
      case LOWER_EDGE_FLOOR -> LowerEdgeRule.FLOOR;
      default -> LowerEdgeRule.SMALLEST_POSITIVE;
    };
    PhiMode mode = c.getMode() == io.stepsize.proto.v1.PhiMode.PHI_MODE_LATCHED ? PhiMode.LATCHED : PhiMode.LIVE;
    return new PhiPolicy.ConditionNumber(scale, exponent, phiMin, phiMax, rule, floorRatio, quantile, tol, mode);
  }

  private static void positiveFinite(String field, double v) {
    if (!(v > 0) || !Double.isFinite(v)) {
      throw new IllegalArgumentException(field + ": must be finite and > 0 (got " + v + ")");
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
