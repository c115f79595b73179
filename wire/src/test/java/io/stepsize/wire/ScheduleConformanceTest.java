package io.stepsize.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.EdgeGuard;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.ParamGroup;
import io.stepsize.proto.v1.PhiMode;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.PhiPolicy.ConditionNumber;
import io.stepsize.proto.v1.Revision;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.EdgeOfStability;
import io.stepsize.schedule.JobPlan;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.schedule.LrValue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Writes the schedule's answers for a set of jobs and timelines to conformance/schedule-cases.json,
 * which client/python/tests/test_conformance.py replays through the Python port. The Java answers go
 * the way the service's do: proto JobSpec (as stored on stepsize.jobs, with its revisions) and
 * Curvature through {@link JobSpecs}, then {@link JobPlan} and {@link LearningRateProtos}.
 *
 * <p>The file is committed. This test fails when it differs from what the code computes now, so a
 * change to the schedule cannot leave the Python side checked against stale answers; run it with
 * {@code -Dconformance.write=true} to rewrite the file, then rerun the Python test.
 */
class ScheduleConformanceTest {

  static final String WRITE_PROPERTY = "conformance.write";

  /** conformance/ at the repository root (the test runs in wire/). */
  static Path casesFile() {
    Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    return module.getParent().resolve("conformance").resolve("schedule-cases.json");
  }

  @Test
  void committedCasesMatchTheJavaSchedule() throws IOException {
    String generated = generate();
    Path file = casesFile();
    if (Boolean.getBoolean(WRITE_PROPERTY)) {
      Files.createDirectories(file.getParent());
      Files.writeString(file, generated, StandardCharsets.UTF_8);
    }
    String committed = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    if (!committed.equals(generated)) {
      fail("conformance/schedule-cases.json is stale: it differs from what the Java schedule computes now. "
          + "Rewrite it with `mvn -pl wire -am test -Dtest=ScheduleConformanceTest "
          + "-Dsurefire.failIfNoSpecifiedTests=false -D" + WRITE_PROPERTY + "=true`, "
          + "then run client/python/tests/test_conformance.py and commit the file.");
    }
    assertThat(generated.length()).as("file size").isLessThan(300_000);
  }

