package io.stepsize.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.PhiMode;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.PhiPolicy.ConditionNumber;
import io.stepsize.schedule.JobSchedule;
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
    rejected(spec().setPhiPolicy(PhiPolicy.newBuilder().setHalfLifeProbes(0)),
        "phi_policy.half_life_probes: must be finite and > 0 (got 0.0)");
    // job-level fields keep their own names
    rejected(spec().setApplyDelaySteps(-1), "apply_delay_steps: must be >= 0 (got -1)");
    rejected(spec().setPhaseOffset(2).addPhaseBoundaries(100), "phase_offset: must be 0 or 1 (got 2)");
    rejected(spec().setLrMin(0.5), "lr_min: must be <= lr_max (0.5 > 0.1)");
    rejected(spec().setJobId(" "), "job_id: must not be empty");
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
