package io.stepsize.service.grpc;

import static io.stepsize.service.grpc.InProcessApi.expect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.stepsize.proto.v1.CreateJobRequest;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.GetCurvatureRequest;
import io.stepsize.proto.v1.GetGradientStatsRequest;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.GradientStatsPoint;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.ParamGroup;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ReportProbesRequest;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.Source;
import io.stepsize.proto.v1.Start;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.stepsize.proto.v1.StepsizeGrpc.StepsizeBlockingStub;
import io.stepsize.proto.v1.WatchScheduleRequest;
import io.stepsize.service.core.Intake;
import io.stepsize.service.core.Jobs;
import io.stepsize.service.core.Queries;
import io.stepsize.service.security.AuthInterceptor;
import io.stepsize.service.security.Limits;
import io.stepsize.service.security.Tenants;
import io.stepsize.service.view.LocalViews;
import io.stepsize.wire.RecordHeaders;
import io.stepsize.wire.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The gRPC contract of DESIGN.md §3 in-process, as grpc-java's route_guide tests run theirs: the
 * real service, interceptors and core over hand-filled local views, with a MockProducer in place
 * of Kafka (its history is what the service published). Expected values are computed here from
 * the formulas of DESIGN.md §1.1 and §1.3, not by the schedule library. What needs a broker (the
 * estimator, restarts, TLS) stays in the broker-backed tests.
 */
class InProcessApiTest {
  private static final String TAKEN = "job_id: job 'alice-1' is taken; use a new job_id";
  private static final String CATCHING_UP =
      "the views are catching up with the jobs and curvature topics after a start; retry in a few seconds";

  private InProcessApi api;
  private LocalViews views;
  private MockProducer<String, byte[]> producer;
  private List<Long> reported;
  private ManagedChannel channel;
  private StepsizeBlockingStub alice;
  private StepsizeBlockingStub bob;

  private void start(Limits limits, boolean autoComplete) {
    start(limits, autoComplete, true);
  }

  /** @param caughtUp whether the views have read the topics to their ends, as a loader tells them */
  private void start(Limits limits, boolean autoComplete, boolean caughtUp) {
    api = InProcessApi.start(InProcessApi.Options.defaults().limits(limits).autoComplete(autoComplete)
        .caughtUp(caughtUp));
    views = api.views;
    producer = api.producer;
    reported = api.reported;
    channel = api.channel();
    alice = api.alice;
    bob = api.bob;
  }

  private void start() {
    start(Limits.DEFAULT, true);
  }

  @AfterEach
  void stop() {
    if (api != null) {
      api.close();
    }
  }

  private StepsizeBlockingStub stub(String token) {
    return api.stub(token);
  }

  // --- the formulas, written out from DESIGN.md §1.1 ----------------------------------------------

  /** f of eq. 5 literally: theta = (2j − 1)π/(2L_k) + (k − 1 + offset)π, c = 1 + cos θ. */
  private static double uba(double phi, long step, long[] boundaries, int offset) {
    int k = 1;
    while (step >= boundaries[k]) {
      k++;
    }
    long length = boundaries[k] - boundaries[k - 1];
    long j = step - boundaries[k - 1] + 1;
    double theta = (2 * j - 1) * Math.PI / (2.0 * length) + (k - 1 + offset) * Math.PI;
    double c = 1 + Math.cos(theta);
    return 2 * c / (2 * phi + (2 - phi) * c);
  }

  /** Equal up to the rounding of cos near a phase's end (c = 1 + cos θ cancels there). */
  private static void close(double actual, double expected) {
    assertThat(actual).isCloseTo(expected, within(1e-11 * Math.abs(expected) + 1e-300));
  }

  private static JobSpec.Builder job(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(0.1).setLrMin(0.001);
  }

  private static JobSpec fixed(String id) {
    return job(id).setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
  }

  /** phi = scale·(2κ)^exponent = 0.5·2κ: 16 for the estimate of {@link #estimate}. */
  private static JobSpec conditionNumber(String id) {
    return job(id).setPhiPolicy(PhiPolicy.newBuilder()
        .setConditionNumber(PhiPolicy.ConditionNumber.newBuilder().setScale(0.5).setExponent(1))).build();
  }