  /** The cases cover what the Python port must reproduce; checked here so a pruned list fails. */
  @Test
  void casesCoverEveryPolicyModeAndFallback() {
    List<Case> cases = cases();
    // every policy of the proto, unset included: a policy added there fails here until it has a case
    assertThat(cases).extracting(c -> c.spec.getPhiPolicy().getPolicyCase())
        .contains(PhiPolicy.PolicyCase.values());
    assertThat(cases).extracting(c -> c.spec.getPhiPolicy().getConditionNumber().getMode())
        .contains(PhiMode.PHI_MODE_LIVE, PhiMode.PHI_MODE_LATCHED, PhiMode.PHI_MODE_CONTINUOUS,
            PhiMode.PHI_MODE_UNSPECIFIED);
    List<LrValue> all = new ArrayList<>();
    for (Case c : cases) {
      JobPlan plan = JobSpecs.toPlan(c.spec);
      for (long s : steps(c, plan)) {
        all.add(plan.evaluate(s, JobSpecs.timeline(c.curvature)));
      }
    }
    // revisions (DESIGN.md §1.5): each kind of change, and several revisions governing answers
    List<Revision> revisions = cases.stream().flatMap(c -> c.spec.getRevisionsList().stream()).toList();
    assertThat(revisions).anySatisfy(r -> assertThat(r.getHold()).isTrue());
    assertThat(revisions).anySatisfy(r -> assertThat(r.hasSetLr()).isTrue());
    assertThat(revisions).anySatisfy(r -> assertThat(r.getPhaseBoundariesCount()).isPositive());
    assertThat(revisions).anySatisfy(r -> assertThat(r.hasPhiPolicy()).isTrue());
    assertThat(revisions).anySatisfy(r -> assertThat(r.getGroupsCount()).isPositive());
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.getRevisionsList()).anySatisfy(
        r -> assertThat(r.getFromStep()).isEqualTo(c.spec.getTotalSteps())));
    assertThat(all).extracting(LrValue::revision).contains(0, 1, 2, 3, 4);
    assertThat(all).extracting(LrValue::source).contains(io.stepsize.schedule.Source.values());
    assertThat(all).extracting(LrValue::note).contains(LrEvaluator.NOTE_NO_ESTIMATE,
        LrEvaluator.NOTE_NO_CONDITION_NUMBER, LrEvaluator.NOTE_RANGE_OVERFLOW);
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.getPhaseOffset()).isEqualTo(1));
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.getGroupsCount()).isGreaterThan(1));
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.getWarmupSteps()).isPositive());
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.getPhaseBoundariesCount()).isGreaterThan(2));
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.hasApplyDelaySteps()).isFalse());
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.getApplyDelaySteps()).isGreaterThan(1));
    // the stability margin: guarded and not, edge ratios and NaN, each operator, each threshold
    assertThat(all).extracting(LrValue::guarded).contains(true, false);
    assertThat(all).anySatisfy(v -> assertThat(v.edgeRatio()).isNaN());
    assertThat(all).anySatisfy(v -> assertThat(v.edgeRatio()).isGreaterThan(1));
    assertThat(all).anySatisfy(v -> assertThat(v.edgeRatio()).isBetween(0.0, 1.0));
    assertThat(all).anySatisfy(v -> assertThat(v.guarded() && v.groupLrs().length > 1).isTrue());
    assertThat(cases).extracting(c -> c.spec.getOptimizer()).contains(Optimizer.OPTIMIZER_ADAMW);
    assertThat(cases).anySatisfy(c -> assertThat(c.spec.hasMomentum() && c.spec.getMomentum() == 0).isTrue());
    assertThat(cases.stream().flatMap(c -> c.curvature.getTimelineList().stream()).map(CurvaturePoint::getOperator))
        .contains(Operator.OPERATOR_PRECONDITIONED, Operator.OPERATOR_UNSPECIFIED);
  }

  // ---- the cases ------------------------------------------------------------------------------

  record Case(String name, String about, JobSpec spec, Curvature curvature) {}

  static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    // fixed phi: the timeline is not read even when it has estimates
    cases.add(new Case("fixed-one-phase", "fixed phi 3.7, SGD, one phase, an ignored estimate",
        spec("fixed-one-phase", 40, 0, List.of(), 0, 0.2, 0.003).setOptimizer(Optimizer.OPTIMIZER_SGD)
            .setPhiPolicy(fixed(3.7)).build(),
        curvature(point(5, 6, 1, -0.5, 0.1, 100))));
    cases.add(new Case("fixed-warmup-phases-groups", "warmup 13, three phases, two groups, phi 0.5",
        spec("fixed-warmup-phases-groups", 257, 13, List.of(100L, 180L, 257L), 0, 0.2, 0.003)
            .addGroups(group("head", 0.2, 0.003)).addGroups(group("body", 0.05, 0)).setPhiPolicy(fixed(0.5)).build(),
        Curvature.getDefaultInstance()));
    cases.add(new Case("fixed-phase-offset-1", "phase_offset 1: phase 1 rises, phase 2 falls, phase 3 rises",
        spec("fixed-phase-offset-1", 120, 7, List.of(40L, 80L, 120L), 1, 1.0, 0.0).setPhiPolicy(fixed(250)).build(),
        Curvature.getDefaultInstance()));
    cases.add(new Case("fixed-long", "a million steps, two phases: the half-angle form far from the ends",
        spec("fixed-long", 1_000_000, 1000, List.of(600_000L, 1_000_000L), 0, 0.1, 1e-5).setPhiPolicy(fixed(7.25))
            .build(),
        Curvature.getDefaultInstance()));

    // condition_number
    cases.add(new Case("unset-policy-defaults", "no policy: condition_number with every default, AdamW's fallback 0.5,"
        + " apply_delay_steps unset (1)",
        spec("unset-policy-defaults", 60, 0, List.of(), 0, 0.01, 0.0001).setOptimizer(Optimizer.OPTIMIZER_ADAMW).build(),
        curvature(point(9, 10, 1, -2, 0.5, 40), point(29, 30, 1, 0.01, 0.02, 1e6), point(44, 45, 1, 0.3, 3, 3))));
    ConditionNumber custom = ConditionNumber.newBuilder().setScale(1).setExponent(0.5).setPhiMin(1).setPhiMax(50)
        .setLowerEdge(LowerEdge.LOWER_EDGE_QUANTILE).setFloorRatio(1e-4).setQuantile(0.1).setTol(0.05).build();
    cases.add(conditionNumberCase("cn-live", custom.toBuilder().setMode(PhiMode.PHI_MODE_LIVE).build(),
        "live: phi for step s from the newest estimate applying to s; clamps at both ends; a lambda_low <= 0 estimate"));
    cases.add(conditionNumberCase("cn-latched", custom.toBuilder().setMode(PhiMode.PHI_MODE_LATCHED).build(),
        "latched: phi for phase k from the estimate applying to B_{k-1}"));
    cases.add(new Case("cn-latched-warmup-offset", "latched with warmup and phase_offset 1, default scale, fallback_phi"
        + " set, apply_delay_steps 0",
        spec("cn-latched-warmup-offset", 90, 10, List.of(30L, 60L, 90L), 1, 0.4, 0.01)
            .setApplyDelaySteps(0)
            .setPhiPolicy(PhiPolicy.newBuilder().setFallbackPhi(2.5).setConditionNumber(
                ConditionNumber.newBuilder().setMode(PhiMode.PHI_MODE_LATCHED)))
            .build(),
        curvature(point(5, 5, 0, 0.2, 0.2, 9), point(30, 30, 2, 0.1, 0.1, 0.15), point(59, 59, 2, -1, -1, 4))));
    cases.add(new Case("cn-no-estimate-other", "no estimate at all: OTHER's fallback 0.5 throughout",
        spec("cn-no-estimate-other", 30, 3, List.of(), 0, 0.3, 0.03).setOptimizer(Optimizer.OPTIMIZER_OTHER)
            .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(ConditionNumber.getDefaultInstance())).build(),
        Curvature.getDefaultInstance()));
    cases.add(new Case("cn-unordered-delays", "points whose applies_from_step is not in probe-step order, and two"
        + " estimates of one step (the later wins)",
        spec("cn-unordered-delays", 80, 0, List.of(40L, 80L), 0, 1, 0.1)
            .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(ConditionNumber.newBuilder().setScale(0.5)))
            .build(),
        curvature(point(10, 35, 1, 1, 1, 8), point(20, 21, 1, 1, 1, 30), point(20, 22, 1, 1, 1, 60),
            point(50, 51, 2, 0.5, 2, 5))));
    cases.add(new Case("cn-exponent-groups", "exponent 2 and scale 0.01 with three groups and apply_delay_steps 25",
        spec("cn-exponent-groups", 150, 15, List.of(50L, 100L, 150L), 0, 0.1, 0.001)
            .addGroups(group("a", 0.1, 0.001)).addGroups(group("b", 0.3, 0.0)).addGroups(group("c", 0.02, 0.02))
            .setApplyDelaySteps(25)
            .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(
                ConditionNumber.newBuilder().setScale(0.01).setExponent(2).setPhiMax(500)))
            .build(),
        curvature(point(0, 25, 0, 0.5, 1, 10), point(40, 65, 1, 0.1, 0.25, 40), point(90, 115, 2, 0.2, 0.4, 1.2))));

    // chebyshev
    cases.add(new Case("chebyshev", "Proposition 1 with warmup, groups (ratio to lr_max), no estimate first, then"
        + " lambda_low <= 0, then a range that overflows, then estimates again",
        spec("chebyshev", 120, 8, List.of(60L, 120L), 0, 0.5, 0.05)
            .addGroups(group("g0", 0.5, 0.05)).addGroups(group("g1", 0.25, 0.0))
            .setPhiPolicy(PhiPolicy.newBuilder().setChebyshev(PhiPolicy.Chebyshev.getDefaultInstance()))
            .build(),
        curvature(point(4, 5, 0, 0.5, 0.5, 20), point(19, 20, 1, -3, -3, 20), point(29, 30, 1, 0, 0, 5),
            point(39, 40, 1, 4.9e-324, 4.9e-324, 1e-310), point(49, 50, 1, 0.01, 2, 2), point(79, 80, 2, 0.3, 0.3, 300))));
    cases.add(new Case("chebyshev-zero-lr-max", "chebyshev when lr_max = 0: each group gets the lr itself",
        spec("chebyshev-zero-lr-max", 50, 0, List.of(), 1, 0, 0)
            .addGroups(group("x", 0.1, 0)).addGroups(group("y", 0, 0))
            .setApplyDelaySteps(3)
            .setPhiPolicy(PhiPolicy.newBuilder().setFallbackPhi(1.5).setChebyshev(PhiPolicy.Chebyshev.getDefaultInstance()))
            .build(),
        curvature(point(10, 13, 1, 1, 1, 50))));

    // revisions (DESIGN.md §1.5), as the job record on stepsize.jobs carries them
    cases.add(new Case("revisions-budget-hold-set-lr", "an extension with new boundaries, a hold, a set_lr with new"
        + " bounds and group ranges, then a shortening; warmup and two groups",
        spec("revisions-budget-hold-set-lr", 100, 5, List.of(50L, 100L), 0, 0.2, 0.002)
            .addGroups(group("head", 0.2, 0.002)).addGroups(group("body", 0.05, 0)).setPhiPolicy(fixed(4))
            .addRevisions(Revision.newBuilder().setFromStep(20).setTotalSteps(160).addPhaseBoundaries(60)
                .addPhaseBoundaries(160))
            .addRevisions(Revision.newBuilder().setFromStep(70).setHold(true))
            .addRevisions(Revision.newBuilder().setFromStep(90).setSetLr(0.05).setLrMax(0.3)
                .addGroups(group("head", 0.3, 0.002)).addGroups(group("body", 0.1, 0.01)))
            .addRevisions(Revision.newBuilder().setFromStep(120).setTotalSteps(140))
            .build(),
        Curvature.getDefaultInstance()));
    cases.add(new Case("revisions-extend-finished-rising", "phase_offset 1 (a rising phase) re-planned toward lr_max,"
        + " then the finished job extended from its last value",
        spec("revisions-extend-finished-rising", 60, 0, List.of(), 1, 0.5, 0.01).setPhiPolicy(fixed(9))
            .addRevisions(Revision.newBuilder().setFromStep(30).setPhiPolicy(fixed(1.5)))
            .addRevisions(Revision.newBuilder().setFromStep(60).setTotalSteps(90))
            .build(),
        Curvature.getDefaultInstance()));

    // continuous mode (DESIGN.md §1.6)
    cases.add(conditionNumberCase("cn-continuous", custom.toBuilder().setMode(PhiMode.PHI_MODE_CONTINUOUS).build(),
        "continuous: a phi change inside a phase re-plans the rest of it from the value there"));
    cases.add(new Case("cn-continuous-revised", "continuous with revisions: a longer budget, a hold in the warmup,"
        + " then a switch to live mode, estimates before and after each",
        spec("cn-continuous-revised", 100, 10, List.of(), 0, 0.6, 0.006).setApplyDelaySteps(2)
            .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(
                ConditionNumber.newBuilder().setScale(0.5).setMode(PhiMode.PHI_MODE_CONTINUOUS)))
            .addRevisions(Revision.newBuilder().setFromStep(4).setHold(true))
            .addRevisions(Revision.newBuilder().setFromStep(8))
            .addRevisions(Revision.newBuilder().setFromStep(50).setTotalSteps(130))
            .addRevisions(Revision.newBuilder().setFromStep(100).setPhiPolicy(PhiPolicy.newBuilder()
                .setConditionNumber(ConditionNumber.newBuilder().setScale(0.5).setMode(PhiMode.PHI_MODE_LIVE))))
            .build(),
        curvature(point(20, 22, 1, 1, 1, 10), point(40, 42, 1, 1, 1, 4), point(70, 72, 1, 0.5, 0.5, 20),
            point(110, 112, 1, 1, 1, 3))));

    // the stability margin (DESIGN.md §1.7): edge_ratio on every answer, the guard
    cases.add(new Case("sgd-guard-momentum-0", "SGD with momentum 0 (threshold 2) and guard r* 1.2, two groups (eta is"
        + " group 0's), warmup: sharp estimates cap eta at 1.2*2/lambda_max and scale both groups, a flat and a"
        + " concave one set no limit; a hold made under the guard holds the scheduled value",
        spec("sgd-guard-momentum-0", 120, 10, List.of(60L, 120L), 0, 0.5, 0.005)
            .addGroups(group("body", 0.5, 0.005)).addGroups(group("head", 0.1, 0.0))
            .setOptimizer(Optimizer.OPTIMIZER_SGD).setMomentum(0).setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1.2))
            .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(ConditionNumber.newBuilder().setScale(0.5)))
            .addRevisions(Revision.newBuilder().setFromStep(45).setHold(true))
            .addRevisions(Revision.newBuilder().setFromStep(70))
            .build(),
        curvature(point(4, 5, 0, 0.5, 1, 40), point(20, 21, 1, 0.1, 0.2, 6), point(35, 36, 1, 0.5, 1, 1000),
            point(55, 56, 1, -4, -2, -1), point(80, 81, 2, 0.2, 0.4, 12), point(95, 96, 2, 0, 0, 0))));
    cases.add(new Case("adamw-preconditioned-and-hessian", "AdamW, beta1 0.8 (threshold 18), guard r* 1: a"
        + " preconditioned estimate gives an edge ratio and caps, a Hessian one gives NaN and no guard; groups;"
        + " continuous mode",
        spec("adamw-preconditioned-and-hessian", 80, 0, List.of(), 0, 0.003, 0.0001)
            .addGroups(group("decay", 0.003, 0.0001)).addGroups(group("no_decay", 0.006, 0.0))
            .setOptimizer(Optimizer.OPTIMIZER_ADAMW).setMomentum(0.8).setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1))
            .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(
                ConditionNumber.newBuilder().setMode(PhiMode.PHI_MODE_CONTINUOUS)))
            .build(),
        curvature(preconditioned(point(5, 6, 1, 10, 100, 9000)), point(20, 21, 1, 1, 2, 50000),
            preconditioned(point(40, 41, 1, 5, 50, 2000)), preconditioned(point(60, 61, 1, 1, 30, 20000)))));
    cases.add(new Case("sgd-default-margin-no-guard", "no momentum, no guard: edge ratios at 2 + 2*0.9, never guarded",
        spec("sgd-default-margin-no-guard", 40, 0, List.of(), 0, 1.0, 0.01).setPhiPolicy(fixed(2)).build(),
        curvature(point(10, 11, 1, 1, 1, 30))));
    return cases;
  }

  /** The custom condition_number job of the live and latched cases: same job, same timeline. */
  private static Case conditionNumberCase(String name, ConditionNumber policy, String about) {
    JobSpec spec = spec(name, 200, 20, List.of(70L, 120L, 160L, 200L), 0, 0.8, 0.008)
        .addGroups(group("fast", 0.8, 0.008)).addGroups(group("slow", 0.08, 0.0))
        .setOptimizer(Optimizer.OPTIMIZER_SGD).setApplyDelaySteps(3)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(policy))
        .build();
    // kappa 1 (phi clamps up to phi_min), 1e6 (clamps down to phi_max), lambda_low <= 0, and ordinary ones
    return new Case(name, about, spec, curvature(point(10, 13, 0, 2, 2, 2), point(40, 43, 1, 0.001, 0.001, 1000),
        point(69, 72, 1, -0.2, -0.1, 7), point(100, 103, 2, 0.05, 0.1, 12.5), point(117, 120, 2, 0.3, 0.4, 9),
        point(150, 153, 3, 0.1, 0.2, 80)));
  }

  private static JobSpec.Builder spec(String jobId, long totalSteps, long warmup, List<Long> boundaries,
      int phaseOffset, double lrMax, double lrMin) {
    return JobSpec.newBuilder().setJobId(jobId).setTotalSteps(totalSteps).setWarmupSteps(warmup)
        .addAllPhaseBoundaries(boundaries).setPhaseOffset(phaseOffset).setLrMax(lrMax).setLrMin(lrMin);
  }

  private static PhiPolicy fixed(double phi) {
    return PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(phi)).build();
  }

  private static ParamGroup group(String name, double lrMax, double lrMin) {
    return ParamGroup.newBuilder().setName(name).setLrMax(lrMax).setLrMin(lrMin).build();
  }

  /** An estimate as the estimator emits it: kappa = lambda_max/lambda_low as reported, one probe. */
  private static CurvaturePoint point(long step, long appliesFrom, long phase, double lambdaMin, double lambdaLow,
      double lambdaMax) {
    return CurvaturePoint.newBuilder().setStep(step).setAppliesFromStep(appliesFrom).setPhase(phase)
        .setLambdaMin(lambdaMin).setLambdaLow(lambdaLow).setLambdaMax(lambdaMax)
        .setKappa(lambdaLow > 0 ? lambdaMax / lambdaLow : 0).setLambdaMaxBound(lambdaMax * 1.001).setProbes(1).build();
  }

  private static CurvaturePoint preconditioned(CurvaturePoint p) {
    return p.toBuilder().setOperator(Operator.OPERATOR_PRECONDITIONED).build();
  }

  private static Curvature curvature(CurvaturePoint... points) {
    return Curvature.newBuilder().addAllTimeline(List.of(points)).build();
  }

  /**
   * The steps a case checks: every step of a short job; else the edges (0, warmup, each phase's first
   * and last step, where each estimate starts to apply) and 25 steps spread over the budget.
   */
  static TreeSet<Long> steps(Case c, JobPlan plan) {
    Budget b = plan.budget();
    long t = b.totalSteps();
    TreeSet<Long> steps = new TreeSet<>();
    if (t <= 64) {
      for (long s = 0; s < t; s++) {
        steps.add(s);
      }
      return steps;
    }
    for (int k = 0; k <= b.phases(); k++) {
      steps.add(b.phaseStart(k));
      steps.add(b.phaseStart(k) + 1);
      steps.add(b.phaseEnd(k) - 1);
    }
    for (CurvaturePoint p : c.curvature.getTimelineList()) {
      steps.add(p.getAppliesFromStep() - 1);
      steps.add(p.getAppliesFromStep());
    }
    for (Revision r : c.spec.getRevisionsList()) {
      steps.add(r.getFromStep() - 1);
      steps.add(r.getFromStep());
      steps.add(r.getFromStep() + 1);
    }
    for (int i = 0; i < 25; i++) {
      steps.add(t * i / 25 + i % 7);
    }
    steps.removeIf(s -> s < 0 || s >= t);
    return steps;
  }

  // ---- the file -------------------------------------------------------------------------------

  /** The whole file: doubles as Double.toString prints them (they read back to the same double). */
  static String generate() {
    StringBuilder out = new StringBuilder();
    out.append("{\n\"about\": \"Generated by wire/src/test/java/io/stepsize/wire/ScheduleConformanceTest.java;"
        + " do not edit. See conformance/README.md.\",\n");
    out.append("\"defaults\": ").append(defaults()).append(",\n");
    out.append("\"cases\": [\n");
    List<Case> cases = cases();
    for (int i = 0; i < cases.size(); i++) {
      Case c = cases.get(i);
      JobPlan plan = JobSpecs.toPlan(c.spec);
      var timeline = JobSpecs.timeline(c.curvature);
      out.append("{\"name\": ").append(quote(c.name)).append(",\n \"about\": ").append(quote(c.about))
          .append(",\n \"spec\": ").append(json(c.spec))
          .append(",\n \"curvature\": ").append(json(c.curvature))
          .append(",\n \"expected\": [\n");
      boolean first = true;
      for (long s : steps(c, plan)) {
        LearningRate r = LearningRateProtos.learningRate(c.spec.getJobId(), plan.evaluate(s, timeline));
        out.append(first ? "  " : ",\n  ").append(row(r));
        first = false;
      }
      out.append("\n ]}").append(i + 1 < cases.size() ? ",\n" : "\n");
    }
    out.append("]\n}\n");
    return out.toString();
  }

  /** The defaults and limits both ports write once each (schedule/ and wire/ in Java, constants in Python). */
  private static String defaults() {
    var d = io.stepsize.schedule.PhiPolicy.ConditionNumber.defaults();
    StringBuilder fallback = new StringBuilder();
    for (Optimizer o : Optimizer.values()) {
      if (o == Optimizer.UNRECOGNIZED) {
        continue;
      }
      JobSpec probe = JobSpec.newBuilder().setOptimizer(o).build();
      fallback.append(fallback.length() == 0 ? "" : ", ").append(quote(o.name())).append(": ")
          .append(JobSpecs.optimizer(probe).defaultPhi());
    }
    return "{\"apply_delay_steps\": " + JobSchedule.DEFAULT_APPLY_DELAY_STEPS
        + ", \"fallback_phi\": {" + fallback + "}"
        + ", \"condition_number\": {\"scale\": " + d.scale() + ", \"exponent\": " + d.exponent()
        + ", \"phi_min\": " + d.phiMin() + ", \"phi_max\": " + d.phiMax() + ", \"mode\": " + quote(d.mode().name())
        + "}, \"probe_max_m\": " + ProbeValidation.MAX_STEPS
        + ", \"momentum\": " + EdgeOfStability.DEFAULT_MOMENTUM + "}";
  }

  private static String row(LearningRate r) {
    StringBuilder groups = new StringBuilder();
    for (double g : r.getGroupLrsList()) {
      groups.append(groups.length() == 0 ? "" : ", ").append(number(g));
    }
    return "{\"step\": " + r.getStep() + ", \"lr\": " + number(r.getLr()) + ", \"group_lrs\": [" + groups + "]"
        + ", \"factor\": " + number(r.getFactor()) + ", \"phi\": " + number(r.getPhi()) + ", \"phase\": "
        + r.getPhase() + ", \"source\": " + quote(r.getSource().name()) + ", \"kappa\": " + number(r.getKappa())
        + ", \"lambda_low\": " + number(r.getLambdaLow()) + ", \"lambda_max\": " + number(r.getLambdaMax())
        + ", \"curvature_step\": " + r.getCurvatureStep() + ", \"revision\": " + r.getRevision()
        + ", \"edge_ratio\": " + (Double.isNaN(r.getEdgeRatio()) ? "null" : number(r.getEdgeRatio()))
        + ", \"guarded\": " + r.getGuarded() + "}";
  }

  /**
   * Double.toString: reads back to the same double; JSON has no NaN or infinity, so none may occur
   * (edge_ratio's NaN is written as null).
   */
  private static String number(double v) {
    if (!Double.isFinite(v)) {
      throw new IllegalStateException("a conformance value is not finite: " + v);
    }
    return Double.toString(v);
  }

  private static String json(MessageOrBuilder m) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(m);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
