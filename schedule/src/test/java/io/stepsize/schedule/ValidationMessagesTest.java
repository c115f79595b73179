package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** Every rule is an IllegalArgumentException naming the snake_case field and the rule, exactly. */
class ValidationMessagesTest {

  private static void rejected(ThrowingCallable call, String message) {
    assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
  }

  private static JobSchedule job(double lrMax, double lrMin) {
    return new JobSchedule(Budget.of(100), lrMax, lrMin, List.of(), new PhiPolicy.Fixed(1), 0.5, 1);
  }

  @Test
  void phi() {
    rejected(() -> new PhiPolicy.Fixed(Double.NaN), "phi: must be finite and > 0 (got NaN)");
    rejected(() -> new PhiPolicy.Fixed(0), "phi: must be finite and > 0 (got 0.0)");
    rejected(() -> new PhiPolicy.Fixed(-2), "phi: must be finite and > 0 (got -2.0)");
    rejected(() -> new PhiPolicy.Fixed(Double.POSITIVE_INFINITY), "phi: must be finite and > 0 (got Infinity)");
    rejected(() -> Uba.factor(0, 1.0), "phi: must be finite and > 0 (got 0.0)");
    rejected(() -> Uba.factor(Double.NaN, Budget.of(10), 3), "phi: must be finite and > 0 (got NaN)");
    rejected(() -> new JobSchedule(Budget.of(100), 1, 0, List.of(), new PhiPolicy.Chebyshev(), 0, 1),
        "fallback_phi: must be finite and > 0 (got 0.0)");
  }

  @Test
  void totalSteps() {
    rejected(() -> Budget.of(0), "total_steps: must be >= 1 (got 0)");
    rejected(() -> Budget.of(-5), "total_steps: must be >= 1 (got -5)");
    // 2^53: the last total a double counts exactly; one more is refused, as is 2^63 − 1
    assertThat(Budget.of(1L << 53).totalSteps()).isEqualTo(9_007_199_254_740_992L);
    rejected(() -> Budget.of((1L << 53) + 1), "total_steps: must be <= 2^53 = 9007199254740992, where a double "
        + "still counts steps exactly (got 9007199254740993)");
    rejected(() -> Budget.of(Long.MAX_VALUE), "total_steps: must be <= 2^53 = 9007199254740992, where a double "
        + "still counts steps exactly (got 9223372036854775807)");
  }

  /** A window stops at T, and from_step + count cannot overflow however large count is. */
  @Test
  void windowEnd() {
    long t = Budget.MAX_TOTAL_STEPS;
    Budget budget = Budget.of(t);
    assertThat(budget.windowEnd(t - 10, 100)).isEqualTo(t);
    assertThat(budget.windowEnd(t - 10, Long.MAX_VALUE)).isEqualTo(t);
    assertThat(budget.windowEnd(t - 10, 4)).isEqualTo(t - 6);
    assertThat(budget.windowEnd(0, 0)).isZero();
    assertThat(Budget.of(100).windowEnd(95, 10)).isEqualTo(100);
    rejected(() -> budget.windowEnd(t, 1), "step: must be in [0, total_steps = 9007199254740992) (got 9007199254740992)");
    rejected(() -> budget.windowEnd(0, -1), "count: must be >= 0 (got -1)");
    // strided: steps 95, 98 of T = 100 (101 is past the end); a stride past the end leaves from_step alone
    assertThat(Budget.of(100).windowCount(95, 10, 3)).isEqualTo(2);
    assertThat(Budget.of(100).windowCount(95, 1, 3)).isEqualTo(1);
    assertThat(Budget.of(100).windowCount(0, 10, 10)).isEqualTo(10);
    assertThat(Budget.of(100).windowCount(0, 11, 10)).isEqualTo(10);
    assertThat(budget.windowCount(0, Long.MAX_VALUE, Long.MAX_VALUE)).isEqualTo(1);
    assertThat(budget.windowCount(t - 1, Long.MAX_VALUE, 1)).isEqualTo(1);
    rejected(() -> budget.windowCount(0, 1, 0), "stride: must be >= 1 (got 0)");
  }

