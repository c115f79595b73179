package io.stepsize.service;

import io.stepsize.schedule.LrEvaluator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.stepsize.client.StepsizeClient;
import io.stepsize.client.lanczos.LanczosDriver;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.EdgeGuard;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ParamGroup;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.Source;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.LrValue;
import io.stepsize.wire.JobSpecs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.GradientStatsPoint;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.wire.RecordHeaders;
import io.stepsize.wire.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service over real gRPC on loopback, against the embedded broker and estimator. */
class ServiceEndToEndTest {
  @TempDir static Path dir;
  static StepsizeNode node;
  static StepsizeClient client;

  @BeforeAll
  static void start() throws Exception {
    node = StepsizeNode.start(StepsizeNode.Config.embedded(dir));
    assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
    client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10));
  }

  @AfterAll
  static void stop() {
    client.close();
    node.close();
  }

  static JobSpec.Builder job(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(0.1).setLrMin(0.001);
  }

  @Test
  void fixedPhiJobAnswersTheScheduleLibraryValue() {
    JobSpec spec = job("fixed").setWarmupSteps(5).addAllPhaseBoundaries(List.of(50L, 100L))
        .addGroups(ParamGroup.newBuilder().setName("body").setLrMax(0.1).setLrMin(0.001))
        .addGroups(ParamGroup.newBuilder().setName("head").setLrMax(0.02).setLrMin(0.0))
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
    assertThat(client.createJob(spec).getPhases()).isEqualTo(2);
    // read-your-writes: no wait between CreateJob and the first answer
    var schedule = JobSpecs.toSchedule(spec);
    for (long s : new long[] {0, 4, 5, 37, 49, 50, 77, 99}) {
      LearningRate lr = client.learningRate("fixed", s);
      LrValue expected = LrEvaluator.evaluate(schedule, s, CurvatureTimeline.EMPTY);
      assertThat(lr.getLr()).isEqualTo(expected.lr());
      assertThat(lr.getGroupLrsList()).containsExactly(expected.groupLrs()[0], expected.groupLrs()[1]);
      assertThat(lr.getPhase()).isEqualTo(expected.phase());
      assertThat(lr.getSource()).isEqualTo(s < 5 ? Source.SOURCE_WARMUP : Source.SOURCE_FIXED);
    }
    LearningRates window = client.learningRates("fixed", 90, 50);
    assertThat(window.getRatesList()).hasSize(10);
    assertThat(window.getRates(9).getStep()).isEqualTo(99);
    assertThat(window.getRates(3)).isEqualTo(client.learningRate("fixed", 93));
    // idempotent for the identical spec
    assertThat(client.createJob(spec).getSpec()).isEqualTo(spec);
    assertThat(client.getJob("fixed").getSpec()).isEqualTo(spec);
  }

  @Test
  void reportedProbesSetPhiThroughThePolicyAndTheWatchSeesIt() {
    JobSpec spec = job("live").setPhiPolicy(PhiPolicy.newBuilder()
        .setConditionNumber(PhiPolicy.ConditionNumber.newBuilder().setScale(0.5).setExponent(1))).build();
    client.createJob(spec);
    assertThat(client.curvature("live").getProbes()).isZero();
    LearningRate before = client.learningRate("live", 30);
    assertThat(before.getSource()).isEqualTo(Source.SOURCE_FALLBACK);
    assertThat(before.getPhi()).isEqualTo(5.0);
    assertThat(before.getCurvatureStep()).isEqualTo(-1);

    List<ScheduleUpdate> updates = new CopyOnWriteArrayList<>();
    client.watch("live", collect(updates));
    await().atMost(Duration.ofSeconds(10)).until(() -> updates.size() >= 1);

    // a diagonal T_m with beta_m = 0: the Ritz values are exactly 0.5, 2 and 8, so kappa = 16
    ProbeReport probe = ProbeReport.newBuilder().setJobId("live").setStep(20).setWorkerId("w0")
        .setLanczos(LanczosProbe.newBuilder().addAllAlpha(List.of(2.0, 8.0, 0.5)).addAllBeta(List.of(0.0, 0.0, 0.0)))
        .build();
    assertThat(client.reportProbes(List.of(probe))).isEqualTo(1);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("live").getProbes() > 0);

    Curvature c = client.curvature("live");
    assertThat(c.getLambdaMax()).isEqualTo(8.0);
    assertThat(c.getLambdaLow()).isEqualTo(0.5);
    assertThat(c.getAppliesFromStep()).isEqualTo(21);
    LearningRate at20 = client.learningRate("live", 20);
    LearningRate at21 = client.learningRate("live", 21);
    assertThat(at20.getSource()).isEqualTo(Source.SOURCE_FALLBACK);
    assertThat(at21.getSource()).isEqualTo(Source.SOURCE_CURVATURE);
    assertThat(at21.getCurvatureStep()).isEqualTo(20);
    assertThat(at21.getKappa()).isEqualTo(16.0);
    // phi = scale * (2 kappa)^exponent = 0.5 * 32
    assertThat(at21.getPhi()).isEqualTo(16.0);
    double f = io.stepsize.schedule.Uba.factor(16.0, JobSpecs.toSchedule(spec).budget(), 21);
    assertThat(at21.getLr()).isEqualTo(0.001 + (0.1 - 0.001) * f);

    await().atMost(Duration.ofSeconds(10)).until(() -> updates.stream().anyMatch(u -> u.getCurvature().getProbes() > 0));
    ScheduleUpdate u = updates.stream().filter(x -> x.getCurvature().getProbes() > 0).findFirst().orElseThrow();
    assertThat(u.getPhi()).isEqualTo(16.0);
    assertThat(u.getFromStep()).isEqualTo(21);
    assertThat(u.getSource()).isEqualTo(Source.SOURCE_CURVATURE);
  }

  /**
   * Proposition 1 through the whole chain: Lanczos on a quadratic whose spectrum it resolves exactly
   * (n < m), the estimator, the chebyshev policy and the served rates.
   */
  @Test
  void chebyshevJobServesTheOptimalStepSizesOfTheProbedQuadratic() {
    double[] spectrum = {1, 1.7, 3, 5.5, 9, 14, 22, 35, 51, 68, 84, 100};
    int total = 40;
    JobSpec spec = job("cheb").setTotalSteps(total).setApplyDelaySteps(0)
        .setPhiPolicy(PhiPolicy.newBuilder().setChebyshev(PhiPolicy.Chebyshev.getDefaultInstance())).build();
    client.createJob(spec);
    LanczosResult lanczos = LanczosDriver.of(20).run((v, out) -> {
      for (int i = 0; i < v.length; i++) {
        out[i] = spectrum[i] * v[i];
      }
    }, spectrum.length, 7);
    assertThat(lanczos.brokeDown()).isTrue();
    client.reportProbes(List.of(lanczos.toProbe("cheb", 0, "w0")));
    await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("cheb").getProbes() > 0);

    List<LearningRate> rates = client.learningRates("cheb", 0, total).getRatesList();
    assertThat(rates).hasSize(total).allMatch(r -> r.getSource() == Source.SOURCE_CURVATURE);
    double lo = spectrum[0];
    double hi = spectrum[spectrum.length - 1];
    double worst = 0;
    for (int i = 0; i <= 200_000; i++) {
      double lambda = lo + (hi - lo) * i / 200_000.0;
      worst = Math.max(worst, Math.abs(residual(rates, lambda)));
    }
    for (int j = 0; j <= total; j++) {  // the extremal points of the Chebyshev polynomial
      double lambda = (hi + lo) / 2 - (hi - lo) / 2 * Math.cos(j * Math.PI / total);
      worst = Math.max(worst, Math.abs(residual(rates, lambda)));
    }
    double kappa = hi / lo;
    double rho = (Math.sqrt(kappa) - 1) / (Math.sqrt(kappa) + 1);
    double bound = 2 * Math.pow(rho, total) / (1 + Math.pow(rho, 2 * total));
    assertThat(Math.abs(worst - bound) / bound).isLessThan(1e-6);
    // and gradient descent on the quadratic with those rates contracts every eigencomponent by it
    for (double lambda : spectrum) {
      double x = 1;
      for (LearningRate r : rates) {
        x -= r.getLr() * lambda * x;
      }
      assertThat(Math.abs(x)).isLessThanOrEqualTo(bound * (1 + 1e-6));
    }
  }

  /**
   * The guard of DESIGN.md §1.7 through the whole chain: an SGD job with β = 0.5 (threshold 2 + 2β = 3)
   * and r* = 1.5, a probe whose Ritz values are exactly 0.5, 2 and 100 reported over gRPC, the
   * estimator, and the served lr capped at r*·(2 + 2β)/λ_max from the step the estimate applies to.
   */
  @Test
  void aSharpEstimateMakesTheGuardCapTheServedRate() {
    JobSpec spec = job("guard").setMomentum(0.5).setGuard(EdgeGuard.newBuilder().setMaxEdgeRatio(1.5))
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
    client.createJob(spec);
    ProbeReport probe = ProbeReport.newBuilder().setJobId("guard").setStep(20).setWorkerId("w0")
        .setLanczos(LanczosProbe.newBuilder().addAllAlpha(List.of(2.0, 100.0, 0.5)).addAllBeta(List.of(0.0, 0.0, 0.0)))
        .build();
    assertThat(client.reportProbes(List.of(probe))).isEqualTo(1);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("guard").getProbes() > 0);
    assertThat(client.curvature("guard").getLambdaMax()).isEqualTo(100.0);

    LearningRate before = client.learningRate("guard", 20);
    assertThat(before.getGuarded()).isFalse();
    assertThat(before.getEdgeRatio()).isNaN();
    LearningRate capped = client.learningRate("guard", 21);
    assertThat(capped.getGuarded()).isTrue();
    assertThat(capped.getLr()).isEqualTo(1.5 * (2 + 2 * 0.5) / 100);
    // the edge ratio is the scheduled lr's: eq. 5 with phi 5 at step 21, times 100/3
    double scheduled = 0.001 + (0.1 - 0.001) * io.stepsize.schedule.Uba.factor(5, JobSpecs.toSchedule(spec).budget(), 21);
    assertThat(scheduled).isGreaterThan(0.045);
    assertThat(capped.getEdgeRatio()).isCloseTo(scheduled * 100 / 3, within(1e-15));
    assertThat(client.learningRates("guard", 19, 4).getRatesList()).extracting(LearningRate::getGuarded)
        .containsExactly(false, false, true, true);
    // where the schedule falls below the cap, it is served as planned
    LearningRate last = client.learningRate("guard", 99);
    assertThat(last.getGuarded()).isFalse();
    assertThat(last.getLr()).isLessThan(0.045);
    expect(() -> client.createJob(job("bad").setMomentum(1).build()), Status.Code.INVALID_ARGUMENT,
        "spec.momentum: must be in [0, 1) (got 1.0)");
  }

  @Test
  void healthIsServingAndBadRequestsGetTheirStatusCodes() {
    var health = HealthGrpc.newBlockingStub(client.channel()).check(HealthCheckRequest.getDefaultInstance());
    assertThat(health.getStatus()).isEqualTo(ServingStatus.SERVING);
    client.createJob(job("codes").build());

    expect(() -> client.learningRate("nope", 0), Status.Code.NOT_FOUND, "job_id: no job 'nope'");
    expect(() -> client.learningRate("", 0), Status.Code.INVALID_ARGUMENT, "job_id: must not be empty");
    expect(() -> client.learningRate("codes", 100), Status.Code.OUT_OF_RANGE,
        "step: must be < total_steps = 100 (got 100)");
    expect(() -> client.learningRate("codes", -1), Status.Code.INVALID_ARGUMENT, "step: must be >= 0 (got -1)");
    expect(() -> client.learningRates("codes", 100, 5), Status.Code.OUT_OF_RANGE,
        "from_step: must be < total_steps = 100 (got 100)");
    expect(() -> client.learningRates("codes", 0, 100_001), Status.Code.INVALID_ARGUMENT,
        "count: must be in [1, 100000] (got 100001)");
    expect(() -> client.createJob(job("codes").setLrMax(0.2).build()), Status.Code.ALREADY_EXISTS,
        "job_id: job 'codes' exists with a different spec; use a new job_id");
    // a job id that would read as a curvature segment key (CurvatureRecords)
    expect(() -> client.createJob(job("\u00003\u0000codes").build()), Status.Code.INVALID_ARGUMENT,
        "spec.job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0000 at index 0)");
    expect(() -> client.createJob(job("bad").setTotalSteps(0).build()), Status.Code.INVALID_ARGUMENT,
        "spec.total_steps: must be >= 1 (got 0)");
    expect(() -> client.createJob(job("bad").setLrMin(0.5).build()), Status.Code.INVALID_ARGUMENT,
        "spec.lr_min: must be <= lr_max (0.5 > 0.1)");
    expect(() -> client.createJob(job("bad").setPhiPolicy(PhiPolicy.newBuilder()
        .setFixed(PhiPolicy.Fixed.newBuilder().setPhi(Double.NaN))).build()), Status.Code.INVALID_ARGUMENT,
        "spec.phi_policy.fixed.phi: must be finite and > 0 (got NaN)");
    expect(() -> client.getJob("bad"), Status.Code.NOT_FOUND, "job_id: no job 'bad'");

    ProbeReport good = ProbeReport.newBuilder().setJobId("codes").setStep(3)
        .setLanczos(LanczosProbe.newBuilder().addAlpha(1).addBeta(0)).build();
    ProbeReport negativeBeta = good.toBuilder().setLanczos(LanczosProbe.newBuilder().addAlpha(1).addBeta(-1)).build();
    expect(() -> client.reportProbes(List.of(good, negativeBeta)), Status.Code.INVALID_ARGUMENT,
        "probes[1].lanczos.beta[0] must be >= 0, got -1.0");
    expect(() -> client.reportProbes(List.of(good.toBuilder().setStep(100).build())), Status.Code.INVALID_ARGUMENT,
        "probes[0].step: must be in [0, total_steps = 100) (got 100)");
    expect(() -> client.reportProbes(List.of(good.toBuilder().setJobId("nope").build())),
        Status.Code.INVALID_ARGUMENT, "probes[0].job_id: no job 'nope'");
    expect(() -> client.reportProbes(List.of()), Status.Code.INVALID_ARGUMENT, "probes: must not be empty");
    // nothing of a rejected request was published: the good probe at step 3 that rode with a bad one
    // would reach the estimator before this one, on the same partition, and show in the timeline
    client.reportProbes(List.of(good.toBuilder().setStep(5).build()));
    await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("codes").getProbes() > 0);
    assertThat(client.curvature("codes").getTimelineList()).extracting(p -> p.getStep()).containsExactly(5L);
  }

  static void expect(Runnable call, Status.Code code, String message) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).isEqualTo(message);
    });
  }

  static double residual(List<LearningRate> rates, double lambda) {
    double p = 1;
    for (LearningRate r : rates) {
      p *= 1 - r.getLr() * lambda;
    }
    return p;
  }

  static StreamObserver<ScheduleUpdate> collect(List<ScheduleUpdate> into) {
    return new StreamObserver<>() {
      @Override
      public void onNext(ScheduleUpdate value) {
        into.add(value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  /**
   * Issue 15 item 3: gradient statistics from ReportProbes and from a plain Kafka producer (keyed
   * otherwise, as a foreign trainer may) land in one timeline, combined per step by the rule of
   * DESIGN.md §2.1, and come back over GetGradientStats; a malformed report sent to Kafka is a dead
   * letter with its reason and leaves no trace. Expected values worked out by hand.
   */
  @Test
  void gradientStatsFromGrpcAndKafkaComeBackFromGetGradientStats() throws Exception {
    client.createJob(job("grads").build());
    assertThat(client.gradientStats("grads")).isEqualTo(GradientStatsTimeline.newBuilder().setJobId("grads").build());
    assertThat(client.reportProbes(List.of(gradient(3, "a", 1.5, 0.25, 0.5, 1), gradient(4, "a", 1, 0.5))))
        .isEqualTo(2);
    // in the timeline before worker b's report is sent: the microbatch norms' order is then certain
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(client.gradientStats("grads").getReports())
        .isEqualTo(2));
    ProbeReport bad = gradient(5, "b", Double.NaN, 1);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.broker().bootstrapServers());
    try (KafkaProducer<String, byte[]> trainer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      trainer.send(new ProducerRecord<>(Topics.PROBES, "worker-b", gradient(3, "b", 2.5, 0.75, 2).toByteArray())).get();
      trainer.send(new ProducerRecord<>(Topics.PROBES, "grads", bad.toByteArray())).get();
    }
    GradientStatsTimeline expected = GradientStatsTimeline.newBuilder().setJobId("grads").setReports(3)
        .addPoints(GradientStatsPoint.newBuilder().setStep(3).setLoss(2).setGradNorm(0.5).setWorkers(2)
            .addAllMicrobatchGradNorms(List.of(0.5, 1.0, 2.0)))
        .addPoints(GradientStatsPoint.newBuilder().setStep(4).setLoss(1).setGradNorm(0.5).setWorkers(1)).build();
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(client.gradientStats("grads").getReports())
        .isEqualTo(3));
    assertThat(client.gradientStats("grads")).isEqualTo(expected);

    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.broker().bootstrapServers());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    try (KafkaConsumer<String, byte[]> dlq = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = dlq.partitionsFor(Topics.PROBES_DLQ).stream()
          .map(i -> new TopicPartition(Topics.PROBES_DLQ, i.partition())).toList();
      dlq.assign(parts);
      dlq.seekToBeginning(parts);
      List<String> reasons = new ArrayList<>();
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        for (ConsumerRecord<String, byte[]> r : dlq.poll(Duration.ofMillis(200))) {
          if (java.util.Arrays.equals(r.value(), bad.toByteArray())) {
            reasons.add(new String(r.headers().lastHeader(RecordHeaders.DLQ_REASON).value(), StandardCharsets.UTF_8));
          }
        }
        return !reasons.isEmpty();
      });
      assertThat(reasons).containsExactly("gradient.loss: must be finite (got NaN)");
    }
    assertThat(client.gradientStats("grads")).isEqualTo(expected);
  }

  private static ProbeReport gradient(long step, String worker, double loss, double norm, double... microbatch) {
    GradientStats.Builder g = GradientStats.newBuilder().setLoss(loss).setGradNorm(norm);
    for (double m : microbatch) {
      g.addMicrobatchGradNorms(m);
    }
    return ProbeReport.newBuilder().setJobId("grads").setStep(step).setWorkerId(worker).setGradient(g).build();
  }
}
