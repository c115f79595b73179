package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Start;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.wire.CurvatureAssembly;
import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.Topics;
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
 * The statistics of DESIGN.md §1.7 on the curvature records, from 2×2 probes whose spectra follow by
 * hand: T = [[a, b], [b, a]] has θ = a ∓ b with SLQ weights 1/2 each (eigenvectors (1, ∓1)/√2).
 */
class TopologyGradientTest {
  /** SGD's edge-of-stability threshold at the default momentum 0.9: 2 + 2·0.9. */
  private static final double SGD_THRESHOLD = 3.8;
  /** AdamW's at β1 = 0.9: (2 + 1.8)/(1 − 0.9). */
  private static final double ADAM_THRESHOLD = 38.0;
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
    Properties config = CurvatureTopology.config("unused:9092", topics, stateDir, "gradient-test");
    driver = new TopologyTestDriver(CurvatureTopology.topology(config, topics), config);
    jobs = driver.createInputTopic(topics.jobs().name(), new StringSerializer(), new ByteArraySerializer());
    probes = driver.createInputTopic(topics.probes().name(), new StringSerializer(), new ByteArraySerializer());
    curvature = driver.createOutputTopic(topics.curvature().name(), new StringDeserializer(), new ByteArrayDeserializer());
    history = driver.createOutputTopic(topics.curvatureHistory().name(), new StringDeserializer(),
        new ByteArrayDeserializer());
    dlq = driver.createOutputTopic(topics.probesDlq().name(), new StringDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  /** T = [[a, b], [b, a]], β_m = 0: θ = a − b, a + b, weights 1/2, 1/2, alpha[0] = a. */
  private static ProbeReport pair(String job, long step, String worker, double a, double b, boolean gradient,
      Operator operator) {
    ProbeReport p = Probes.lanczos(job, step, worker, new double[] {a, a}, new double[] {b, 0});
    LanczosProbe.Builder l = p.getLanczos().toBuilder().setOperator(operator);
    if (gradient) {
      l.setStart(Start.START_GRADIENT);
    }
    return p.toBuilder().setLanczos(l).build();
  }

  private void send(ProbeReport p) {
    probes.pipeInput(p.getJobId(), p.toByteArray());
  }

  private List<Curvature> history() {
    return history.readValuesToList().stream().map(TopologyGradientTest::parse).toList();
  }

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

  private static JobSpec harmonicJob(String id) {
    // lr_min = lr_max: the scheduled lr is 0.05 at every step, whatever φ
    return Probes.job(id, 100).toBuilder().setLrMax(0.05).setLrMin(0.05).setPhiPolicy(PhiPolicy.newBuilder()
        .setConditionNumber(PhiPolicy.ConditionNumber.newBuilder()
            .setLowerEdge(LowerEdge.LOWER_EDGE_GRADIENT_HARMONIC))).build();
  }

  @Test
  void twoWorkersAtOneStepGiveTheMergedStatisticsOnTheRecords() {
    jobs.pipeInput("job", harmonicJob("job").toByteArray());
    // worker 0: θ {1, 3}, w {1/2, 1/2}, alpha[0] = 2
    send(pair("job", 10, "w0", 2, 1, true, Operator.OPERATOR_UNSPECIFIED));
    // worker 1: θ {−2, 2}, w {1/2, 1/2}, alpha[0] = 0
    send(pair("job", 10, "w1", 0, 2, true, Operator.OPERATOR_HESSIAN));
    List<Curvature> h = history();
    assertThat(h).hasSize(2);
    CurvaturePoint first = h.get(0).getTimeline(0);
    // λ_h = 1/(0.5/1 + 0.5/3) = 1.5, no negative weight, ĝᵀHĝ = 2
    assertThat(first.getLambdaHarmonic()).isCloseTo(1.5, within(1e-14));
    assertThat(first.getNegativeMass()).isEqualTo(0.0);
    assertThat(first.getGradientSharpness()).isEqualTo(2.0);
    assertThat(first.getEdgeRatio()).isCloseTo(0.05 * 3 / SGD_THRESHOLD, within(1e-15));

    // merged: θ {−2, 1, 2, 3}, w 1/4 each; λ_h = 0.75/(0.25/1 + 0.25/2 + 0.25/3) = 18/11
    CurvaturePoint merged = h.get(1).getTimeline(0);
    assertThat(merged.getLambdaHarmonic()).isCloseTo(18.0 / 11, within(1e-14));
    assertThat(merged.getLambdaLow()).isEqualTo(merged.getLambdaHarmonic()); // exactly: gradient_harmonic
    assertThat(merged.getKappa()).isCloseTo(3 / (18.0 / 11), within(1e-14));
    assertThat(merged.getNegativeMass()).isCloseTo(0.25, within(1e-15));
    assertThat(merged.getGradientSharpness()).isEqualTo(1.0); // (2 + 0)/2
    assertThat(merged.getLambdaMin()).isCloseTo(-2.0, within(1e-14));
    assertThat(merged.getEdgeRatio()).isCloseTo(0.05 * 3 / SGD_THRESHOLD, within(1e-15));
    assertThat(merged.getOperator()).isEqualTo(Operator.OPERATOR_UNSPECIFIED);
    assertThat(merged.getProbes()).isEqualTo(2);

    // the compacted record: one point for the step, the merged one, and the latest fields are its
    Curvature c = latest("job");
    assertThat(c.getTimelineList()).containsExactly(merged);
    assertThat(c.getLambdaHarmonic()).isEqualTo(merged.getLambdaHarmonic());
    assertThat(c.getNegativeMass()).isEqualTo(merged.getNegativeMass());
    assertThat(c.getGradientSharpness()).isEqualTo(1.0);
    assertThat(c.getEdgeRatio()).isEqualTo(merged.getEdgeRatio());
    assertThat(c.getOperator()).isEqualTo(Operator.OPERATOR_UNSPECIFIED);
    assertThat(dlq.isEmpty()).isTrue();
  }

  /** λ_h is smoothed as λ_low is, so under gradient_harmonic the two stay one number step after step. */
  @Test
  void harmonicIsSmoothedAsTheLowerEdgeAndEqualsItUnderGradientHarmonic() {
    jobs.pipeInput("gh", harmonicJob("gh").toByteArray());
    jobs.pipeInput("sp", Probes.job("sp", 100).toByteArray()); // smallest_positive
    double[][] steps = {{2, 1}, {5, 1}, {3, 2}};
    for (int i = 0; i < steps.length; i++) {
      send(pair("gh", 10 + i, "w", steps[i][0], steps[i][1], true, Operator.OPERATOR_UNSPECIFIED));
      send(pair("sp", 10 + i, "w", steps[i][0], steps[i][1], false, Operator.OPERATOR_UNSPECIFIED));
    }
    List<Curvature> h = history();
    List<CurvaturePoint> gh = h.stream().filter(c -> c.getJobId().equals("gh")).map(c -> c.getTimeline(0)).toList();
    List<CurvaturePoint> sp = h.stream().filter(c -> c.getJobId().equals("sp")).map(c -> c.getTimeline(0)).toList();
    // observations: λ_h = 2ab'/(a+b') over θ = a ∓ b: 1.5, 2·4·6/10 = 4.8, 2·1·5/6 = 5/3
    double a = 1 - Math.pow(2, -1 / 3.0);
    double h1 = 1.5;
    double h2 = Math.exp((1 - a) * Math.log(h1) + a * Math.log(4.8));
    double h3 = Math.exp((1 - a) * Math.log(h2) + a * Math.log(5.0 / 3));
    assertThat(gh).hasSize(3);
    for (int i = 0; i < 3; i++) {
      assertThat(gh.get(i).getLambdaHarmonic()).isCloseTo(new double[] {h1, h2, h3}[i], within(1e-13));
      assertThat(gh.get(i).getLambdaLow()).isEqualTo(gh.get(i).getLambdaHarmonic());
      // another rule: the same λ_h, its own λ_low (smallest converged θ: 1, 4, 1 smoothed)
      assertThat(sp.get(i).getLambdaHarmonic()).isEqualTo(gh.get(i).getLambdaHarmonic());
      assertThat(sp.get(i).getGradientSharpness()).isNaN(); // random starts
      assertThat(gh.get(i).getGradientSharpness()).isEqualTo(steps[i][0]);
    }
    assertThat(sp.get(1).getLambdaLow()).isCloseTo(Math.exp(a * Math.log(4)), within(1e-13));
  }

  /** η(p) is the lr the job's plan schedules for p from the points before p (here: the one of step 10). */
  @Test
  void edgeRatioReadsTheLrScheduledFromTheEarlierPoints() {
    JobSpec spec = Probes.job("job", 100); // condition_number, live, apply delay 1, lr 0.1 → 0.001
    jobs.pipeInput("job", spec.toByteArray());
    send(pair("job", 10, "w0", 2, 1, false, Operator.OPERATOR_UNSPECIFIED)); // θ {1, 3}: κ = 3
    send(pair("job", 20, "w0", 4, 1, false, Operator.OPERATOR_UNSPECIFIED)); // θ {3, 5}
    send(pair("job", 20, "w1", 4, 2, true, Operator.OPERATOR_UNSPECIFIED)); // θ {2, 6}
    List<Curvature> h = history();
    assertThat(h).hasSize(3);
    var plan = JobSpecs.toPlan(spec);
    double eta10 = plan.evaluate(10, CurvatureTimeline.EMPTY).lr();
    assertThat(h.get(0).getTimeline(0).getEdgeRatio()).isCloseTo(eta10 * 3 / SGD_THRESHOLD, within(1e-15));
    CurvatureTimeline before20 = JobSpecs.timeline(h.get(0));
    double eta20 = plan.evaluate(20, before20).lr();
    // the test can tell: the estimate of step 10 moves the lr of step 20
    assertThat(eta20).isNotCloseTo(plan.evaluate(20, CurvatureTimeline.EMPTY).lr(), within(1e-6));
    for (Curvature c : h.subList(1, 3)) {
      CurvaturePoint p = c.getTimeline(0);
      assertThat(p.getEdgeRatio()).isCloseTo(eta20 * p.getLambdaMax() / SGD_THRESHOLD, within(1e-15));
    }
    // the second worker's probe raised λ_max (6 > 5 before smoothing), and the ratio with it
    assertThat(h.get(2).getTimeline(0).getEdgeRatio()).isGreaterThan(h.get(1).getTimeline(0).getEdgeRatio());
    assertThat(h.get(2).getTimeline(0).getGradientSharpness()).isEqualTo(4.0); // only w1 started at the gradient
  }

  /** An AdamW job: the Hessian's estimate has no edge ratio; a change of operator restarts the smoothing. */
  @Test
  void operatorChangeBetweenStepsRestartsTheSmoothing() {
    JobSpec spec = Probes.job("adam", 100).toBuilder().setOptimizer(Optimizer.OPTIMIZER_ADAMW).build();
    jobs.pipeInput("adam", spec.toByteArray());
    send(pair("adam", 10, "w", 2, 1, true, Operator.OPERATOR_HESSIAN)); // λ_max 3
    send(pair("adam", 11, "w", 4, 1, true, Operator.OPERATOR_PRECONDITIONED)); // λ_max 5, fresh
    send(pair("adam", 12, "w", 6, 1, true, Operator.OPERATOR_PRECONDITIONED)); // λ_max 7, smoothed with 5
    send(pair("adam", 13, "w", 2, 1, true, Operator.OPERATOR_HESSIAN)); // λ_max 3, fresh again
    List<CurvaturePoint> p = history().stream().map(c -> c.getTimeline(0)).toList();
    assertThat(p).extracting(CurvaturePoint::getOperator).containsExactly(Operator.OPERATOR_UNSPECIFIED,
        Operator.OPERATOR_PRECONDITIONED, Operator.OPERATOR_PRECONDITIONED, Operator.OPERATOR_UNSPECIFIED);
    assertThat(p).extracting(CurvaturePoint::getProbes).containsExactly(1L, 1L, 2L, 1L);
    double a = 1 - Math.pow(2, -1 / 3.0);
    assertThat(p.get(1).getLambdaMax()).isEqualTo(5.0);
    assertThat(p.get(2).getLambdaMax()).isCloseTo(Math.exp((1 - a) * Math.log(5) + a * Math.log(7)), within(1e-13));
    assertThat(p.get(3).getLambdaMax()).isEqualTo(3.0);
    // Hessian points of an AdamW job: NaN; preconditioned: η·λ_max/38
    assertThat(p.get(0).getEdgeRatio()).isNaN();
    assertThat(p.get(3).getEdgeRatio()).isNaN();
    var plan = JobSpecs.toPlan(spec);
    Curvature before11 = Curvature.newBuilder().addTimeline(p.get(0)).build();
    double eta11 = plan.evaluate(11, JobSpecs.timeline(before11)).lr();
    assertThat(p.get(1).getEdgeRatio()).isCloseTo(eta11 * 5 / ADAM_THRESHOLD, within(1e-15));
    assertThat(dlq.isEmpty()).isTrue();
  }

  /**
   * The points kept for the edge ratio are the job's retained closed segments (written once each, as
   * they close) and its open segment; the edge ratio of a long job's point reads the lr that the service's
   * view of the job (assembled from stepsize.curvature) schedules.
   */
  @Test
  void earlierPointsAreTheRetainedSegmentsAndTheServicesViewGivesTheSameLr() {
    JobSpec spec = Probes.job("long", 10_000);
    jobs.pipeInput("long", spec.toByteArray());
    jobs.pipeInput("other", Probes.job("other", 100).toByteArray());
    int segment = io.stepsize.wire.CurvatureRecords.SEGMENT;
    int retained = io.stepsize.wire.CurvatureRecords.RETAINED_SEGMENTS;
    int steps = segment * (retained + 2) + 5; // segments 0 and 1 have left the window
    for (int s = 0; s < steps; s++) {
      send(Probes.diagonal("long", s, "w", 1 + s % 5, 10 + s % 7));
      if (s % 1000 == 0) {
        latest("long"); // drain the curvature topic now and then
      }
    }
    send(Probes.diagonal("other", 3, "w", 2, 4));
    org.apache.kafka.streams.state.KeyValueStore<String, byte[]> store = driver.getKeyValueStore(EarlierPoints.STORE);
    assertThat(store.get(EarlierPoints.key("long", 0))).isNull();
    assertThat(store.get(EarlierPoints.key("long", 1))).isNull();
    for (int i = 2; i < retained + 2; i++) {
      String key = EarlierPoints.key("long", i);
      var points = EarlierPoints.decode(key, store.get(key));
      assertThat(points).hasSize(segment);
      assertThat(points.get(0).step()).isEqualTo((long) i * segment);
      assertThat(points.get(segment - 1).step()).isEqualTo((long) i * segment + segment - 1);
    }
    assertThat(store.get(EarlierPoints.key("long", retained + 2))).as("the open segment is not here").isNull();
    assertThat(EarlierPoints.key("a", 42)).isEqualTo("a\u00000000000000000000042");

    Curvature view = latest("long");
    List<CurvaturePoint> points = view.getTimelineList();
    assertThat(points).hasSize(io.stepsize.wire.CurvatureRecords.CAPACITY);
    CurvaturePoint last = points.get(points.size() - 1);
    assertThat(last.getStep()).isEqualTo(steps - 1L);
    double eta = JobSpecs.toPlan(spec).evaluate(last.getStep(),
        JobSpecs.timeline(view.toBuilder().removeTimeline(points.size() - 1).build())).lr();
    assertThat(last.getEdgeRatio()).isCloseTo(eta * last.getLambdaMax() / SGD_THRESHOLD, within(1e-15));
  }
  /**
   * Every point's edge ratio reads the lr scheduled from a timeline built afresh of the job's final
   * earlier points, the newest CAPACITY: the earlier points are extended per probe, not gathered
   * again, and this must not show. A continuous job with revisions (every point can move the lr),
   * one or two workers per step, past the window's slide.
   */
  @Test
  void extendedEarlierPointsGiveTheEdgeRatioOfAFreshTimeline() {
    JobSpec spec = Probes.job("cont", 10_000, 3_000, 10_000).toBuilder().setPhiPolicy(PhiPolicy.newBuilder()
        .setConditionNumber(PhiPolicy.ConditionNumber.newBuilder().setMode(io.stepsize.proto.v1.PhiMode.PHI_MODE_CONTINUOUS)))
        .addRevisions(io.stepsize.proto.v1.Revision.newBuilder().setNumber(1).setFromStep(1_500).setLrMax(0.05))
        .addRevisions(io.stepsize.proto.v1.Revision.newBuilder().setNumber(2).setFromStep(3_500).setSetLr(0.02))
        .build();
    jobs.pipeInput("cont", spec.toByteArray());
    int capacity = io.stepsize.wire.CurvatureRecords.CAPACITY;
    int steps = capacity + 3 * io.stepsize.wire.CurvatureRecords.SEGMENT + 7;
    java.util.Random random = new java.util.Random(5);
    for (int s = 0; s < steps; s++) {
      send(Probes.diagonal("cont", s, "w0", 1 + random.nextInt(5), 10 + random.nextInt(20)));
      if (random.nextInt(4) == 0) {
        send(Probes.diagonal("cont", s, "w1", 1 + random.nextInt(5), 10 + random.nextInt(20)));
      }
    }
    var plan = JobSpecs.toPlan(spec);
    var margin = JobSpecs.stabilityMargin(spec);
    java.util.ArrayList<CurvaturePoint> finals = new java.util.ArrayList<>(); // the newest point of each step before
    CurvaturePoint newest = null;
    int checked = 0;
    for (Curvature c : history()) {
      CurvaturePoint p = c.getTimeline(0);
      if (newest != null && newest.getStep() < p.getStep()) {
        finals.add(newest);
      }
      newest = p;
      List<CurvaturePoint> before = finals.subList(Math.max(0, finals.size() - capacity), finals.size());
      double eta = io.stepsize.schedule.StabilityMargin.eta(plan.evaluate(p.getStep(),
          JobSpecs.timeline(Curvature.newBuilder().addAllTimeline(before).build())));
      assertThat(p.getEdgeRatio()).as("step %d", p.getStep()).isEqualTo(margin.edgeRatio(eta, JobSpecs.point(p)));
      checked++;
    }
    assertThat(checked).isGreaterThan(steps);
    assertThat(dlq.isEmpty()).isTrue();
  }
}
