package io.stepsize.estimator;

import io.stepsize.wire.Topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import java.nio.charset.StandardCharsets;
import io.stepsize.wire.CurvatureAssembly;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Estimates from probes whose T_m is diagonal (every β = 0): the Ritz values are the diagonal,
 * the SLQ weight sits entirely on alpha[0], and every residual bound is the floor
 * 1e-12·max|θ|, so each expected λ follows by hand.
 */
class TopologyEstimateTest {
  private static final double EXACT = 1e-12;
  @TempDir Path stateDir;
  private final Topics topics = Topics.unprefixed();
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> jobs;
  private TestInputTopic<String, byte[]> probes;
  private TestOutputTopic<String, byte[]> curvature;
  private TestOutputTopic<String, byte[]> history;
  private TestOutputTopic<String, byte[]> dlq;
  private final CurvatureAssembly view = new CurvatureAssembly();

  @BeforeEach
  void start() {
    Properties config = CurvatureTopology.config("unused:9092", topics, stateDir, "estimate-test");
    driver = new TopologyTestDriver(CurvatureTopology.topology(config, topics), config);
    jobs = driver.createInputTopic(topics.jobs().name(), new StringSerializer(), new ByteArraySerializer());
    probes = driver.createInputTopic(topics.probes().name(), new StringSerializer(), new ByteArraySerializer());
    curvature = driver.createOutputTopic(topics.curvature().name(), new StringDeserializer(), new ByteArrayDeserializer());
    history = driver.createOutputTopic(topics.curvatureHistory().name(), new StringDeserializer(), new ByteArrayDeserializer());
    dlq = driver.createOutputTopic(topics.probesDlq().name(), new StringDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private void send(ProbeReport p) {
    probes.pipeInput(p.getJobId(), p.toByteArray());
  }

  private List<Curvature> history() {
    return history.readValuesToList().stream().map(TopologyEstimateTest::parse).toList();
  }

  /**
   * The compacted view of a job: its records so far folded as a reader folds them, after the
   * wall-clock punctuation that writes pending job records.
   */
  private Curvature latest(String jobId) {
    driver.advanceWallClockTime(Duration.ofMillis(CurvatureTopology.EMIT_INTERVAL_MS));
    for (TestRecord<String, byte[]> r : curvature.readRecordsToList()) {
      view.apply(r.key(), r.value() == null ? null : parse(r.value()));
    }
    return view.current(jobId);
  }

  private static Curvature parse(byte[] b) {
    try {
      return Curvature.parseFrom(b);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** 1 − 2^(−1/h), the weight of a new value (written out here, not taken from the math). */
  private static double weight(double halfLife) {
    return 1 - Math.pow(2, -1 / halfLife);
  }

  private static double logMix(double old, double now, double a) {
    return Math.exp((1 - a) * Math.log(old) + a * Math.log(now));
  }

  @Test
  void phaseComesFromTheBoundariesAndEachPhaseStartsFresh() {
    // warmup [0, 10) is phase 0, then [10, 40) phase 1, [40, 100) phase 2
    JobSpec spec = Probes.job("job", 100, 40, 100).toBuilder().setWarmupSteps(10).build();
    jobs.pipeInput("job", spec.toByteArray());
    send(Probes.diagonal("job", 9, "w", 1, 2));
    send(Probes.diagonal("job", 10, "w", 1, 4));
    send(Probes.diagonal("job", 39, "w", 1, 8));
    send(Probes.diagonal("job", 40, "w", 3, 5));
    send(Probes.diagonal("job", 99, "w", 3, 5));

    List<Curvature> h = history();
    assertThat(h).extracting(Curvature::getPhase).containsExactly(0L, 1L, 1L, 2L, 2L);
    assertThat(h).extracting(Curvature::getStep).containsExactly(9L, 10L, 39L, 40L, 99L);
    // step 10 opens phase 1: its estimate is its own probe, nothing of the warmup's
    assertThat(h.get(1).getLambdaMax()).isEqualTo(4.0);
    assertThat(h.get(1).getKappa()).isEqualTo(4.0);
    // step 39 is smoothed with step 10 (default half-life 3)
    assertThat(h.get(2).getLambdaMax()).isCloseTo(logMix(4, 8, weight(3)), within(EXACT));
    // step 40 opens phase 2: fresh again
    assertThat(h.get(3).getLambdaMax()).isEqualTo(5.0);
    assertThat(h.get(3).getLambdaLow()).isEqualTo(3.0);
    assertThat(h.get(3).getTimeline(0).getProbes()).as("probes of the phase").isEqualTo(1);
    assertThat(h.get(4).getTimeline(0).getProbes()).isEqualTo(2);
    assertThat(h.get(4).getProbes()).as("probes of the job").isEqualTo(5);

    Curvature c = latest("job");
    assertThat(c.getTimelineList()).extracting(CurvaturePoint::getPhase).containsExactly(0L, 1L, 1L, 2L, 2L);
    assertThat(c.getPhase()).isEqualTo(2);
    assertThat(c.getStep()).isEqualTo(99);
    assertThat(c.getProbes()).isEqualTo(5);
  }

  @Test
  void secondWorkersProbeIsMergedIntoTheSameStepAndReplacesItsPoint() {
    jobs.pipeInput("job", Probes.job("job", 100).toByteArray());
    send(Probes.diagonal("job", 3, "w1", 2, 10));
    send(Probes.diagonal("job", 7, "w1", 1, 4));
    send(Probes.diagonal("job", 7, "w2", 8, 0.5));

    List<Curvature> h = history();
    assertThat(h).hasSize(3);
    double a = weight(3);
    // step 7 merged by hand: nodes {1, 4} ∪ {0.5, 8}, so λ_min 0.5, λ_max 8, λ_low 0.5 (all exact)
    Curvature merged = h.get(2);
    assertThat(merged.getStep()).isEqualTo(7);
    assertThat(merged.getLambdaMax()).isCloseTo(logMix(10, 8, a), within(EXACT));
    assertThat(merged.getLambdaLow()).isCloseTo(logMix(2, 0.5, a), within(EXACT));
    assertThat(merged.getLambdaMin()).isCloseTo((1 - a) * 2 + a * 0.5, within(EXACT));
    assertThat(merged.getKappa()).isCloseTo(logMix(10, 8, a) / logMix(2, 0.5, a), within(EXACT));
    // bound: max over the probes of θ_max + 1e-12·max|θ|, smoothed like λ_max
    assertThat(merged.getLambdaMaxBound()).isCloseTo(logMix(10 * (1 + 1e-12), 8 * (1 + 1e-12), a), within(EXACT));
    assertThat(merged.getTimeline(0).getProbes()).as("probes combined: step 3 and both of step 7").isEqualTo(3);
    // the first worker's estimate of step 7 mixed step 3 with {1, 4} only
    assertThat(h.get(1).getLambdaMax()).isCloseTo(logMix(10, 4, a), within(EXACT));

    Curvature c = latest("job");
    assertThat(c.getTimelineList()).extracting(CurvaturePoint::getStep).containsExactly(3L, 7L);
    assertThat(c.getTimeline(1)).isEqualTo(merged.getTimeline(0));
    assertThat(c.getLambdaMax()).isEqualTo(merged.getLambdaMax());
    assertThat(c.getProbes()).isEqualTo(3);
  }

  @Test
  void aRepeatedProbeIsCountedOnce() {
    jobs.pipeInput("job", Probes.job("job", 100).toByteArray());
    send(Probes.diagonal("job", 3, "w1", 2, 10));
    send(Probes.diagonal("job", 7, "w1", 1, 4));
    Curvature once = latest("job");
    // a retried publish of the same probe (worker id and all) changes nothing and emits nothing
    send(Probes.diagonal("job", 7, "w1", 1, 4));
    assertThat(history()).hasSize(2);
    // nor does it leave the job's record pending: the next punctuation writes nothing
    driver.advanceWallClockTime(Duration.ofMillis(CurvatureTopology.EMIT_INTERVAL_MS));
    assertThat(curvature.readRecordsToList()).isEmpty();
    assertThat(dlq.readRecordsToList()).isEmpty();
    // a different probe of the same step still merges
    send(Probes.diagonal("job", 7, "w2", 8, 0.5));
    Curvature merged = latest("job");
    assertThat(merged.getProbes()).isEqualTo(3);
    assertThat(once.getProbes()).isEqualTo(2);
  }

  @Test
  void mergingAveragesTheSlqDensities() {
    // quantile rule, q = 0.6: with diagonal T the whole SLQ weight sits on alpha[0]
    JobSpec spec = Probes.job("job", 100).toBuilder().setPhiPolicy(PhiPolicy.newBuilder()
        .setConditionNumber(PhiPolicy.ConditionNumber.newBuilder()
            .setLowerEdge(LowerEdge.LOWER_EDGE_QUANTILE).setQuantile(0.6))).build();
    jobs.pipeInput("job", spec.toByteArray());
    send(Probes.diagonal("job", 5, "w1", 1, 3)); // density δ(1): the 0.6-quantile is 1
    send(Probes.diagonal("job", 5, "w2", 5, 2)); // averaged: ½δ(1) + ½δ(5): the 0.6-quantile is 5
    List<Curvature> h = history();
    assertThat(h.get(0).getLambdaLow()).isEqualTo(1.0);
    assertThat(h.get(1).getLambdaLow()).isEqualTo(5.0);
    assertThat(h.get(1).getLambdaMax()).isEqualTo(5.0);
    assertThat(h.get(1).getLambdaMin()).isEqualTo(1.0);
    assertThat(h.get(1).getKappa()).isEqualTo(1.0);
  }

  @Test
  void ewmaAcrossStepsInLogSpaceWithTheJobsHalfLife() {
    jobs.pipeInput("job", Probes.withHalfLife(Probes.job("job", 1000), 2).toByteArray());
    double[][] diagonals = {{1, 100}, {2, 50}, {0.5, 400}, {-3, 4, 200}};
    long[] steps = {10, 20, 30, 40};
    for (int i = 0; i < steps.length; i++) {
      send(Probes.diagonal("job", steps[i], "w", diagonals[i]));
    }
    double a = weight(2);
    double max = 100;
    double low = 1;
    double min = 1;
    List<Curvature> h = history();
    assertThat(h).hasSize(4);
    for (int i = 0; i < steps.length; i++) {
      double obsMax = java.util.Arrays.stream(diagonals[i]).max().getAsDouble();
      double obsMin = java.util.Arrays.stream(diagonals[i]).min().getAsDouble();
      // smallest_positive: the smallest θ above 1e-6·λ_max (all converged: β = 0)
      double obsLow = java.util.Arrays.stream(diagonals[i]).filter(t -> t > 1e-6 * obsMax).min().getAsDouble();
      if (i > 0) {
        max = logMix(max, obsMax, a);
        low = logMix(low, obsLow, a);
        min = (1 - a) * min + a * obsMin;
      }
      Curvature c = h.get(i);
      assertThat(c.getStep()).isEqualTo(steps[i]);
      assertThat(c.getLambdaMax()).as("λ_max at step %d", steps[i]).isCloseTo(max, within(1e-9 * max));
      assertThat(c.getLambdaLow()).as("λ_low at step %d", steps[i]).isCloseTo(low, within(1e-12 * max));
      assertThat(c.getLambdaMin()).as("λ_min at step %d", steps[i]).isCloseTo(min, within(1e-12 * max));
      assertThat(c.getKappa()).isCloseTo(max / low, within(1e-9 * max / low));
      assertThat(c.getTimeline(0).getProbes()).isEqualTo(i + 1);
    }
  }

  @Test
  void appliesFromStepIsStepPlusTheJobsDelay() {
    jobs.pipeInput("late", Probes.withDelay(Probes.job("late", 100), 5).toByteArray());
    jobs.pipeInput("default", Probes.job("default", 100).toByteArray());
    jobs.pipeInput("now", Probes.withDelay(Probes.job("now", 100), 0).toByteArray());
    send(Probes.diagonal("late", 20, "w", 1, 2));
    send(Probes.diagonal("default", 20, "w", 1, 2));
    send(Probes.diagonal("now", 20, "w", 1, 2));
    List<Curvature> h = history();
    assertThat(h).extracting(Curvature::getJobId).containsExactly("late", "default", "now");
    assertThat(h).extracting(Curvature::getAppliesFromStep).containsExactly(25L, 21L, 20L);
    assertThat(h).extracting(c -> c.getTimeline(0).getAppliesFromStep()).containsExactly(25L, 21L, 20L);
    assertThat(latest("late").getTimeline(0).getAppliesFromStep()).isEqualTo(25);
  }

  @Test
  void anOlderStepIsOutOfOrderAndGoesToTheDeadLetterTopic() {
    jobs.pipeInput("job", Probes.job("job", 100).toByteArray());
    send(Probes.diagonal("job", 10, "w", 1, 2));
    send(Probes.diagonal("job", 9, "w", 1, 2));
    send(Probes.diagonal("job", 11, "w", 1, 2));
    assertThat(history()).extracting(Curvature::getStep).containsExactly(10L, 11L);
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(new String(dead.get(0).headers().lastHeader("__streams.errors.message").value(), StandardCharsets.UTF_8))
        .isEqualTo("step: out of order, older than the job's latest processed step 10 (got 9)");
    assertThat(latest("job").getTimelineList()).extracting(CurvaturePoint::getStep).containsExactly(10L, 11L);
  }

  @Test
  void noPositiveLowerEdgeMeansNoKappa() {
    jobs.pipeInput("job", Probes.job("job", 100).toByteArray());
    send(Probes.diagonal("job", 1, "w", -2, -1));
    Curvature c = history().get(0);
    assertThat(c.getLambdaMax()).isEqualTo(-1.0);
    assertThat(c.getKappa()).isNaN();
  }
}