  /** One estimate at probe step 20: λ_low 0.5, λ_max 8, κ 16, applying from step 21 (delay 1). */
  private static Curvature estimate(String id) {
    CurvaturePoint point = CurvaturePoint.newBuilder().setStep(20).setAppliesFromStep(21).setPhase(1)
        .setLambdaMin(0.5).setLambdaLow(0.5).setLambdaMax(8).setKappa(16).setLambdaMaxBound(8).setProbes(1).build();
    return Curvature.newBuilder().setJobId(id).setPhase(1).setStep(20).setAppliesFromStep(21).setLambdaMin(0.5)
        .setLambdaLow(0.5).setLambdaMax(8).setKappa(16).setLambdaMaxBound(8).setProbes(1).addTimeline(point).build();
  }

  private static ProbeReport probe(String jobId, long step) {
    return ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId("w0")
        .setLanczos(LanczosProbe.newBuilder().addAlpha(2).addAlpha(8).addBeta(0.5).addBeta(0)).build();
  }

  private static LearningRate rate(StepsizeBlockingStub s, String jobId, long step) {
    return s.getLearningRate(GetLearningRateRequest.newBuilder().setJobId(jobId).setStep(step).build());
  }

  private static LearningRates rates(StepsizeBlockingStub s, String jobId, long from, long count) {
    return s.getLearningRates(GetLearningRatesRequest.newBuilder().setJobId(jobId).setFromStep(from).setCount(count).build());
  }

  private static Job getJob(StepsizeBlockingStub s, String jobId) {
    return s.getJob(GetJobRequest.newBuilder().setJobId(jobId).build());
  }

  private static Curvature curvature(StepsizeBlockingStub s, String jobId) {
    return s.getCurvature(GetCurvatureRequest.newBuilder().setJobId(jobId).build());
  }

  private static Job create(StepsizeBlockingStub s, JobSpec spec) {
    return s.createJob(CreateJobRequest.newBuilder().setSpec(spec).build());
  }

  private static long report(StepsizeBlockingStub s, ProbeReport... probes) {
    return s.reportProbes(ReportProbesRequest.newBuilder().addAllProbes(List.of(probes)).build()).getAccepted();
  }

  /** The first update of a watch, or its refusal. */
  private static ScheduleUpdate firstUpdate(StepsizeBlockingStub s, String jobId) {
    return s.watchSchedule(WatchScheduleRequest.newBuilder().setJobId(jobId).build()).next();
  }


  // --- OK answers ----------------------------------------------------------------------------------

  @Test
  void fixedPhiJobAnswersEquationFiveWithWarmupPhasesAndGroups() {
    start();
    // W = 10, phases [10, 60) falling and [60, 100) rising; a group with its own bounds
    JobSpec spec = job("fixed").setWarmupSteps(10).addPhaseBoundaries(60).addPhaseBoundaries(100)
        .addGroups(ParamGroup.newBuilder().setName("head").setLrMax(0.02).setLrMin(0.0))
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
    views.putJob(spec, "alice");
    long[] boundaries = {10, 60, 100};

    assertThat(getJob(alice, "fixed")).isEqualTo(Job.newBuilder().setSpec(spec).setPhases(2).setTotalSteps(100).build());
    for (long s : new long[] {0, 4, 9}) {
      LearningRate lr = rate(alice, "fixed", s);
      // linear warmup: lr_max·(s + 1)/W, reaching lr_max at s = W − 1
      close(lr.getLr(), 0.1 * (s + 1) / 10);
      close(lr.getFactor(), (s + 1) / 10.0);
      assertThat(lr.getGroupLrsCount()).isEqualTo(1);
      close(lr.getGroupLrs(0), 0.02 * (s + 1) / 10);
      assertThat(lr.getPhase()).isZero();
      assertThat(lr.getSource()).isEqualTo(Source.SOURCE_WARMUP);
      assertThat(lr.getPhi()).isEqualTo(5.0);
    }
    for (long s : new long[] {10, 11, 35, 59, 60, 61, 80, 99}) {
      LearningRate lr = rate(alice, "fixed", s);
      double f = uba(5, s, boundaries, 0);
      assertThat(lr.getJobId()).isEqualTo("fixed");
      assertThat(lr.getStep()).isEqualTo(s);
      close(lr.getFactor(), f);
      close(lr.getLr(), 0.001 + (0.1 - 0.001) * f);
      assertThat(lr.getGroupLrsCount()).isEqualTo(1);
      close(lr.getGroupLrs(0), 0.02 * f);
      assertThat(lr.getPhase()).isEqualTo(s < 60 ? 1 : 2);
      assertThat(lr.getPhi()).isEqualTo(5.0);
      assertThat(lr.getSource()).isEqualTo(Source.SOURCE_FIXED);
      assertThat(lr.getKappa()).isZero();
      assertThat(lr.getCurvatureStep()).isEqualTo(-1);
    }
    // phase 1 falls to lr_min, phase 2 rises from it
    assertThat(rate(alice, "fixed", 59).getLr()).isLessThan(rate(alice, "fixed", 10).getLr());
    assertThat(rate(alice, "fixed", 99).getLr()).isGreaterThan(rate(alice, "fixed", 60).getLr());

    // the window stops at total_steps, and each of its rates is the single answer
    LearningRates window = rates(alice, "fixed", 95, 10);
    assertThat(window.getRatesList()).extracting(LearningRate::getStep).containsExactly(95L, 96L, 97L, 98L, 99L);
    for (LearningRate r : window.getRatesList()) {
      assertThat(r).isEqualTo(rate(alice, "fixed", r.getStep()));
    }
    assertThat(rates(alice, "fixed", 0, 100).getRatesCount()).isEqualTo(100);
  }

