package io.stepsize.service.grpc;

import static io.stepsize.service.grpc.InProcessApi.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.stepsize.client.RemoteSchedule;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.CreateJobRequest;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.EdgeGuard;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.ParamGroup;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.StepsizeGrpc.StepsizeBlockingStub;
import io.stepsize.proto.v1.WatchScheduleRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * JobSpec.momentum, the guard and LearningRate.edge_ratio / guarded over the gRPC API (DESIGN.md
 * §1.7), in-process. The jobs serve a constant lr (lr_max = lr_min), so the expected values are
 * written out by hand: threshold 2 + 2β, edge ratio eta·λ_max/threshold, cap r*·threshold/λ_max.
 */
class EdgeGuardApiTest {
  private InProcessApi api;
  private StepsizeBlockingStub alice;

  @BeforeEach
  void start() {
    api = InProcessApi.start();
    alice = api.alice;
  }

  @AfterEach
  void stop() {
    api.close();
  }

  /** lr 0.1, groups a = 0.2 (eta) and b = 0.05, constant over 100 steps; SGD. */
  private static JobSpec.Builder constant(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(0.1).setLrMin(0.1)
        .addGroups(ParamGroup.newBuilder().setName("a").setLrMax(0.2).setLrMin(0.2))
        .addGroups(ParamGroup.newBuilder().setName("b").setLrMax(0.05).setLrMin(0.05))
        .setOptimizer(Optimizer.OPTIMIZER_SGD)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(3)));
  }

  private static CurvaturePoint point(long step, double lambdaMax, Operator operator) {
    return CurvaturePoint.newBuilder().setStep(step).setAppliesFromStep(step + 1).setPhase(1).setLambdaMin(0.5)
        .setLambdaLow(0.5).setLambdaMax(lambdaMax).setKappa(lambdaMax / 0.5).setLambdaMaxBound(lambdaMax)
        .setProbes(1).setOperator(operator).build();
  }

  /** The record the estimator emits: the latest point and the timeline. */
  private static Curvature curvature(String id, CurvaturePoint... timeline) {
    CurvaturePoint last = timeline[timeline.length - 1];
    return Curvature.newBuilder().setJobId(id).setPhase(last.getPhase()).setStep(last.getStep())
        .setAppliesFromStep(last.getAppliesFromStep()).setLambdaMin(last.getLambdaMin())
        .setLambdaLow(last.getLambdaLow()).setLambdaMax(last.getLambdaMax()).setKappa(last.getKappa())
        .setLambdaMaxBound(last.getLambdaMaxBound()).setProbes(timeline.length).setOperator(last.getOperator())
        .setEdgeRatio(last.getEdgeRatio()).addAllTimeline(List.of(timeline)).build();
  }

  private Job create(JobSpec spec) {
    return alice.createJob(CreateJobRequest.newBuilder().setSpec(spec).build());
  }

  private LearningRate rate(String id, long step) {
    return alice.getLearningRate(GetLearningRateRequest.newBuilder().setJobId(id).setStep(step).build());
  }

  private List<LearningRate> rates(String id, long from, long count) {
    return alice.getLearningRates(GetLearningRatesRequest.newBuilder().setJobId(id).setFromStep(from)
        .setCount(count).build()).getRatesList();
  }

  @Test
  void createJobRefusesABadMomentumOrGuardNamingTheFieldAndTheRule() {
    expect(() -> create(constant("m").setMomentum(1).build()), Status.Code.INVALID_ARGUMENT,
        "spec.momentum: must be in [0, 1) (got 1.0)");
    expect(() -> create(constant("m").setMomentum(-0.1).build()), Status.Code.INVALID_ARGUMENT,
        "spec.momentum: must be in [0, 1) (got -0.1)");
    expect(() -> create(constant("m").setMomentum(Double.NaN).build()), Status.Code.INVALID_ARGUMENT,
        "spec.momentum: must be in [0, 1) (got NaN)");
    expect(() -> create(constant("g").setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(0)).build()),
        Status.Code.INVALID_ARGUMENT, "spec.guard.max_edge_ratio: must be finite and > 0 (got 0.0)");
    expect(() -> create(constant("g").setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(Double.POSITIVE_INFINITY))
        .build()), Status.Code.INVALID_ARGUMENT, "spec.guard.max_edge_ratio: must be finite and > 0 (got Infinity)");
    expect(() -> create(constant("g").setOptimizer(Optimizer.OPTIMIZER_OTHER)
        .setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1)).build()), Status.Code.INVALID_ARGUMENT,
        "spec.guard.max_edge_ratio: needs optimizer SGD or ADAMW (OTHER has no stability threshold, so the guard"
            + " could never act) (got 1.0)");
    assertThat(api.producer.history()).isEmpty();
    assertThat(api.views.job("m")).isNull();
    assertThat(api.views.job("g")).isNull();
  }

  @Test
  void momentumZeroIsNotTheDefaultAndTheGuardIsPartOfTheSpec() {
    JobSpec bare = constant("same").build();
    create(bare);
    // the default written out is the same job; another momentum or a guard is another spec
    assertThat(create(bare.toBuilder().setMomentum(0.9).setGuard(EdgeGuard.getDefaultInstance()).build()).getSpec())
        .isEqualTo(bare);
    expect(() -> create(bare.toBuilder().setMomentum(0).build()), Status.Code.ALREADY_EXISTS,
        "job_id: job 'same' exists with a different spec; use a new job_id");
    expect(() -> create(bare.toBuilder().setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1)).build()),
        Status.Code.ALREADY_EXISTS, "job_id: job 'same' exists with a different spec; use a new job_id");
  }

  /**
   * SGD with β = 0 (threshold 2) and r* = 1.5: λ_max = 40 caps eta = 0.2 at 1.5·2/40 = 0.075 and scales
   * lr and group b by 0.075/0.2; λ_max = 2 (cap 1.5) does not. Both while the job is provisional (just
   * created) and once its record is read back.
   */
  @Test
  void everyAnswerCarriesTheEdgeRatioAndTheGuardActsFromTheStepItsEstimateApplies() {
    JobSpec spec = constant("guard").setMomentum(0).setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1.5)).build();
    create(spec);
    LearningRate none = rate("guard", 5);
    assertThat(none.getEdgeRatio()).isNaN();
    assertThat(none.getGuarded()).isFalse();
    assertThat(none.getLr()).isEqualTo(0.1);

    api.views.putCurvature(curvature("guard", point(20, 40, Operator.OPERATOR_HESSIAN)));
    double cap = 1.5 * 2 / 40;
    for (int pass = 0; pass < 2; pass++) {
      LearningRate before = rate("guard", 20);
      assertThat(before.getGuarded()).isFalse();
      assertThat(before.getGroupLrsList()).containsExactly(0.2, 0.05);
      LearningRate capped = rate("guard", 21);
      assertThat(capped.getGuarded()).isTrue();
      assertThat(capped.getGroupLrsList()).containsExactly(cap, 0.05 * (cap / 0.2));
      assertThat(capped.getLr()).isEqualTo(0.1 * (cap / 0.2));
      assertThat(capped.getEdgeRatio()).isEqualTo(0.2 * 40 / 2);
      assertThat(capped.getLambdaMax()).isZero(); // a fixed phi reads no estimate; the edge ratio does
      List<LearningRate> window = rates("guard", 18, 5);
      assertThat(window).extracting(LearningRate::getGuarded).containsExactly(false, false, false, true, true);
      assertThat(window.get(2).getEdgeRatio()).isNaN();
      assertThat(window.get(4)).isEqualTo(rate("guard", 22));
      assertThat(window.get(4).getGroupLrs(0)).isEqualTo(cap);
      api.views.putJob(spec, "alice"); // the record read back: the same answers
    }

    api.views.putCurvature(curvature("guard", point(20, 40, Operator.OPERATOR_HESSIAN),
        point(30, 2, Operator.OPERATOR_HESSIAN)));
    LearningRate free = rate("guard", 31);
    assertThat(free.getGuarded()).isFalse();
    assertThat(free.getLr()).isEqualTo(0.1);
    assertThat(free.getEdgeRatio()).isEqualTo(0.2 * 2 / 2);
    assertThat(rate("guard", 30).getGuarded()).isTrue();
  }

  /** AdamW reads the preconditioned estimate (threshold (2 + 2·0.5)/(1 − 0.5) = 6); a Hessian one gives NaN. */
  @Test
  void adamWJobsReadThePreconditionedEstimate() {
    JobSpec spec = constant("adam").setOptimizer(Optimizer.OPTIMIZER_ADAMW).setMomentum(0.5)
        .setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1)).build();
    create(spec);
    api.views.putCurvature(curvature("adam", point(10, 3, Operator.OPERATOR_PRECONDITIONED),
        point(20, 60, Operator.OPERATOR_PRECONDITIONED), point(30, 1e6, Operator.OPERATOR_HESSIAN)));
    LearningRate under = rate("adam", 15);
    assertThat(under.getEdgeRatio()).isEqualTo(0.2 * 3 / 6);
    assertThat(under.getGuarded()).isFalse();
    LearningRate capped = rate("adam", 25);
    assertThat(capped.getEdgeRatio()).isEqualTo(0.2 * 60 / 6);
    assertThat(capped.getGuarded()).isTrue();
    assertThat(capped.getGroupLrs(0)).isEqualTo(1.0 * 6 / 60);
    LearningRate hessian = rate("adam", 35);
    assertThat(hessian.getEdgeRatio()).isNaN();
    assertThat(hessian.getGuarded()).isFalse();
    assertThat(hessian.getGroupLrsList()).containsExactly(0.2, 0.05);
  }

  /**
   * The Java client's local formula gives the service's answers, edge ratio and guard included, with
   * an estimate it read at open and one the watch pushed (which must keep its operator: read as a
   * Hessian point, the AdamW job would lose both its edge ratio and its guard).
   */
  @Test
  void theClientsLocalFormulaAnswersAsTheServiceOnceItIsGone() throws Exception {
    api.close();
    api = InProcessApi.start(InProcessApi.Options.defaults().tokens(false));
    StepsizeBlockingStub anyone = api.anonymous();
    JobSpec spec = constant("local").setOptimizer(Optimizer.OPTIMIZER_ADAMW).setMomentum(0.5)
        .setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1)).build();
    anyone.createJob(CreateJobRequest.newBuilder().setSpec(spec).build());
    CurvaturePoint first = point(10, 6, Operator.OPERATOR_PRECONDITIONED);
    api.views.putCurvature(curvature("local", first));
    StepsizeClient client = StepsizeClient.of(api.channel(), Duration.ofSeconds(5));
    RemoteSchedule remote = RemoteSchedule.open(client, spec, new RemoteSchedule.Options(10, Duration.ofSeconds(600)));
    try {
      assertThat(remote.awaitEstimate(10, Duration.ofSeconds(10))).isTrue();
      api.views.putCurvature(curvature("local", first, point(30, 600, Operator.OPERATOR_PRECONDITIONED)));
      assertThat(remote.awaitEstimate(30, Duration.ofSeconds(10))).isTrue();
      List<LearningRate> served = anyone.getLearningRates(GetLearningRatesRequest.newBuilder().setJobId("local")
          .setFromStep(0).setCount(100).build()).getRatesList();
      assertThat(served.get(50).getGuarded()).isTrue();
      assertThat(served.get(50).getGroupLrs(0)).isEqualTo(1.0 * 6 / 600);
      assertThat(served.get(20).getEdgeRatio()).isEqualTo(0.2 * 6 / 6);
      api.channel().shutdownNow();
      for (int s = 0; s < 100; s++) {
        assertThat(remote.value(s)).as("step %d", s).isEqualTo(served.get(s));
      }
      assertThat(remote.localAnswers()).isGreaterThan(80);
    } finally {
      remote.close();
    }
  }

  /** A watcher learns the estimate with its operator and edge ratio, and prefetches from its step again. */
  @Test
  void watchScheduleCarriesTheEstimatesOperatorAndEdgeRatio() {
    create(constant("watch").setOptimizer(Optimizer.OPTIMIZER_ADAMW).build());
    api.views.putCurvature(curvature("watch",
        point(10, 3, Operator.OPERATOR_PRECONDITIONED).toBuilder().setEdgeRatio(0.75).build()));
    ScheduleUpdate u = alice.watchSchedule(WatchScheduleRequest.newBuilder().setJobId("watch").build()).next();
    assertThat(u.getFromStep()).isEqualTo(11);
    assertThat(u.getCurvature().getOperator()).isEqualTo(Operator.OPERATOR_PRECONDITIONED);
    assertThat(u.getCurvature().getEdgeRatio()).isEqualTo(0.75);
    assertThat(u.getCurvature().getTimelineCount()).isZero();
  }
}
