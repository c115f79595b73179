package io.stepsize.wire;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.PhiPolicy.ConditionNumber;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.Checks;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.EdgeOfStability;
import io.stepsize.schedule.EstimateSmoothing;
import io.stepsize.schedule.InvalidFieldException;
import io.stepsize.schedule.JobPlan;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LowerEdgeRule;
import io.stepsize.schedule.Optimizer;
import io.stepsize.schedule.ParamGroup;
import io.stepsize.schedule.PhiMode;
import io.stepsize.schedule.PhiPolicy;
import io.stepsize.schedule.Revision;
import io.stepsize.schedule.StabilityMargin;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Collectors;

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

  /**
   * Validates a spec and builds its schedule; the message of a failure names the field. Beyond the
   * schedule's rules: the job_id rule of {@link FieldRules}, the record size, known enum values (a
   * value this build does not know arrives as UNRECOGNIZED and is refused, never read as a default),
   * and group names (non-empty, unique). The revisions a job record carries are not read here: the
   * schedule is the spec's own (revision 0); {@link #toPlan} adds them.
   */
  public static JobSchedule toSchedule(JobSpec spec) {
    FieldRules.jobIdViolation(spec.getJobId()).ifPresent(JobSpecs::fail);
    FieldRules.recordSizeViolation("spec", spec.getSerializedSize()).ifPresent(JobSpecs::fail);
    Optimizer optimizer = optimizer(spec);
    Budget budget = new Budget(spec.getTotalSteps(), spec.getWarmupSteps(),
        spec.getPhaseBoundariesList().stream().mapToLong(Long::longValue).toArray(), spec.getPhaseOffset());
    List<String> names = new ArrayList<>(spec.getGroupsCount());
    spec.getGroupsList().forEach(g -> names.add(g.getName()));
    // names first: the range rules below name a group by its name
    ParamGroup.checkNames(names);
    List<ParamGroup> groups = new ArrayList<>();
    for (var g : spec.getGroupsList()) {
      groups.add(new ParamGroup(g.getName(), g.getLrMax(), g.getLrMin()));
    }
    io.stepsize.proto.v1.PhiPolicy p = spec.getPhiPolicy();
    double fallbackPhi = p.hasFallbackPhi() ? p.getFallbackPhi() : optimizer.defaultPhi();
    long delay = spec.hasApplyDelaySteps() ? spec.getApplyDelaySteps() : JobSchedule.DEFAULT_APPLY_DELAY_STEPS;
    smoothing(spec);
    stabilityMargin(spec);
    PhiPolicy policy = policy(p);
    try {
      return new JobSchedule(budget, spec.getLrMax(), spec.getLrMin(), groups, policy, fallbackPhi, delay);
    } catch (InvalidFieldException e) {
      // the one job-level schedule value that the proto keeps inside phi_policy
      throw e.field().equals("fallback_phi") ? e.under("phi_policy.") : e;
    }
  }

  /**
   * The plan of a job record on {@code stepsize.jobs}: its spec ({@link #toSchedule}) with its
   * stability margin ({@link #stabilityMargin}) and the revisions it carries, in order. A broken rule
   * names the revision: {@code revisions[i].from_step: ...}.
   */
  public static JobPlan toPlan(JobSpec record) {
    JobSchedule schedule = toSchedule(record);
    List<Revision> revisions = new ArrayList<>(record.getRevisionsCount());
    for (int i = 0; i < record.getRevisionsCount(); i++) {
      int index = i;
      revisions.add(at("revisions[" + i + "].", () -> revision(record.getRevisions(index))));
    }
    return JobPlan.of(schedule, revisions, stabilityMargin(record));
  }

  /**
   * The schedule part of a revision (number, author, reason and created are the service's). Field
   * names are the Revision message's ({@code set_lr}, {@code phi_policy.condition_number.scale}); the
   * caller puts the revision's own path before them.
   */
  public static Revision revision(io.stepsize.proto.v1.Revision r) {
    List<ParamGroup> groups = new ArrayList<>(r.getGroupsCount());
    for (var g : r.getGroupsList()) {
      groups.add(new ParamGroup(g.getName(), g.getLrMax(), g.getLrMin()));
    }
    io.stepsize.proto.v1.PhiPolicy p = r.getPhiPolicy();
    if (p.hasHalfLifeProbes()) {
      throw Checks.invalid("phi_policy.half_life_probes", "cannot be revised (the estimator's smoothing is the job's)",
          "got " + p.getHalfLifeProbes());
    }
    PhiPolicy policy = p.getPolicyCase() == io.stepsize.proto.v1.PhiPolicy.PolicyCase.POLICY_NOT_SET ? null : policy(p);
    Double fallbackPhi = p.hasFallbackPhi() ? at("phi_policy.", () -> Checks.finitePositive("fallback_phi",
        p.getFallbackPhi())) : null;
    return new Revision(r.getFromStep(), r.hasTotalSteps() ? r.getTotalSteps() : null,
        r.getPhaseBoundariesList().stream().mapToLong(Long::longValue).toArray(),
        r.hasLrMax() ? r.getLrMax() : null, r.hasLrMin() ? r.getLrMin() : null, groups, policy, fallbackPhi,
        r.hasSetLr() ? r.getSetLr() : null, r.getHold());
  }

  /**
   * The spec with every default written out, so that two specs that mean the same job compare equal
   * (CreateJob's idempotence), without the revisions a stored record carries: apply_delay_steps, optimizer (unspecified is SGD), a single phase's
   * boundary, fallback_phi, half_life_probes, momentum, and for condition_number (also when no policy is set,
   * which means condition_number) each parameter, lower_edge and mode; a guard without max_edge_ratio
   * is no guard. Throws as {@link #toSchedule} for an invalid spec.
   */
  public static JobSpec normalized(JobSpec spec) {
    JobSchedule schedule = toSchedule(spec);
    JobSpec.Builder b = spec.toBuilder()
        .clearRevisions()
        .setOptimizer(toProto(optimizer(spec)))
        .setApplyDelaySteps(schedule.applyDelaySteps())
        .setMomentum(stabilityMargin(spec).momentum());
    if (!spec.getGuard().hasMaxEdgeRatio()) {
      b.clearGuard();
    }
    if (b.getPhaseBoundariesCount() == 0) {
      b.addPhaseBoundaries(schedule.budget().totalSteps());
    }
    io.stepsize.proto.v1.PhiPolicy.Builder p = b.getPhiPolicyBuilder()
        .setFallbackPhi(schedule.fallbackPhi())
        .setHalfLifeProbes(halfLifeProbes(spec));
    if (schedule.policy() instanceof PhiPolicy.ConditionNumber c) {
      p.setConditionNumber(ConditionNumber.newBuilder()
          .setScale(c.scale()).setExponent(c.exponent()).setPhiMin(c.phiMin()).setPhiMax(c.phiMax())
          .setLowerEdge(toProto(c.lowerEdge())).setFloorRatio(c.floorRatio()).setQuantile(c.quantile())
          .setTol(c.tol()).setMode(toProto(c.mode())));
    }
    return b.build();
  }

  /** The optimizer; unspecified is {@link Optimizer#UNSPECIFIED}, a value unknown to this build is refused. */
  public static Optimizer optimizer(JobSpec spec) {
    return switch (spec.getOptimizer()) {
      case OPTIMIZER_SGD -> Optimizer.SGD;
      case OPTIMIZER_ADAMW -> Optimizer.ADAMW;
      case OPTIMIZER_OTHER -> Optimizer.OTHER;
      case OPTIMIZER_UNSPECIFIED -> Optimizer.UNSPECIFIED;
      case UNRECOGNIZED -> throw unknown("optimizer", io.stepsize.proto.v1.Optimizer.values(),
          spec.getOptimizerValue());
    };
  }

  private static io.stepsize.proto.v1.Optimizer toProto(Optimizer o) {
    return switch (o) {
      case SGD -> io.stepsize.proto.v1.Optimizer.OPTIMIZER_SGD;
      case ADAMW -> io.stepsize.proto.v1.Optimizer.OPTIMIZER_ADAMW;
      case OTHER -> io.stepsize.proto.v1.Optimizer.OPTIMIZER_OTHER;
    };
  }

  private static LowerEdge toProto(LowerEdgeRule r) {
    return switch (r) {
      case SMALLEST_POSITIVE -> LowerEdge.LOWER_EDGE_SMALLEST_POSITIVE;
      case QUANTILE -> LowerEdge.LOWER_EDGE_QUANTILE;
      case FLOOR -> LowerEdge.LOWER_EDGE_FLOOR;
      case GRADIENT_HARMONIC -> LowerEdge.LOWER_EDGE_GRADIENT_HARMONIC;
    };
  }

  private static io.stepsize.proto.v1.PhiMode toProto(PhiMode m) {
    return switch (m) {
      case LIVE -> io.stepsize.proto.v1.PhiMode.PHI_MODE_LIVE;
      case LATCHED -> io.stepsize.proto.v1.PhiMode.PHI_MODE_LATCHED;
      case CONTINUOUS -> io.stepsize.proto.v1.PhiMode.PHI_MODE_CONTINUOUS;
    };
  }

  /** {@code field: must be one of A, B, … (got n)}: the proto enum's known names. */
  private static InvalidFieldException unknown(String field, Enum<?>[] values, int got) {
    String known = Arrays.stream(values).map(Enum::name).filter(n -> !n.equals("UNRECOGNIZED"))
        .collect(Collectors.joining(", "));
    return Checks.invalid(field, "must be one of " + known, "got " + got);
  }

  private static void fail(String message) {
    throw new IllegalArgumentException(message);
  }

  /** The estimator's smoothing of the job's estimates (phi_policy.half_life_probes, default 3). */
  public static EstimateSmoothing smoothing(JobSpec spec) {
    io.stepsize.proto.v1.PhiPolicy p = spec.getPhiPolicy();
    return p.hasHalfLifeProbes()
        ? at("phi_policy.", () -> new EstimateSmoothing(p.getHalfLifeProbes()))
        : EstimateSmoothing.defaults();
  }

  /**
   * The job's stability margin (DESIGN.md §1.7): optimizer, momentum (default
   * {@link EdgeOfStability#DEFAULT_MOMENTUM}, in [0, 1)) and the guard's max_edge_ratio (finite and
   * > 0 when set).
   */
  public static StabilityMargin stabilityMargin(JobSpec spec) {
    double momentum = spec.hasMomentum() ? spec.getMomentum() : EdgeOfStability.DEFAULT_MOMENTUM;
    Double maxEdgeRatio = spec.getGuard().hasMaxEdgeRatio() ? spec.getGuard().getMaxEdgeRatio() : null;
    return new StabilityMargin(optimizer(spec), momentum, maxEdgeRatio);
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
      case LOWER_EDGE_GRADIENT_HARMONIC -> LowerEdgeRule.GRADIENT_HARMONIC;
      case LOWER_EDGE_UNSPECIFIED -> d.lowerEdge();
      case UNRECOGNIZED -> throw unknown("phi_policy.condition_number.lower_edge", LowerEdge.values(),
          c.getLowerEdgeValue());
    };
    PhiMode mode = switch (c.getMode()) {
      case PHI_MODE_LIVE -> PhiMode.LIVE;
      case PHI_MODE_LATCHED -> PhiMode.LATCHED;
      case PHI_MODE_CONTINUOUS -> PhiMode.CONTINUOUS;
      case PHI_MODE_UNSPECIFIED -> d.mode();
      case UNRECOGNIZED -> throw unknown("phi_policy.condition_number.mode", io.stepsize.proto.v1.PhiMode.values(),
          c.getModeValue());
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
        p.getLambdaMin(), p.getLambdaLow(), p.getLambdaMax(), p.getKappa(), p.getLambdaMaxBound(), p.getProbes(),
        p.getOperator() == Operator.OPERATOR_PRECONDITIONED);
  }

  public static CurvaturePoint toProto(io.stepsize.schedule.CurvaturePoint p) {
    return CurvaturePoint.newBuilder().setStep(p.step()).setAppliesFromStep(p.appliesFromStep()).setPhase(p.phase())
        .setLambdaMin(p.lambdaMin()).setLambdaLow(p.lambdaLow()).setLambdaMax(p.lambdaMax()).setKappa(p.kappa())
        .setLambdaMaxBound(p.lambdaMaxBound()).setProbes(p.probes())
        // unset reads as the Hessian, so records written before the field compare equal
        .setOperator(p.preconditioned() ? Operator.OPERATOR_PRECONDITIONED : Operator.OPERATOR_UNSPECIFIED).build();
  }
}