  @Test
  void conditionNumberJobFallsBackUntilAnEstimateAppliesThenFollowsIt() {
    start();
    views.putJob(conditionNumber("live"), "alice");
    // a known job without an estimate: OK, probes = 0
    assertThat(curvature(alice, "live")).isEqualTo(Curvature.newBuilder().setJobId("live").build());
    LearningRate before = rate(alice, "live", 30);
    assertThat(before.getSource()).isEqualTo(Source.SOURCE_FALLBACK);
    assertThat(before.getPhi()).isEqualTo(5.0); // fallback_phi for SGD
    assertThat(before.getCurvatureStep()).isEqualTo(-1);
    assertThat(before.getNote()).isEqualTo("no curvature estimate applies to this step yet; fallback_phi used");
    close(before.getLr(), 0.001 + 0.099 * uba(5, 30, new long[] {0, 100}, 0));

    Curvature c = estimate("live");
    views.putCurvature(c);
    assertThat(curvature(alice, "live")).isEqualTo(c);
    // the estimate of probe step 20 applies from step 21 on
    LearningRate at20 = rate(alice, "live", 20);
    assertThat(at20.getSource()).isEqualTo(Source.SOURCE_FALLBACK);
    close(at20.getLr(), 0.001 + 0.099 * uba(5, 20, new long[] {0, 100}, 0));
    for (long s : new long[] {21, 50, 99}) {
      LearningRate lr = rate(alice, "live", s);
      assertThat(lr.getSource()).isEqualTo(Source.SOURCE_CURVATURE);
      assertThat(lr.getKappa()).isEqualTo(16.0);
      assertThat(lr.getLambdaLow()).isEqualTo(0.5);
      assertThat(lr.getLambdaMax()).isEqualTo(8.0);
      assertThat(lr.getCurvatureStep()).isEqualTo(20);
      assertThat(lr.getPhi()).isEqualTo(16.0); // 0.5 · (2 · 16)
      assertThat(lr.getNote()).isEmpty();
      close(lr.getLr(), 0.001 + 0.099 * uba(16, s, new long[] {0, 100}, 0));
    }
    assertThat(rates(alice, "live", 19, 4).getRatesList()).extracting(LearningRate::getSource).containsExactly(
        Source.SOURCE_FALLBACK, Source.SOURCE_FALLBACK, Source.SOURCE_CURVATURE, Source.SOURCE_CURVATURE);
  }

