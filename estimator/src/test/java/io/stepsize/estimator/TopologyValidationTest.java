package io.stepsize.estimator;

import io.stepsize.wire.Topics;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Start;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.header.Header;
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

/** Every validation rule sends the probe to the dead-letter topic with its reason (DESIGN.md §4). */
class TopologyValidationTest {
  @TempDir Path stateDir;
  private final Topics topics = new Topics("t");
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> jobs;
  private TestInputTopic<String, byte[]> probes;
  private TestOutputTopic<String, byte[]> history;
  private TestOutputTopic<String, byte[]> dlq;

  @BeforeEach
  void start() {
    Properties config = CurvatureTopology.config("unused:9092", topics, stateDir, "validation-test");
    driver = new TopologyTestDriver(CurvatureTopology.topology(config, topics), config);
    jobs = driver.createInputTopic(topics.jobs().name(), new StringSerializer(), new ByteArraySerializer());
    probes = driver.createInputTopic(topics.probes().name(), new StringSerializer(), new ByteArraySerializer());
    history = driver.createOutputTopic(topics.curvatureHistory().name(), new StringDeserializer(), new ByteArrayDeserializer());
    dlq = driver.createOutputTopic(topics.probesDlq().name(), new StringDeserializer(), new ByteArrayDeserializer());
    jobs.pipeInput("job", Probes.job("job", 100).toByteArray());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private String rejectReason(ProbeReport probe) {
    return rejectReason(probe.getJobId(), probe);
  }

  private String rejectReason(String key, ProbeReport probe) {
    probes.pipeInput(key, probe.toByteArray());
    assertThat(history.isEmpty()).as("no estimate from a rejected probe").isTrue();
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).key()).isEqualTo(key);
    assertThat(dead.get(0).value()).as("the original bytes").isEqualTo(probe.toByteArray());
    assertThat(header(dead.get(0), "__streams.errors.topic")).isEqualTo(topics.probes().name());
    assertThat(header(dead.get(0), "__streams.errors.exception"))
        .isEqualTo("io.stepsize.wire.InvalidProbeException");
    return header(dead.get(0), "__streams.errors.message");
  }

  /** The reason of the one dead letter now on the topic, which must be {@code probe} as it was sent with {@code key}. */
  private String deadReason(String key, ProbeReport probe) {
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).key()).isEqualTo(key);
    assertThat(dead.get(0).value()).isEqualTo(probe.toByteArray());
    assertThat(header(dead.get(0), "__streams.errors.topic")).isEqualTo(topics.probes().name());
    assertThat(header(dead.get(0), "__streams.errors.partition")).isEqualTo("0");
    assertThat(header(dead.get(0), "__streams.errors.offset")).isNotNull();
    assertThat(header(dead.get(0), "__streams.errors.exception")).isEqualTo("io.stepsize.wire.InvalidProbeException");
    assertThat(dead.get(0).headers().lastHeader("stepsize.source.key")).isNull();
    assertThat(history.isEmpty()).isTrue();
    return header(dead.get(0), "__streams.errors.message");
  }

  private static Curvature parseCurvature(byte[] bytes) throws Exception {
    return Curvature.parseFrom(bytes);
  }

  private static String header(TestRecord<String, byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  // --- DESIGN.md §1.7: where a probe started and which operator it ran on -------------------------

  private static ProbeReport with(ProbeReport p, java.util.function.UnaryOperator<LanczosProbe.Builder> change) {
    return p.toBuilder().setLanczos(change.apply(p.getLanczos().toBuilder())).build();
  }

  @Test
  void gradientStartWithANonFiniteAlpha0FallsUnderTheFiniteNumbersRule() {
    assertThat(rejectReason(with(Probes.lanczos("job", 1, "w", new double[] {Double.POSITIVE_INFINITY, 2},
        new double[] {0.5, 0}), b -> b.setStart(Start.START_GRADIENT))))
        .isEqualTo("lanczos.alpha[0] must be finite, got Infinity");
  }

  @Test
  void unknownStartOrOperatorIsRefusedNamingTheField() {
    assertThat(rejectReason(with(Probes.diagonal("job", 1, "w", 1, 2), b -> b.setStartValue(5))))
        .isEqualTo("lanczos.start: must be one of START_UNSPECIFIED, START_RANDOM, START_GRADIENT (got 5)");
    assertThat(rejectReason(with(Probes.diagonal("job", 1, "w", 1, 2), b -> b.setOperatorValue(-1))))
        .isEqualTo("lanczos.operator: must be one of OPERATOR_UNSPECIFIED, OPERATOR_HESSIAN, "
            + "OPERATOR_PRECONDITIONED (got -1)");
  }

  @Test
  void preconditionedProbeOfAJobThatIsNotAdamW() {
    jobs.pipeInput("sgd", Probes.job("sgd", 100).toBuilder().setOptimizer(Optimizer.OPTIMIZER_SGD).build()
        .toByteArray());
    assertThat(rejectReason(with(Probes.diagonal("sgd", 1, "w", 1, 2),
        b -> b.setOperator(Operator.OPERATOR_PRECONDITIONED))))
        .isEqualTo("lanczos.operator: OPERATOR_PRECONDITIONED needs an OPTIMIZER_ADAMW job (job 'sgd' is "
            + "OPTIMIZER_SGD)");
    // the default job names no optimizer (read as SGD)
    assertThat(rejectReason(with(Probes.diagonal("job", 1, "w", 1, 2),
        b -> b.setOperator(Operator.OPERATOR_PRECONDITIONED))))
        .isEqualTo("lanczos.operator: OPERATOR_PRECONDITIONED needs an OPTIMIZER_ADAMW job (job 'job' is "
            + "OPTIMIZER_UNSPECIFIED)");
  }

  /** The first operator of a step holds; a probe of the same step on the other is dead-lettered, and the step's estimate stays. */
  @Test
  void probesOfOneStepOnDifferentOperators() {
    jobs.pipeInput("adam", Probes.job("adam", 100).toBuilder().setOptimizer(Optimizer.OPTIMIZER_ADAMW).build()
        .toByteArray());
    probes.pipeInput("adam", with(Probes.diagonal("adam", 5, "w0", 1, 2),
        b -> b.setOperator(Operator.OPERATOR_PRECONDITIONED)).toByteArray());
    assertThat(history.readValuesToList()).hasSize(1);
    assertThat(rejectReason(Probes.diagonal("adam", 5, "w1", 1, 3)))
        .isEqualTo("lanczos.operator: OPERATOR_HESSIAN differs from the OPERATOR_PRECONDITIONED of the earlier "
            + "probes of step 5; the probes of one step must share an operator");
    // a later step may change operator (its smoothing starts fresh: TopologyGradientTest)
    probes.pipeInput("adam", Probes.diagonal("adam", 6, "w1", 1, 3).toByteArray());
    assertThat(history.readValuesToList()).hasSize(1);
    assertThat(dlq.isEmpty()).isTrue();
  }

  @Test
  void nanAlpha() {
    assertThat(rejectReason(Probes.diagonal("job", 1, "w", 1.0, Double.NaN)))
        .isEqualTo("lanczos.alpha[1] must be finite, got NaN");
  }

  @Test
  void infiniteBeta() {
    assertThat(rejectReason(Probes.lanczos("job", 1, "w", new double[] {1, 2}, new double[] {Double.POSITIVE_INFINITY, 0})))
        .isEqualTo("lanczos.beta[0] must be finite, got Infinity");
  }

  @Test
  void negativeBeta() {
    assertThat(rejectReason(Probes.lanczos("job", 1, "w", new double[] {1, 2}, new double[] {0.5, -0.1})))
        .isEqualTo("lanczos.beta[1] must be >= 0, got -0.1");
  }

  @Test
  void mismatchedLengths() {
    assertThat(rejectReason(Probes.lanczos("job", 1, "w", new double[] {1, 2, 3}, new double[] {0.5, 0})))
        .isEqualTo("lanczos.alpha and lanczos.beta must have equal lengths, got 3 and 2");
  }

  @Test
  void emptyProbe() {
    assertThat(rejectReason(Probes.lanczos("job", 1, "w", new double[0], new double[0])))
        .isEqualTo("lanczos must have 1 <= m <= 1000 steps, got m = 0");
  }

  @Test
  void tooManyLanczosSteps() {
    assertThat(rejectReason(Probes.diagonal("job", 1, "w", new double[1001])))
        .isEqualTo("lanczos must have 1 <= m <= 1000 steps, got m = 1001");
  }

  /**
   * Changed with issue 12: a probe of an unknown job is not bad at once, since its job's record may
   * still come (DESIGN.md §4). It waits, and only after the grace period (60 s by default) does it
   * go to the dead-letter topic, with a reason that says so.
   */
  @Test
  void unknownJobAfterTheGracePeriod() {
    ProbeReport probe = Probes.diagonal("nobody", 1, "w", 1, 2);
    probes.pipeInput("nobody", probe.toByteArray());
    driver.advanceWallClockTime(Duration.ofSeconds(59));
    assertThat(dlq.isEmpty()).as("still within the grace period").isTrue();
    driver.advanceWallClockTime(Duration.ofSeconds(1));
    assertThat(deadReason("nobody", probe)).isEqualTo("job_id: no job 'nobody' arrived within 60 s of its probe");
  }

  @Test
  void emptyJobId() {
    assertThat(rejectReason("job", Probes.diagonal("", 1, "w", 1, 2))).isEqualTo("job_id: must not be empty");
  }

  @Test
  void emptyRecord() {
    probes.pipeInput("job", (byte[]) null);
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).key()).isEqualTo("job");
    assertThat(dead.get(0).value()).isNull();
    assertThat(header(dead.get(0), "__streams.errors.message"))
        .isEqualTo("value: must be a ProbeReport (got an empty record)");
  }

  @Test
  void stepAtTotalSteps() {
    assertThat(rejectReason(Probes.diagonal("job", 100, "w", 1, 2)))
        .isEqualTo("step: must be in [0, total_steps = 100) (got 100)");
  }

  @Test
  void negativeStep() {
    // ProbeValidation's rule, the one ReportProbes answers with, comes before the job's range
    assertThat(rejectReason(Probes.diagonal("job", -1, "w", 1, 2)))
        .isEqualTo("step: must be >= 0 (got -1)");
  }

  @Test
  void gradientStatsOutsideTheJob() {
    assertThat(rejectReason(Probes.gradient("job", 1000)))
        .isEqualTo("step: must be in [0, total_steps = 100) (got 1000)");
  }

  @Test
  void noPayload() {
    assertThat(rejectReason(ProbeReport.newBuilder().setJobId("job").setStep(1).build()))
        .isEqualTo("payload: one of lanczos or gradient is required");
  }

  /** Issue 12 item 9: the rules ReportProbes refuses with are the DLQ reasons of a probe sent straight to Kafka. */
  @Test
  void gradientStatisticsMustBeFiniteAndNonNegative() {
    ProbeReport.Builder p = Probes.gradient("job", 3).toBuilder();
    p.getGradientBuilder().addMicrobatchGradNorms(1.0).addMicrobatchGradNorms(Double.NaN);
    assertThat(rejectReason(p.build()))
        .isEqualTo("gradient.microbatch_grad_norms[1]: must be finite and >= 0 (got NaN)");
    ProbeReport.Builder q = Probes.gradient("job", 3).toBuilder();
    q.getGradientBuilder().setLoss(Double.POSITIVE_INFINITY);
    assertThat(rejectReason(q.build())).isEqualTo("gradient.loss: must be finite (got Infinity)");
  }

  @Test
  void workerIdOutsideItsCharsetOrLength() {
    assertThat(rejectReason(Probes.diagonal("job", 1, "w\tone", 1, 2)))
        .startsWith("worker_id: ");
    assertThat(rejectReason(Probes.diagonal("job", 1, "w".repeat(129), 1, 2)))
        .startsWith("worker_id: ");
  }

  /**
   * Changed with issue 12: the record key is only the producer's routing hint. A probe is used for
   * the job its payload names, whatever its key: another string, another case, or none at all.
   */
  @Test
  void keyOtherThanTheJobIdIsUsedAllTheSame() throws Exception {
    probes.pipeInput("other", Probes.diagonal("job", 1, "w", 1, 2).toByteArray());
    probes.pipeInput("JOB", Probes.diagonal("job", 2, "w", 1, 3).toByteArray());
    probes.pipeInput(Probes.diagonal("job", 3, "w", 1, 4).toByteArray());
    assertThat(dlq.isEmpty()).isTrue();
    List<TestRecord<String, byte[]>> estimates = history.readRecordsToList();
    assertThat(estimates).extracting(TestRecord::key).containsExactly("job", "job", "job");
    assertThat(estimates).extracting(r -> parseCurvature(r.value()).getStep()).containsExactly(1L, 2L, 3L);
    assertThat(estimates.get(0).headers().toArray()).as("the estimator's own routing headers stay inside").isEmpty();
  }

  @Test
  void jobRecordKeyedOtherThanItsJobIdIsNoJob() {
    JobSpec spec = Probes.job("other", 100);
    jobs.pipeInput("Other", spec.toByteArray());
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).key()).isEqualTo("Other");
    assertThat(dead.get(0).value()).isEqualTo(spec.toByteArray());
    assertThat(header(dead.get(0), "__streams.errors.topic")).isEqualTo(topics.jobs().name());
    assertThat(header(dead.get(0), "__streams.errors.partition")).isEqualTo("0");
    assertThat(header(dead.get(0), "__streams.errors.message"))
        .isEqualTo("job_id: must equal the record key (key 'Other', job_id 'other')");
    // neither name became a job: their probes wait
    probes.pipeInput("other", Probes.diagonal("other", 1, "w", 1, 2).toByteArray());
    probes.pipeInput("Other", Probes.diagonal("Other", 1, "w", 1, 2).toByteArray());
    assertThat(history.isEmpty()).isTrue();
    assertThat(dlq.isEmpty()).isTrue();

    jobs.pipeInput(null, spec.toByteArray());
    assertThat(header(dlq.readRecord(), "__streams.errors.message"))
        .isEqualTo("key: a job record must be keyed by its job_id (got no key, job_id 'other')");
  }

  @Test
  void jobWithAnInvalidSpec() {
    jobs.pipeInput("broken", Probes.job("broken", 100, 50, 40).toByteArray());
    assertThat(rejectReason(Probes.diagonal("broken", 1, "w", 1, 2)))
        .startsWith("job_id: the job's spec is invalid: phase_boundaries: must be strictly increasing");
  }

  @Test
  void gradientStatsAreAcceptedWithoutAnEstimate() {
    probes.pipeInput("job", Probes.gradient("job", 3).toByteArray());
    assertThat(history.isEmpty()).isTrue();
    assertThat(dlq.isEmpty()).isTrue();
  }
}
