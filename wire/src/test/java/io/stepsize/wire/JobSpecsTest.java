package io.stepsize.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.JsonFormat;
import io.stepsize.proto.v1.EdgeGuard;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.PhiMode;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.PhiPolicy.ConditionNumber;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.StabilityMargin;
import io.stepsize.schedule.LowerEdgeRule;
import org.junit.jupiter.api.Test;

/** JobSpecs maps fields and names them by their proto path; the rules and defaults are schedule/'s. */
class JobSpecsTest {

  private static JobSpec.Builder spec() {
    return JobSpec.newBuilder().setJobId("j").setTotalSteps(100).setLrMax(0.1).setLrMin(0.001);
  }

  private static JobSpec.Builder withCondition(ConditionNumber.Builder c) {
    return spec().setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(c));
  }

  private static void rejected(JobSpec.Builder spec, String message) {
    assertThatThrownBy(() -> JobSpecs.toSchedule(spec.build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
  }

  @Test
  void messagesNameTheProtoPath() {
    rejected(withCondition(ConditionNumber.newBuilder().setScale(0)),
        "phi_policy.condition_number.scale: must be finite and > 0 (got 0.0)");
    rejected(withCondition(ConditionNumber.newBuilder().setExponent(Double.NaN)),
        "phi_policy.condition_number.exponent: must be finite (got NaN)");
    rejected(withCondition(ConditionNumber.newBuilder().setPhiMin(20).setPhiMax(10)),
        "phi_policy.condition_number.phi_min: must be <= phi_max (20.0 > 10.0)");
    rejected(withCondition(ConditionNumber.newBuilder().setQuantile(1)),
        "phi_policy.condition_number.quantile: must be in (0, 1) (got 1.0)");
    rejected(withCondition(ConditionNumber.newBuilder().setTol(-1)),
        "phi_policy.condition_number.tol: must be finite and > 0 (got -1.0)");
    rejected(spec().setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(-1))),
        "phi_policy.fixed.phi: must be finite and > 0 (got -1.0)");
    rejected(spec().setPhiPolicy(PhiPolicy.newBuilder().setFallbackPhi(Double.POSITIVE_INFINITY)),
        "phi_policy.fallback_phi: must be finite and > 0 (got Infinity)");
    rejected(spec().setPhiPolicy(PhiPolicy.newBuilder().setHalfLifeProbes(-1)),
        "phi_policy.half_life_probes: must be finite and >= 0 (got -1.0)");
    // 0 is no smoothing (the estimator's LogEwma gives the newest estimate weight 1), not an error
    assertThat(JobSpecs.smoothing(spec().setPhiPolicy(PhiPolicy.newBuilder().setHalfLifeProbes(0)).build())
        .halfLifeProbes()).isEqualTo(0.0);
    // job-level fields keep their own names
    rejected(spec().setApplyDelaySteps(-1), "apply_delay_steps: must be >= 0 (got -1)");
    rejected(spec().setPhaseOffset(2).addPhaseBoundaries(100), "phase_offset: must be 0 or 1 (got 2)");
    rejected(spec().setLrMin(0.5), "lr_min: must be <= lr_max (0.5 > 0.1)");
    rejected(spec().setJobId(""), "job_id: must not be empty");
    rejected(spec().setJobId(" "), "job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0020 at index 0)");
    // the stability margin (DESIGN.md §1.7)
    rejected(spec().setMomentum(1), "momentum: must be in [0, 1) (got 1.0)");
    rejected(spec().setMomentum(-0.5), "momentum: must be in [0, 1) (got -0.5)");
    rejected(spec().setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(0)),
        "guard.max_edge_ratio: must be finite and > 0 (got 0.0)");
    rejected(spec().setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(Double.NaN)),
        "guard.max_edge_ratio: must be finite and > 0 (got NaN)");
    rejected(spec().setOptimizer(Optimizer.OPTIMIZER_OTHER).setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1)),
        "guard.max_edge_ratio: needs optimizer SGD or ADAMW (OTHER has no stability threshold, so the guard could"
            + " never act) (got 1.0)");
  }

  @Test
  void thePlanCarriesTheStabilityMargin() {
    assertThat(JobSpecs.toPlan(spec().build()).margin()).isEqualTo(StabilityMargin.DEFAULT);
    JobSpec adam = spec().setOptimizer(Optimizer.OPTIMIZER_ADAMW).setMomentum(0.8)
        .setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1.25))
        .addRevisions(io.stepsize.proto.v1.Revision.newBuilder().setFromStep(10).setHold(true)).build();
    assertThat(JobSpecs.toPlan(adam).margin())
        .isEqualTo(new StabilityMargin(io.stepsize.schedule.Optimizer.ADAMW, 0.8, 1.25));
    // a revision keeps it
    assertThat(JobSpecs.toPlan(adam).revise(io.stepsize.schedule.Revision.at(20)).margin())
        .isEqualTo(JobSpecs.toPlan(adam).margin());
  }

  /** edge_ratio and guarded reach the wire; NaN stays NaN through the proto's bytes and its JSON. */
  @Test
  void learningRateCarriesTheEdgeRatioAndGuard() throws Exception {
    JobSpec spec = spec().setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(3)))
        .setMomentum(0).setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1)).build();
    var plan = JobSpecs.toPlan(spec);
    LearningRate none = LearningRateProtos.learningRate("j", plan.evaluate(50, CurvatureTimeline.EMPTY));
    assertThat(none.getEdgeRatio()).isNaN();
    assertThat(LearningRate.parseFrom(none.toByteArray()).getEdgeRatio()).isNaN();
    LearningRate.Builder fromJson = LearningRate.newBuilder();
    JsonFormat.parser().merge(JsonFormat.printer().print(none), fromJson);
    assertThat(fromJson.getEdgeRatio()).isNaN();
    assertThat(none.getGuarded()).isFalse();

    var point = new io.stepsize.schedule.CurvaturePoint(10, 11, 1, 1, 1, 100, 100, 100, 1);
    var t = CurvatureTimeline.of(java.util.List.of(point));
    var scheduled = plan.evaluate(5, t); // before the point applies
    LearningRate guarded = LearningRateProtos.learningRate("j", plan.evaluate(50, t));
    assertThat(guarded.getGuarded()).isTrue();
    assertThat(guarded.getLr()).isEqualTo(1.0 * 2 / 100);
    assertThat(guarded.getEdgeRatio()).isEqualTo(JobSpecs.toPlan(spec.toBuilder().clearGuard().build())
        .evaluate(50, t).lr() * 100 / 2);
    assertThat(scheduled.guarded()).isFalse();
  }

  @Test
  void idsAndSizesAreBounded() {
    rejected(spec().setJobId("j".repeat(1_000_000)), "job_id: must be at most 128 characters (got 1000000)");
    rejected(spec().setJobId("a\tb"), "job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0009 at index 1)");
    JobSpec.Builder huge = spec();
    for (int i = 0; i < 100_000; i++) {
      huge.addGroups(io.stepsize.proto.v1.ParamGroup.newBuilder().setName("g" + i).setLrMax(0.1));
    }
    rejected(huge, "spec: must serialize to at most 1000000 bytes, the largest record Stepsize publishes (got "
        + huge.build().getSerializedSize() + ")");
    rejected(spec().setTotalSteps(Long.MAX_VALUE), "total_steps: must be <= 2^53 = 9007199254740992, where a double "
        + "still counts steps exactly (got 9223372036854775807)");
  }

  /** A value this build does not know arrives as UNRECOGNIZED: refused, never read as the default. */
  @Test
  void unknownEnumValuesAreRefused() {
    rejected(spec().setOptimizerValue(99),
        "optimizer: must be one of OPTIMIZER_UNSPECIFIED, OPTIMIZER_SGD, OPTIMIZER_ADAMW, OPTIMIZER_OTHER (got 99)");
    // also when fallback_phi is set and the optimizer would not be read for a default
    rejected(spec().setOptimizerValue(99).setPhiPolicy(PhiPolicy.newBuilder().setFallbackPhi(2)),
        "optimizer: must be one of OPTIMIZER_UNSPECIFIED, OPTIMIZER_SGD, OPTIMIZER_ADAMW, OPTIMIZER_OTHER (got 99)");
    rejected(withCondition(ConditionNumber.newBuilder().setLowerEdgeValue(77)),
        "phi_policy.condition_number.lower_edge: must be one of LOWER_EDGE_UNSPECIFIED, LOWER_EDGE_SMALLEST_POSITIVE, "
            + "LOWER_EDGE_QUANTILE, LOWER_EDGE_FLOOR, LOWER_EDGE_GRADIENT_HARMONIC (got 77)");
    rejected(withCondition(ConditionNumber.newBuilder().setModeValue(77)),
        "phi_policy.condition_number.mode: must be one of PHI_MODE_UNSPECIFIED, PHI_MODE_LIVE, PHI_MODE_LATCHED, "
            + "PHI_MODE_CONTINUOUS (got 77)");
  }

  @Test
  void aRecordsRevisionsAreReadInOrderAndABrokenRuleNamesTheRevision() {
    var extend = io.stepsize.proto.v1.Revision.newBuilder().setFromStep(40).setTotalSteps(150);
    var plan = JobSpecs.toPlan(spec().addRevisions(extend).addRevisions(
        io.stepsize.proto.v1.Revision.newBuilder().setFromStep(60).setPhiPolicy(PhiPolicy.newBuilder()
            .setConditionNumber(ConditionNumber.newBuilder().setMode(io.stepsize.proto.v1.PhiMode.PHI_MODE_CONTINUOUS))))
        .build());
    assertThat(plan.budget().totalSteps()).isEqualTo(150);
    assertThat(plan.revisions()).hasSize(2);
    assertThat(plan.inForce().policy()).isEqualTo(
        io.stepsize.schedule.PhiPolicy.ConditionNumber.defaults().withMode(io.stepsize.schedule.PhiMode.CONTINUOUS));
    // the spec's own schedule ignores them, and normalized() drops them (CreateJob's idempotence)
    assertThat(JobSpecs.toSchedule(spec().addRevisions(extend).build()).budget().totalSteps()).isEqualTo(100);
    assertThat(JobSpecs.normalized(spec().addRevisions(extend).build())).isEqualTo(JobSpecs.normalized(spec().build()));
    assertThatThrownBy(() -> JobSpecs.toPlan(spec().addRevisions(extend).addRevisions(
        io.stepsize.proto.v1.Revision.newBuilder().setFromStep(50).setSetLr(-1)).build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("revisions[1].set_lr: must be finite and >= 0 (got -1.0)");
    assertThatThrownBy(() -> JobSpecs.toPlan(spec().addRevisions(io.stepsize.proto.v1.Revision.newBuilder()
        .setFromStep(50).setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(-2))))
        .build())).hasMessage("revisions[0].phi_policy.fixed.phi: must be finite and > 0 (got -2.0)");
    assertThatThrownBy(() -> JobSpecs.toPlan(spec().addRevisions(extend).addRevisions(
        io.stepsize.proto.v1.Revision.newBuilder().setFromStep(30)).build()))
        .hasMessage("revisions[1].from_step: must be >= the previous revision's from_step = 40 (got 30)");
  }

  @Test
  void groupNamesAreNonEmptyAndUnique() {
    var head = io.stepsize.proto.v1.ParamGroup.newBuilder().setName("head").setLrMax(0.1);
    rejected(spec().addGroups(head).addGroups(head.clone().setName("")), "groups[1].name: must not be empty");
    rejected(spec().addGroups(head).addGroups(head), "groups[1].name: must be unique within the job ('head' is also groups[0])");
    // the name rule comes before the range rule, which names the group by its name
    rejected(spec().addGroups(head.clone().setName("").setLrMin(1)), "groups[0].name: must not be empty");
    rejected(spec().addGroups(head.clone().setLrMin(1)), "groups[head].lr_min: must be <= lr_max (1.0 > 0.1)");
  }

  /** Defaults written out or left unset are the same job. */
  @Test
  void normalizedSpecsOfTheSameJobAreEqual() {
    JobSpec bare = spec().build();
    JobSpec explicit = spec().setApplyDelaySteps(1).setOptimizer(Optimizer.OPTIMIZER_SGD).addPhaseBoundaries(100)
        .setMomentum(0.9)
        .setPhiPolicy(PhiPolicy.newBuilder().setFallbackPhi(5).setHalfLifeProbes(3)
            .setConditionNumber(ConditionNumber.newBuilder().setScale(0.1).setExponent(1).setPhiMin(0.1).setPhiMax(1000)
                .setLowerEdge(LowerEdge.LOWER_EDGE_SMALLEST_POSITIVE).setFloorRatio(1e-6).setQuantile(0.05).setTol(1e-2)
                .setMode(PhiMode.PHI_MODE_LIVE)))
        .build();
    assertThat(bare).isNotEqualTo(explicit);
    assertThat(JobSpecs.normalized(bare)).isEqualTo(explicit);
    assertThat(JobSpecs.normalized(explicit)).isEqualTo(explicit);
    assertThat(JobSpecs.normalized(spec().setApplyDelaySteps(1).build())).isEqualTo(JobSpecs.normalized(bare));
    // a different value stays different; AdamW's default fallback is its own
    assertThat(JobSpecs.normalized(spec().setApplyDelaySteps(2).build())).isNotEqualTo(JobSpecs.normalized(bare));
    assertThat(JobSpecs.normalized(spec().setOptimizer(Optimizer.OPTIMIZER_ADAMW).build()).getPhiPolicy().getFallbackPhi())
        .isEqualTo(0.5);
    // fixed: only the job-level defaults are written
    JobSpec fixed = spec().setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(3))).build();
    assertThat(JobSpecs.normalized(fixed)).isEqualTo(fixed.toBuilder().setApplyDelaySteps(1)
        .setOptimizer(Optimizer.OPTIMIZER_SGD).addPhaseBoundaries(100).setMomentum(0.9)
        .setPhiPolicy(fixed.getPhiPolicy().toBuilder().setFallbackPhi(5).setHalfLifeProbes(3)).build());
    // momentum 0.9 is the default; an empty guard is no guard, a set one is another job
    assertThat(JobSpecs.normalized(spec().setGuard(EdgeGuard.getDefaultInstance()).build()))
        .isEqualTo(JobSpecs.normalized(bare));
    assertThat(JobSpecs.normalized(spec().setMomentum(0.5).build())).isNotEqualTo(JobSpecs.normalized(bare));
    JobSpec guarded = spec().setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1.5)).build();
    assertThat(JobSpecs.normalized(guarded)).isNotEqualTo(JobSpecs.normalized(bare));
    assertThat(JobSpecs.normalized(guarded).getGuard().getMaxEdgeRatio()).isEqualTo(1.5);
    rejected(spec().setApplyDelaySteps(-1), "apply_delay_steps: must be >= 0 (got -1)");
    assertThatThrownBy(() -> JobSpecs.normalized(spec().setApplyDelaySteps(-1).build()))
        .hasMessage("apply_delay_steps: must be >= 0 (got -1)");
  }

  /**
   * floor_ratio is in [0, 1) (schedule's rule; wire had (0, 1)): τ = floor_ratio·λ_max may be 0, the
   * literal "smallest positive"; 1 would put τ at λ_max, so nothing qualifies.
   */
  @Test
  void floorRatioIsInZeroToOne() {
    var zero = JobSpecs.lowerEdgeSettings(withCondition(ConditionNumber.newBuilder().setFloorRatio(0)).build());
    assertThat(zero.floorRatio()).isZero();
    rejected(withCondition(ConditionNumber.newBuilder().setFloorRatio(1)),
        "phi_policy.condition_number.floor_ratio: must be in [0, 1) (got 1.0)");
    rejected(withCondition(ConditionNumber.newBuilder().setFloorRatio(-1e-9)),
        "phi_policy.condition_number.floor_ratio: must be in [0, 1) (got -1.0E-9)");
  }

  @Test
  void unsetFieldsTakeTheDesignDefaults() {
    JobSpec bare = spec().build();
    JobSchedule job = JobSpecs.toSchedule(bare);
    assertThat(job.applyDelaySteps()).isEqualTo(1);
    assertThat(job.fallbackPhi()).isEqualTo(5); // unspecified optimizer = SGD
    assertThat(JobSpecs.toSchedule(spec().setOptimizer(Optimizer.OPTIMIZER_ADAMW).build()).fallbackPhi()).isEqualTo(0.5);
    assertThat(JobSpecs.toSchedule(spec().setOptimizer(Optimizer.OPTIMIZER_OTHER).build()).fallbackPhi()).isEqualTo(0.5);
    assertThat(JobSpecs.halfLifeProbes(bare)).isEqualTo(3);
    var cn = (io.stepsize.schedule.PhiPolicy.ConditionNumber) job.policy();
    assertThat(new double[] {cn.scale(), cn.exponent(), cn.phiMin(), cn.phiMax(), cn.floorRatio(), cn.quantile(),
        cn.tol()}).containsExactly(0.1, 1, 0.1, 1000, 1e-6, 0.05, 1e-2);
    assertThat(cn.lowerEdge()).isEqualTo(LowerEdgeRule.SMALLEST_POSITIVE);
    assertThat(cn.mode()).isEqualTo(io.stepsize.schedule.PhiMode.LIVE);
    // set fields win over the defaults
    var set = (io.stepsize.schedule.PhiPolicy.ConditionNumber) JobSpecs.toSchedule(withCondition(
        ConditionNumber.newBuilder().setLowerEdge(LowerEdge.LOWER_EDGE_FLOOR).setMode(PhiMode.PHI_MODE_LATCHED)
            .setScale(2)).build()).policy();
    assertThat(set.lowerEdge()).isEqualTo(LowerEdgeRule.FLOOR);
    assertThat(set.mode()).isEqualTo(io.stepsize.schedule.PhiMode.LATCHED);
    assertThat(set.scale()).isEqualTo(2);
  }
}