  @Test
  void watchSendsTheStateAtOnceThenEachNewEstimate() throws InterruptedException {
    start();
    views.putJob(conditionNumber("live"), "alice");
    BlockingQueue<ScheduleUpdate> updates = new LinkedBlockingQueue<>();
    List<ClientCallStreamObserver<?>> calls = new ArrayList<>();
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer token-alice");
    StepsizeGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .watchSchedule(WatchScheduleRequest.newBuilder().setJobId("live").build(),
            new ClientResponseObserver<WatchScheduleRequest, ScheduleUpdate>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<WatchScheduleRequest> call) {
                calls.add(call);
              }

              @Override
              public void onNext(ScheduleUpdate u) {
                updates.add(u);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    assertThat(updates.poll(10, TimeUnit.SECONDS)).isEqualTo(ScheduleUpdate.newBuilder().setJobId("live")
        .setPhi(5).setFromStep(0).setSource(Source.SOURCE_FALLBACK).build());

    Curvature c = estimate("live");
    views.putCurvature(c);
    // the latest point without the timeline, the phi it brings and the step it applies from
    assertThat(updates.poll(10, TimeUnit.SECONDS)).isEqualTo(ScheduleUpdate.newBuilder().setJobId("live")
        .setCurvature(c.toBuilder().clearTimeline()).setPhi(16).setFromStep(21).setSource(Source.SOURCE_CURVATURE)
        .build());
    views.putCurvature(c); // the same record again is no change
    assertThat(updates.poll(200, TimeUnit.MILLISECONDS)).isNull();
    calls.get(0).cancel("done", null);
  }

  @Test
  void createJobPublishesTheSpecWithItsOwnerAndIsReadableAtOnce() {
    start();
    JobSpec spec = fixed("alice-1").toBuilder().addPhaseBoundaries(30).addPhaseBoundaries(100).build();
    Job expected = Job.newBuilder().setSpec(spec).setPhases(2).setTotalSteps(100).build();
    assertThat(create(alice, spec)).isEqualTo(expected);
    assertThat(producer.history()).hasSize(1);
    ProducerRecord<String, byte[]> record = producer.history().get(0);
    assertThat(record.topic()).isEqualTo("stepsize.jobs");
    assertThat(record.key()).isEqualTo("alice-1");
    assertThat(record.value()).isEqualTo(spec.toByteArray());
    assertThat(new String(record.headers().lastHeader(RecordHeaders.OWNER).value(), StandardCharsets.UTF_8))
        .isEqualTo("alice");
    // read-your-writes, owned by the creator's tenant
    assertThat(getJob(alice, "alice-1")).isEqualTo(expected);
    assertThat(views.job("alice-1").owner()).isEqualTo("alice");
    // idempotent for the identical spec: the same answer, nothing published again
    assertThat(create(alice, spec)).isEqualTo(expected);
    assertThat(producer.history()).hasSize(1);
  }

  @Test
  void reportProbesPublishesEveryProbeKeyedByItsJob() {
    start();
    views.putJob(fixed("alice-1"), "alice");
    views.putJob(fixed("alice-2"), "alice");
    ProbeReport gradient = ProbeReport.newBuilder().setJobId("alice-2").setStep(99)
        .setGradient(GradientStats.newBuilder().setLoss(1.5).setGradNorm(0)).build();
    assertThat(report(alice, probe("alice-1", 0), gradient, probe("alice-1", 99))).isEqualTo(3);
    assertThat(producer.history()).extracting(ProducerRecord::topic).containsOnly("stepsize.probes");
    assertThat(producer.history()).extracting(ProducerRecord::key).containsExactly("alice-1", "alice-2", "alice-1");
    assertThat(producer.history()).extracting(ProducerRecord::value).containsExactly(
        probe("alice-1", 0).toByteArray(), gradient.toByteArray(), probe("alice-1", 99).toByteArray());
    assertThat(reported).containsExactly(3L);
  }

  /**
   * GetGradientStats (DESIGN.md §2.1): the job's timeline as the view read it from
   * stepsize.gradient-stats; a known job without reports is OK and empty; another tenant's job is
   * NOT_FOUND exactly as an unknown one.
   */
  @Test
  void gradientStatsAnswerTheViewsTimelineAndOnlyToTheJobsTenant() {
    start();
    views.putJob(fixed("stats"), "alice");
    assertThat(gradientStats(alice, "stats")).isEqualTo(GradientStatsTimeline.newBuilder().setJobId("stats").build());
    GradientStatsTimeline t = GradientStatsTimeline.newBuilder().setJobId("stats").setReports(3)
        .addPoints(GradientStatsPoint.newBuilder().setStep(4).setLoss(2).setGradNorm(0.5).setWorkers(2)
            .addMicrobatchGradNorms(0.25).addMicrobatchGradNorms(0.75))
        .addPoints(GradientStatsPoint.newBuilder().setStep(5).setLoss(1.5).setGradNorm(0.25).setWorkers(1)).build();
    views.putGradientStats(t);
    assertThat(gradientStats(alice, "stats")).isEqualTo(t);

    expect(() -> gradientStats(alice, ""), Status.Code.INVALID_ARGUMENT, "job_id: must not be empty");
    expect(() -> gradientStats(alice, "nope"), Status.Code.NOT_FOUND, "job_id: no job 'nope'");
    expect(() -> gradientStats(bob, "stats"), Status.Code.NOT_FOUND, "job_id: no job 'stats'");
  }

  private static GradientStatsTimeline gradientStats(StepsizeBlockingStub s, String jobId) {
    return s.getGradientStats(GetGradientStatsRequest.newBuilder().setJobId(jobId).build());
  }

  // --- refusals ------------------------------------------------------------------------------------

  @Test
  void badJobIdsAndStepsGetTheirCodesAndMessages() {
    start();
    views.putJob(fixed("codes"), "alice");
    String empty = "job_id: must not be empty";
    expect(() -> getJob(alice, ""), Status.Code.INVALID_ARGUMENT, empty);
    expect(() -> rate(alice, "", 0), Status.Code.INVALID_ARGUMENT, empty);
    expect(() -> rates(alice, "", 0, 1), Status.Code.INVALID_ARGUMENT, empty);
    expect(() -> curvature(alice, ""), Status.Code.INVALID_ARGUMENT, empty);
    expect(() -> firstUpdate(alice, ""), Status.Code.INVALID_ARGUMENT, empty);

    String unknown = "job_id: no job 'nope'";
    expect(() -> getJob(alice, "nope"), Status.Code.NOT_FOUND, unknown);
    expect(() -> rate(alice, "nope", 0), Status.Code.NOT_FOUND, unknown);
    expect(() -> rates(alice, "nope", 0, 1), Status.Code.NOT_FOUND, unknown);
    expect(() -> curvature(alice, "nope"), Status.Code.NOT_FOUND, unknown);
    expect(() -> firstUpdate(alice, "nope"), Status.Code.NOT_FOUND, unknown);

    expect(() -> rate(alice, "codes", -1), Status.Code.INVALID_ARGUMENT, "step: must be >= 0 (got -1)");
    expect(() -> rate(alice, "codes", 100), Status.Code.OUT_OF_RANGE, "step: must be < total_steps = 100 (got 100)");
    expect(() -> rates(alice, "codes", -1, 5), Status.Code.INVALID_ARGUMENT, "from_step: must be >= 0 (got -1)");
    expect(() -> rates(alice, "codes", 100, 5), Status.Code.OUT_OF_RANGE,
        "from_step: must be < total_steps = 100 (got 100)");
    expect(() -> rates(alice, "codes", 0, 0), Status.Code.INVALID_ARGUMENT, "count: must be in [1, 100000] (got 0)");
    expect(() -> rates(alice, "codes", 0, 100_001), Status.Code.INVALID_ARGUMENT,
        "count: must be in [1, 100000] (got 100001)");
  }

  @Test
  void createJobRefusesABadSpecAndADifferentSpecUnderAnExistingId() {
    start();
    views.putJob(fixed("codes"), "alice");
    expect(() -> create(alice, fixed("codes").toBuilder().setLrMax(0.2).build()), Status.Code.ALREADY_EXISTS,
        "job_id: job 'codes' exists with a different spec; use a new job_id");
    expect(() -> create(alice, fixed("bad").toBuilder().setTotalSteps(0).build()), Status.Code.INVALID_ARGUMENT,
        "spec.total_steps: must be >= 1 (got 0)");
    expect(() -> create(alice, fixed("").toBuilder().build()), Status.Code.INVALID_ARGUMENT,
        "spec.job_id: must not be empty");
    assertThat(producer.history()).isEmpty();
    assertThat(views.job("bad")).isNull();
  }

  @Test
  void oneBadProbeRejectsTheRequestNamingItsIndexAndNothingIsPublished() {
    start();
    views.putJob(fixed("codes"), "alice");
    ProbeReport good = probe("codes", 3);
    ProbeReport negativeBeta = good.toBuilder().setLanczos(LanczosProbe.newBuilder().addAlpha(1).addBeta(-1)).build();
    expect(() -> report(alice, good, good, negativeBeta), Status.Code.INVALID_ARGUMENT,
        "probes[2].lanczos.beta[0] must be >= 0, got -1.0");
    expect(() -> report(alice, good, good.toBuilder().setStep(100).build()), Status.Code.INVALID_ARGUMENT,
        "probes[1].step: must be in [0, total_steps = 100) (got 100)");
    expect(() -> report(alice, good.toBuilder().setJobId("nope").build(), good), Status.Code.INVALID_ARGUMENT,
        "probes[0].job_id: no job 'nope'");
    expect(() -> report(alice, good.toBuilder().setJobId("").build()), Status.Code.INVALID_ARGUMENT,
        "probes[0].job_id: must not be empty");
    expect(() -> report(alice, good.toBuilder().clearLanczos().build()), Status.Code.INVALID_ARGUMENT,
        "probes[0].payload: one of lanczos or gradient is required");
    expect(() -> report(alice, good, good.toBuilder().setGradient(GradientStats.newBuilder()
        .setLoss(Double.NaN)).build()), Status.Code.INVALID_ARGUMENT,
        "probes[1].gradient.loss: must be finite (got NaN)");
    expect(() -> report(alice), Status.Code.INVALID_ARGUMENT, "probes: must not be empty");
    assertThat(producer.history()).isEmpty();
    assertThat(reported).isEmpty();
  }

  /** DESIGN.md §1.7's probe fields: unknown values, the operator a job's optimizer allows, alpha[0] of a gradient start. */
  @Test
  void probesOfTheGradientFieldsFollowTheirRules() {
    start();
    views.putJob(fixed("codes"), "alice");
    views.putJob(fixed("sgd").toBuilder().setOptimizer(io.stepsize.proto.v1.Optimizer.OPTIMIZER_SGD).build(), "alice");
    views.putJob(fixed("adam").toBuilder().setOptimizer(io.stepsize.proto.v1.Optimizer.OPTIMIZER_ADAMW).build(),
        "alice");
    ProbeReport good = probe("codes", 3);
    ProbeReport gradientNaN = good.toBuilder().setLanczos(good.getLanczos().toBuilder().setStart(Start.START_GRADIENT)
        .setAlpha(0, Double.NaN)).build();
    expect(() -> report(alice, good, gradientNaN), Status.Code.INVALID_ARGUMENT,
        "probes[1].lanczos.alpha[0] must be finite, got NaN");
    expect(() -> report(alice, good.toBuilder().setLanczos(good.getLanczos().toBuilder().setStartValue(7)).build()),
        Status.Code.INVALID_ARGUMENT,
        "probes[0].lanczos.start: must be one of START_UNSPECIFIED, START_RANDOM, START_GRADIENT (got 7)");
    expect(() -> report(alice, good.toBuilder().setLanczos(good.getLanczos().toBuilder().setOperatorValue(3)).build()),
        Status.Code.INVALID_ARGUMENT, "probes[0].lanczos.operator: must be one of OPERATOR_UNSPECIFIED, "
            + "OPERATOR_HESSIAN, OPERATOR_PRECONDITIONED (got 3)");
    LanczosProbe preconditioned = good.getLanczos().toBuilder().setOperator(Operator.OPERATOR_PRECONDITIONED).build();
    expect(() -> report(alice, good, probe("sgd", 3).toBuilder().setLanczos(preconditioned).build()),
        Status.Code.INVALID_ARGUMENT, "probes[1].lanczos.operator: OPERATOR_PRECONDITIONED needs an OPTIMIZER_ADAMW "
            + "job (job 'sgd' is OPTIMIZER_SGD)");
    expect(() -> report(alice, good.toBuilder().setLanczos(preconditioned).build()), Status.Code.INVALID_ARGUMENT,
        "probes[0].lanczos.operator: OPERATOR_PRECONDITIONED needs an OPTIMIZER_ADAMW job (job 'codes' is "
            + "OPTIMIZER_UNSPECIFIED)");
    assertThat(producer.history()).isEmpty();
    ProbeReport adam = probe("adam", 3).toBuilder().setLanczos(preconditioned.toBuilder().setStart(Start.START_GRADIENT))
        .build();
    assertThat(report(alice, adam, probe("sgd", 3))).isEqualTo(2);
    assertThat(producer.history()).hasSize(2);
  }

  @Test
  void anotherTenantsJobIsNotFoundExactlyAsAnUnknownIdAndItsIdIsTaken() {
    start();
    views.putJob(fixed("alice-1"), "alice");
    String unknown = "job_id: no job 'alice-1'";
    expect(() -> getJob(bob, "alice-1"), Status.Code.NOT_FOUND, unknown);
    expect(() -> rate(bob, "alice-1", 10), Status.Code.NOT_FOUND, unknown);
    // the step is outside the job, but bob must not learn its range
    expect(() -> rate(bob, "alice-1", 5_000), Status.Code.NOT_FOUND, unknown);
    expect(() -> rates(bob, "alice-1", 0, 10), Status.Code.NOT_FOUND, unknown);
    expect(() -> curvature(bob, "alice-1"), Status.Code.NOT_FOUND, unknown);
    expect(() -> firstUpdate(bob, "alice-1"), Status.Code.NOT_FOUND, unknown);
    // the same answers as for an id nobody has
    expect(() -> getJob(bob, "alice-1".replace('1', '9')), Status.Code.NOT_FOUND, "job_id: no job 'alice-9'");
    // creating a taken id is ALREADY_EXISTS, the same spec or not: neither spec nor owner shows
    expect(() -> create(bob, fixed("alice-1")), Status.Code.ALREADY_EXISTS, TAKEN);
    expect(() -> create(bob, fixed("alice-1").toBuilder().setLrMax(0.2).build()), Status.Code.ALREADY_EXISTS, TAKEN);
    // a probe of alice's job reads as one of an unknown job, at its index, alone or after bob's own
    views.putJob(fixed("bob-1"), "bob");
    expect(() -> report(bob, probe("alice-1", 5_000)), Status.Code.INVALID_ARGUMENT, "probes[0]." + unknown);
    expect(() -> report(bob, probe("bob-1", 3), probe("alice-1", 3)), Status.Code.INVALID_ARGUMENT,
        "probes[1]." + unknown);
    expect(() -> report(bob, probe("bob-1", 3), probe("alice-9", 3)), Status.Code.INVALID_ARGUMENT,
        "probes[1].job_id: no job 'alice-9'");
    // the owner gets the rule instead
    expect(() -> report(alice, probe("alice-1", 5_000)), Status.Code.INVALID_ARGUMENT,
        "probes[0].step: must be in [0, total_steps = 100) (got 5000)");
    assertThat(producer.history()).isEmpty();
    // a job written while the service ran without tokens belongs to no tenant
    views.putJob(fixed("legacy"), "");
    expect(() -> rate(alice, "legacy", 0), Status.Code.NOT_FOUND, "job_id: no job 'legacy'");
    close(rate(alice, "alice-1", 0).getLr(), 0.001 + 0.099 * uba(5, 0, new long[] {0, 100}, 0));
  }

  @Test
  void beforeTheViewsCatchUpWritesAreUnavailableAndReadsAnswerWhatIsLoaded() {
    start(Limits.DEFAULT, true, false); // a replica whose loader has not reached the topics' ends yet
    views.putJob(fixed("alice-1"), "alice");
    expect(() -> create(alice, fixed("alice-2")), Status.Code.UNAVAILABLE, CATCHING_UP);
    // not even the identical spec of a loaded job: a later record may still be on its way
    expect(() -> create(alice, fixed("alice-1")), Status.Code.UNAVAILABLE, CATCHING_UP);
    expect(() -> report(alice, probe("alice-1", 3)), Status.Code.UNAVAILABLE, CATCHING_UP);
    // a loaded job answers; a job not loaded may yet come: UNAVAILABLE, not NOT_FOUND, for an
    // unknown id and for another tenant's job alike
    close(rate(alice, "alice-1", 0).getLr(), 0.001 + 0.099 * uba(5, 0, new long[] {0, 100}, 0));
    expect(() -> getJob(alice, "nope"), Status.Code.UNAVAILABLE, CATCHING_UP);
    expect(() -> getJob(bob, "alice-1"), Status.Code.UNAVAILABLE, CATCHING_UP);
    // bad input is still bad input
    expect(() -> report(alice), Status.Code.INVALID_ARGUMENT, "probes: must not be empty");
    assertThat(producer.history()).isEmpty();

    views.markCaughtUp();
    assertThat(create(alice, fixed("alice-2")).getSpec()).isEqualTo(fixed("alice-2"));
    assertThat(report(alice, probe("alice-1", 3))).isEqualTo(1);
    expect(() -> getJob(alice, "nope"), Status.Code.NOT_FOUND, "job_id: no job 'nope'");
    assertThat(producer.history()).hasSize(2);
  }

  @Test
  void theFirstRecordsTenantOwnsAJobWhateverComesLater() {
    LocalViews v = new LocalViews();
    assertThat(v.putJob(fixed("j"), "alice")).isEqualTo(LocalViews.Put.ADDED);
    assertThat(v.putJob(fixed("j"), "alice")).isEqualTo(LocalViews.Put.UNCHANGED);
    JobSpec other = fixed("j").toBuilder().setLrMax(0.9).build();
    assertThat(v.putJob(other, "bob")).isEqualTo(LocalViews.Put.FOREIGN_OWNER);
    assertThat(v.putJob(other, "")).isEqualTo(LocalViews.Put.FOREIGN_OWNER);
    assertThat(v.job("j").owner()).isEqualTo("alice");
    assertThat(v.job("j").spec()).isEqualTo(fixed("j"));
    // the owner's own later record replaces the spec
    assertThat(v.putJob(other, "alice")).isEqualTo(LocalViews.Put.UPDATED);
    assertThat(v.job("j").spec()).isEqualTo(other);

    // a CreateJob's own write is provisional: the first record read back decides, whoever wrote it
    v.putProvisionalJob(fixed("p"), v.job("j").schedule(), "bob");
    assertThat(v.job("p").owner()).isEqualTo("bob");
    assertThat(v.putJob(fixed("p"), "alice")).isEqualTo(LocalViews.Put.ADDED);
    assertThat(v.job("p").owner()).isEqualTo("alice");
    assertThat(v.putJob(fixed("p"), "bob")).isEqualTo(LocalViews.Put.FOREIGN_OWNER);
    assertThat(v.job("p").owner()).isEqualTo("alice");
    // and a provisional write never replaces a record already read
    v.putProvisionalJob(other.toBuilder().setJobId("p").build(), v.job("j").schedule(), "bob");
    assertThat(v.job("p").spec()).isEqualTo(fixed("p"));
    // a spec that breaks a rule changes nothing
    assertThatThrownBy(() -> v.putJob(fixed("p").toBuilder().setTotalSteps(0).build(), "alice"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(v.job("p").spec()).isEqualTo(fixed("p"));
  }

  @Test
  void callsWithoutAKnownTokenAreUnauthenticated() {
    start();
    views.putJob(fixed("alice-1"), "alice");
    StepsizeBlockingStub anonymous = StepsizeGrpc.newBlockingStub(channel);
    expect(() -> rate(anonymous, "alice-1", 0), Status.Code.UNAUTHENTICATED,
        "authorization: a bearer token is required (header 'authorization: Bearer <token>')");
    expect(() -> rate(stub("token-mallory"), "alice-1", 0), Status.Code.UNAUTHENTICATED,
        "authorization: unknown bearer token");
  }

  @Test
  void requestRateIsLimitedPerJobAndARefusedReportPublishesNothing() {
    start(new Limits(4 << 20, 1000, 100_000, 3), true);
    views.putJob(fixed("hot"), "alice");
    views.putJob(fixed("cold"), "alice");
    long t0 = System.nanoTime();
    getJob(alice, "hot");
    rate(alice, "hot", 1);
    // probes of one job in one request take one permit
    assertThat(report(alice, probe("hot", 1), probe("hot", 2), probe("hot", 3))).isEqualTo(3);
    List<Runnable> over = List.of(() -> curvature(alice, "hot"), () -> report(alice, probe("hot", 4)),
        () -> rates(alice, "hot", 0, 5), () -> firstUpdate(alice, "hot"));
    List<Throwable> refusals = new ArrayList<>();
    for (Runnable call : over) {
      try {
        call.run();
        refusals.add(null);
      } catch (StatusRuntimeException e) {
        refusals.add(e);
      }
    }
    // the limiter gives 3 permits per second from the job's first request
    Assumptions.assumeTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(900), "calls took over a second");
    assertThat(refusals).allSatisfy(e -> {
      assertThat(e).isInstanceOf(StatusRuntimeException.class);
      Status status = ((StatusRuntimeException) e).getStatus();
      assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(status.getDescription()).isEqualTo("job_id: more than 3 requests/s for job 'hot'; retry later");
    });
    assertThat(producer.history()).hasSize(3);
    assertThat(reported).containsExactly(3L);
    // per job: another job of the same tenant answers at once
    close(rate(alice, "cold", 0).getLr(), 0.001 + 0.099 * uba(5, 0, new long[] {0, 100}, 0));
  }

  @Test
  void createJobIsUnavailableWhenKafkaDoesNotAcknowledge() throws Exception {
    start(Limits.DEFAULT, false);
    // the broker's answer to the one send: the error a KafkaProducer gives when no broker is reachable
    Thread broker = new Thread(() -> {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (producer.history().isEmpty() && System.nanoTime() < deadline) {
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          return;
        }
      }
      producer.errorNext(new TimeoutException("Topic stepsize.jobs not present in metadata after 5000 ms."));
    });
    broker.setDaemon(true);
    broker.start();
    expect(() -> create(alice, fixed("alice-1")), Status.Code.UNAVAILABLE,
        "could not store the job: Kafka did not acknowledge in time (Topic stepsize.jobs not present in metadata "
            + "after 5000 ms.)");
    broker.join(10_000);
    // not acknowledged, so not in the view either
    expect(() -> getJob(alice, "alice-1"), Status.Code.NOT_FOUND, "job_id: no job 'alice-1'");
  }
}