  @Test
  void groupNames() {
    ParamGroup body = new ParamGroup("body", 0.1, 0.0);
    rejected(() -> new JobSchedule(Budget.of(100), 1, 0, List.of(body, new ParamGroup("", 0.1, 0.0)),
        new PhiPolicy.Fixed(1), 1, 1), "groups[1].name: must not be empty");
    rejected(() -> new JobSchedule(Budget.of(100), 1, 0, List.of(body, new ParamGroup("head", 0.1, 0.0), body),
        new PhiPolicy.Fixed(1), 1, 1), "groups[2].name: must be unique within the job ('body' is also groups[0])");
    rejected(() -> ParamGroup.checkNames(List.of("x".repeat(129))),
        "groups[0].name: must be at most 128 characters (got 129)");
    ParamGroup.checkNames(List.of("x".repeat(128), "y"));
  }

  @Test
  void boundaries() {
    rejected(() -> new Budget(100, 0, new long[] {50, 40, 100}, 0),
        "phase_boundaries: must be strictly increasing (B_2 = 40 <= B_1 = 50)");
    rejected(() -> new Budget(100, 0, new long[] {50, 50, 100}, 0),
        "phase_boundaries: must be strictly increasing (B_2 = 50 <= B_1 = 50)");
    rejected(() -> new Budget(100, 20, new long[] {20, 100}, 0),
        "phase_boundaries: must be strictly increasing (B_1 = 20 <= B_0 = warmup_steps = 20)");
    rejected(() -> new Budget(100, 0, new long[] {50, 90}, 0),
        "phase_boundaries: must end at total_steps = 100 (got 90)");
    rejected(() -> new Budget(100, 0, new long[] {50, 120}, 0),
        "phase_boundaries: must end at total_steps = 100 (got 120)");
    rejected(() -> new Budget(100, 0, new long[] {100}, 2), "phase_offset: must be 0 or 1 (got 2)");
  }

  @Test
  void learningRates() {
    rejected(() -> job(0.1, 0.2), "lr_min: must be <= lr_max (0.2 > 0.1)");
    rejected(() -> job(0.1, -0.1), "lr_min: must be finite and >= 0 (got -0.1)");
    rejected(() -> job(Double.NaN, 0), "lr_max: must be finite and >= 0 (got NaN)");
    rejected(() -> new ParamGroup("head", 0.1, 0.2), "groups[head].lr_min: must be <= lr_max (0.2 > 0.1)");
  }

  @Test
  void warmupAndDelay() {
    rejected(() -> Budget.of(100, -1), "warmup_steps: must be >= 0 and < total_steps (got -1, total_steps = 100)");
    rejected(() -> Budget.of(100, 100), "warmup_steps: must be >= 0 and < total_steps (got 100, total_steps = 100)");
    rejected(() -> new JobSchedule(Budget.of(100), 1, 0, List.of(), new PhiPolicy.Fixed(1), 1, -1),
        "apply_delay_steps: must be >= 0 (got -1)");
  }

  @Test
  void step() {
    Budget budget = Budget.of(100);
    rejected(() -> budget.checkStep(100), "step: must be in [0, total_steps = 100) (got 100)");
    rejected(() -> budget.checkStep(-1), "step: must be in [0, total_steps = 100) (got -1)");
    rejected(() -> LrEvaluator.evaluate(job(1, 0), 100, CurvatureTimeline.EMPTY),
        "step: must be in [0, total_steps = 100) (got 100)");
    rejected(() -> Baseline.COSINE.factor(7, 7), "step: must be in [0, total_steps = 7) (got 7)");
  }

  @Test
  void policiesAndNames() {
    rejected(() -> new PhiPolicy.ConditionNumber(1, 1, 10, 1, LowerEdgeRule.FLOOR, 1e-6, 0.05, 1e-2, PhiMode.LIVE),
        "phi_min: must be <= phi_max (10.0 > 1.0)");
    rejected(() -> new PhiPolicy.ConditionNumber(1, 1, 0.1, 10, LowerEdgeRule.FLOOR, 1e-6, 1.5, 1e-2, PhiMode.LIVE),
        "quantile: must be in (0, 1) (got 1.5)");
    rejected(() -> Baseline.byName("sawtooth"),
        "baseline: must be one of constant, step, cosine, linear, rex, onecycle, cyclic, wsd, exponential (got sawtooth)");
  }
}
